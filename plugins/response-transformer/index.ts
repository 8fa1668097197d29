import { TOLLGATE_VERSION, type PluginDescriptor } from '@tollgate/sdk'
import { bodyFilter, headerFilter } from './handler.js'
import { ResponseTransformerSchema } from './schema.js'
import { isBodyTransformSet } from './transform.js'

/** response-transformer: changes the response's headers and JSON body before the client gets them. */
export const responseTransformer: PluginDescriptor<typeof ResponseTransformerSchema> = {
  name: 'response-transformer',
  version: TOLLGATE_VERSION,
  // Kong's: just after request-transformer (801).
  priority: 800,
  schema: ResponseTransformerSchema,
  headerFilter,
  bodyFilter,
  // No json changes: the body is never held, it streams.
  skipWhen: { bodyFilter: (conf) => !isBodyTransformSet(conf) },
}

export default responseTransformer
