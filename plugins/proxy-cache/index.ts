import { TOLLGATE_VERSION, type PluginDescriptor } from '@tollgate/sdk'
import { adminRoutes } from './admin.js'
import { access, bodyFilter, headerFilter, readsBody } from './handler.js'
import { ProxyCacheSchema, checkConfig } from './schema.js'

/**
 * proxy-cache: answers repeated requests from responses stored in a node-wide shared
 * dictionary (Kong's memory strategy), keyed by route, consumer, method, path, query and
 * chosen headers, for cache_ttl seconds or as Cache-Control says.
 */
export const proxyCache: PluginDescriptor<typeof ProxyCacheSchema> = {
  name: 'proxy-cache',
  version: TOLLGATE_VERSION,
  // Kong's: after authentication (key-auth 1250) and rate-limiting (910), so a hit is
  // still authenticated and counted.
  priority: 100,
  schema: ProxyCacheSchema,
  access,
  headerFilter,
  bodyFilter,
  readsBody,
  checkConfig,
  admin: adminRoutes,
}

export default proxyCache
