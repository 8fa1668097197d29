import { TOLLGATE_VERSION, type PluginDescriptor } from '@tollgate/sdk'
import { access, readsBody } from './handler.js'
import { RequestSizeLimitingSchema } from './schema.js'

/** request-size-limiting: refuses request bodies larger than a limit (413). */
export const requestSizeLimiting: PluginDescriptor<typeof RequestSizeLimitingSchema> = {
  name: 'request-size-limiting',
  version: TOLLGATE_VERSION,
  // Kong's: after ip-restriction (990), before rate-limiting (910).
  priority: 951,
  schema: RequestSizeLimitingSchema,
  access,
  readsBody,
}

export default requestSizeLimiting
