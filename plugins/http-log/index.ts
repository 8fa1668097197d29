import { TOLLGATE_VERSION, type PluginDescriptor } from '@tollgate/sdk'
import { configure, log } from './handler.js'
import { HttpLogSchema, checkConfig } from './schema.js'

/** http-log: sends each request's log serializer output to an HTTP server, batched and retried. */
export const httpLog: PluginDescriptor<typeof HttpLogSchema> = {
  name: 'http-log',
  version: TOLLGATE_VERSION,
  // Kong 3.2's priority table.
  priority: 12,
  schema: HttpLogSchema,
  log,
  configure,
  checkConfig,
}

export default httpLog
