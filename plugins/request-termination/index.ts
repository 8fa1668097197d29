import { TOLLGATE_VERSION, type PluginDescriptor } from '@tollgate/sdk'
import { access } from './handler.js'
import { RequestTerminationSchema, checkConfig } from './schema.js'

/** request-termination: answers requests with a fixed status and message or body (or an echo of the request). */
export const requestTermination: PluginDescriptor<typeof RequestTerminationSchema> = {
  name: 'request-termination',
  version: TOLLGATE_VERSION,
  // Kong's: nearly last, so authentication and rate limiting still apply first.
  priority: 2,
  schema: RequestTerminationSchema,
  access,
  readsBody: (conf) => conf.echo,
  checkConfig,
}

export default requestTermination
