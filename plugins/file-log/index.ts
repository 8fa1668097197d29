import { TOLLGATE_VERSION, type PluginDescriptor } from '@tollgate/sdk'
import { configure, log } from './handler.js'
import { FileLogSchema, checkConfig } from './schema.js'

/** file-log: appends each request's log serializer output to a file, one JSON line each. */
export const fileLog: PluginDescriptor<typeof FileLogSchema> = {
  name: 'file-log',
  version: TOLLGATE_VERSION,
  // Kong 3.2's priority table.
  priority: 9,
  schema: FileLogSchema,
  log,
  configure,
  checkConfig,
}

export default fileLog
