import { TOLLGATE_VERSION, type PluginDescriptor } from '@tollgate/sdk'
import { access, configure } from './handler.js'
import { RateLimitingSchema, checkConfig } from './schema.js'

/**
 * rate-limiting: counts requests per consumer, credential, IP, service, header or path in
 * fixed windows from a second to a year, and refuses those over the limit with 429.
 */
export const rateLimiting: PluginDescriptor<typeof RateLimitingSchema> = {
  name: 'rate-limiting',
  version: TOLLGATE_VERSION,
  // Kong's: after authentication (key-auth 1250), so the consumer is known; before
  // proxy-cache (100), so a cached answer still counts.
  priority: 910,
  schema: RateLimitingSchema,
  access,
  configure,
  checkConfig,
}

export default rateLimiting
