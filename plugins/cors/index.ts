import { TOLLGATE_VERSION, type PluginDescriptor } from '@tollgate/sdk'
import { access, headerFilter } from './handler.js'
import { CorsSchema } from './schema.js'

/** cors: answers CORS preflight requests and adds the CORS headers to answers. */
export const cors: PluginDescriptor<typeof CorsSchema> = {
  name: 'cors',
  version: TOLLGATE_VERSION,
  // Kong's: before authentication (key-auth 1250), so preflights need no credentials.
  priority: 2000,
  schema: CorsSchema,
  access,
  headerFilter,
  noConsumer: true,
}

export default cors
