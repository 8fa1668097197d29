import { TOLLGATE_VERSION, type PluginDescriptor } from '@tollgate/sdk'
import { access, headerFilter } from './handler.js'
import { CorrelationIdSchema } from './schema.js'

/** correlation-id: tags each request with an id in a header, sent upstream and optionally back. */
export const correlationId: PluginDescriptor<typeof CorrelationIdSchema> = {
  name: 'correlation-id',
  version: TOLLGATE_VERSION,
  // Kong 3.2's (the plugin priority table of the 3.2 docs): after every other bundled plugin.
  priority: 1,
  schema: CorrelationIdSchema,
  access,
  headerFilter,
  skipWhen: { headerFilter: (conf) => !conf.echo_downstream },
}

export default correlationId
