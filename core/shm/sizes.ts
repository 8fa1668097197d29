// The node's shared dictionaries and their sizes, from the configuration: what the
// gateway's processes, the Admin API and the declarative load thread all need to agree on.

import type { Config } from '../config/index.js'
import type { CheckEnv } from '../runtime/plugin.js'

/**
 * Kong's nginx template declares `lua_shared_dict kong_rate_limiting_counters 12m`: bounded,
 * so counters for clients that come and go (IPs, header values) cannot grow the node's
 * memory without end; when it is full the least recently used go, as in nginx.
 */
export const RATE_LIMITING_COUNTERS_SIZE = 12 * 1024 * 1024

/**
 * Kong's template declares `lua_shared_dict prometheus_metrics 5m` for the prometheus
 * plugin's counters. Only its flushes write there (once a second per process), so the
 * bookkeeping of a bounded dictionary never costs a request anything.
 */
export const PROMETHEUS_METRICS_SIZE = 5 * 1024 * 1024

/**
 * The node's declared dictionaries and their capacities: Kong's `kong_db_cache` sized by
 * mem_cache_size, `kong_rate_limiting_counters` and `prometheus_metrics` as Kong's template sizes them, and those
 * nginx_http_lua_shared_dict adds (which may resize either). Other names a plugin asks for
 * are made unbounded on first use.
 */
export function sharedDictSizes (config: Config): Record<string, number> {
  return { kong_db_cache: config.mem_cache_size, kong_rate_limiting_counters: RATE_LIMITING_COUNTERS_SIZE, prometheus_metrics: PROMETHEUS_METRICS_SIZE, ...config.nginx_http_lua_shared_dict }
}

/** What plugins' checkConfig may ask about this node. */
export function checkEnv (config: Config): CheckEnv {
  const sizes = sharedDictSizes(config)
  return { sharedDictDeclared: (name) => Object.hasOwn(sizes, name) }
}

