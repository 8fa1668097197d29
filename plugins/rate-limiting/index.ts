import { TOLLGATE_VERSION, type PluginDescriptor } from '@tollgate/sdk'
import { access, configure } from './handler.js'
import { RateLimitingSchema, checkConfig, type RateLimitingConfig } from './schema.js'

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
  checkConfig (conf: RateLimitingConfig) {
    const errors = checkConfig(conf)
    if (errors !== undefined) return errors
    // Only the node-local policy exists so far; the others are refused in so many words
    // rather than taken and ignored.
    if (conf.policy !== 'local') return { config: { policy: `policy '${conf.policy}' is not available in this version of Tollgate; use 'local'` } }
    return undefined
  },
}

export default rateLimiting
