import { TOLLGATE_VERSION, type PluginDescriptor } from '@tollgate/sdk'
import { access, readsBody } from './handler.js'
import { RequestTransformerSchema } from './schema.js'

/** request-transformer: changes the path, method, headers, query and body sent upstream. */
export const requestTransformer: PluginDescriptor<typeof RequestTransformerSchema> = {
  name: 'request-transformer',
  version: TOLLGATE_VERSION,
  // Kong's: after authentication and rate-limiting, before response-transformer (800).
  priority: 801,
  schema: RequestTransformerSchema,
  access,
  readsBody,
}

export default requestTransformer
