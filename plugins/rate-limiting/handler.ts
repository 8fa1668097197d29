// rate-limiting's access phase (Kong 3.2's kong/plugins/rate-limiting/handler.lua) and its
// three policies (policies/init.lua):
//   local    counters in the node's shared dictionary, so every worker process of the node
//            counts against one budget, as Kong's shared dict does. Synchronous: the hot
//            path, benchmarked; nothing here awaits or allocates for the other policies.
//   cluster  counters in the store (kong.db.incrCounter): with database = lmdb, shared by
//            every process of the node and kept across restarts; with database = postgres,
//            in the shared database, so every node counts against one budget (one upsert
//            per period and request: the heaviest policy). Kong's ratelimiting_metrics.
//   redis    counters in Redis (redis.ts), shared by every gateway using it.
//
// Kong reads the counters, decides, and adds 1 afterwards, so a burst across workers can
// pass a few requests over the limit. Here each period's counter is incremented first
// (one atomic operation across the node, or in Redis) and the increments are taken back
// when the request is refused: concurrent requests can never pass the limit, and a refused
// request still counts for nothing.

import type { ConfiguredPlugin, Kong, SharedDict } from '@tollgate/sdk'
import { PERIODS, SYNC_RATE_REALTIME, redisOptions, type Period, type RateLimitingConfig } from './schema.js'
import { add, baseKey, closeUnused, connectionFor, connectionKey, deltaKey, markDirty, type Connection } from './redis.js'

/** Kong's window lengths (kong/plugins/rate-limiting/expiration.lua), in seconds. */
const EXPIRATION: Record<Period, number> = { second: 1, minute: 60, hour: 3600, day: 86400, month: 2592000, year: 31536000 }
const NULL_UUID = '00000000-0000-0000-0000-000000000000'
/** Kong's dictionary for these counters. */
export const COUNTERS = 'kong_rate_limiting_counters'

const Title: Record<Period, string> = { second: 'Second', minute: 'Minute', hour: 'Hour', day: 'Day', month: 'Month', year: 'Year' }
const LIMIT_HEADER = Object.fromEntries(PERIODS.map((p) => [p, `X-RateLimit-Limit-${Title[p]}`])) as Record<Period, string>
const REMAINING_HEADER = Object.fromEntries(PERIODS.map((p) => [p, `X-RateLimit-Remaining-${Title[p]}`])) as Record<Period, string>

/**
 * The start of each period's window containing `now` (ms), on the UTC calendar: Kong's
 * kong/tools/timestamp.lua get_timestamps.
 */
export function windowStarts (now: number): Record<Period, number> {
  const d = new Date(now)
  const y = d.getUTCFullYear()
  const mo = d.getUTCMonth()
  const day = d.getUTCDate()
  const h = d.getUTCHours()
  const mi = d.getUTCMinutes()
  return {
    second: Math.floor(now / 1000) * 1000,
    minute: Date.UTC(y, mo, day, h, mi),
    hour: Date.UTC(y, mo, day, h),
    day: Date.UTC(y, mo, day),
    month: Date.UTC(y, mo, 1),
    year: Date.UTC(y, 0, 1),
  }
}

// Every window starts on a whole second, so within one second the starts, and the counter
// keys made from them, are the same for every request: they are made once a second (per
// config and identifier) instead of once a request. A key made once also keeps its hash,
// which the dictionary's lookup would otherwise compute anew. The cache holds the current
// second's keys only, so it is as large as one second's distinct clients. It is keyed by
// the config object, which a change of the plugin replaces, so a PATCHed instance never
// reuses keys made for its old periods.
let second = -1
let starts = windowStarts(0)
let keyCache = new Map<RateLimitingConfig, { scope: string, byWho: Map<string, string[]> }>()

function keysFor (now: number, conf: RateLimitingConfig, scope: string, who: string, periods: readonly Period[]): string[] {
  const s = Math.floor(now / 1000)
  if (s !== second) {
    second = s
    starts = windowStarts(now)
    keyCache = new Map()
  }
  let cached = keyCache.get(conf)
  if (cached === undefined || cached.scope !== scope) keyCache.set(conf, cached = { scope, byWho: new Map() })
  let keys = cached.byWho.get(who)
  if (keys === undefined) {
    keys = periods.map((p) => `ratelimit:${scope}:${who}:${starts[p]}:${p}`)
    cached.byWho.set(who, keys)
  }
  return keys
}

// The periods a config limits, in order: worked out once per config object.
const configured = new WeakMap<RateLimitingConfig, Period[]>()

function periodsOf (conf: RateLimitingConfig): Period[] {
  let periods = configured.get(conf)
  if (periods === undefined) configured.set(conf, periods = PERIODS.filter((p) => conf[p] !== null))
  return periods
}

/** Who is limited (Kong's get_identifier): the chosen source, else the client address. */
function identifier (kong: Kong, conf: RateLimitingConfig): string {
  let id: string | undefined
  switch (conf.limit_by) {
    case 'consumer': id = kong.client.getConsumer()?.id ?? (kong.client.getCredential()?.id as string | undefined); break
    case 'credential': id = kong.client.getCredential()?.id as string | undefined; break
    case 'service': id = kong.router.getService()?.id; break
    case 'header': id = kong.request.getHeader(conf.header_name as string); break
    case 'path': { const p = kong.request.getPath(); if (p === conf.path) id = p; break }
    default: break
  }
  return id ?? kong.client.getForwardedIp()
}

/** Each instance's own route and service (Kong counts per plugin scope, not per request). */
const scopes = new Map<string, string>()
/** The Redis connection of each instance with policy = redis. */
const redisOf = new Map<string, Connection>()

export function configure (configs: ConfiguredPlugin<RateLimitingConfig>[]): void {
  scopes.clear()
  redisOf.clear()
  const used = new Set<string>()
  for (const c of configs) {
    scopes.set(c.id, `${c.route ?? NULL_UUID}:${c.service ?? NULL_UUID}`)
    if (c.config.policy !== 'redis') continue
    const o = redisOptions(c.config)
    const key = connectionKey(o)
    used.add(key)
    redisOf.set(c.id, connectionFor(o, key))
  }
  closeUnused(used)
}

export function access (kong: Kong, conf: RateLimitingConfig): void | Promise<void> {
  if (conf.policy === 'local') return accessLocal(kong, conf)
  return accessRemote(kong, conf)
}

function accessLocal (kong: Kong, conf: RateLimitingConfig): void {
  const now = Date.now()
  const scope = scopes.get(kong.plugin.getId()) ?? `${NULL_UUID}:${NULL_UUID}`
  const who = identifier(kong, conf)
  const periods = periodsOf(conf)
  const keys = keysFor(now, conf, scope, who, periods)
  const counters: SharedDict = kong.shm(COUNTERS)

  const counts: number[] = []
  let stop: Period | undefined
  try {
    for (let i = 0; i < periods.length; i++) {
      const p = periods[i] as Period
      const count = counters.incr(keys[i] as string, 1, 0, EXPIRATION[p]) as number
      counts.push(count)
      // Kong refuses when limit - (count before this request) <= 0: for a limit that is
      // not a whole number, that is not the same as count > limit.
      if (count - 1 >= (conf[p] as number) && stop === undefined) stop = p
    }
    if (stop !== undefined) for (const key of keys) counters.incr(key, -1)
  } catch (err) {
    // Kong's fault_tolerant: without counters, let the request through without headers.
    if (!conf.fault_tolerant) throw err
    kong.log.err('failed to count the request: ', (err as Error).message)
    return
  }
  respond(kong, conf, now, starts, periods, counts, stop)
}

/**
 * The headers and, for a refused request, the answer (Kong's handler after the usage
 * checks). `counts` are the counters after this request's increment; `stop` the period
 * that refused it, if any.
 */
function respond (kong: Kong, conf: RateLimitingConfig, now: number, starts: Record<Period, number>, periods: readonly Period[], counts: number[], stop: Period | undefined): void {
  if (conf.hide_client_headers && stop === undefined) return

  // Numbers: the PDK turns them into header values without scanning them.
  const headers: Record<string, number> = {}
  let limit = 0
  let window = 0
  let remaining = Number.POSITIVE_INFINITY
  let reset = 0
  for (let i = 0; i < periods.length; i++) {
    const p = periods[i] as Period
    const periodLimit = conf[p] as number
    // Before this request: limit - count + 1; this request takes one more unless it is
    // refused for another period.
    let left = periodLimit - (counts[i] as number) + 1
    if (stop === undefined || stop === p) left -= 1
    left = Math.max(0, left)
    const length = EXPIRATION[p]
    if (left < remaining || (left === remaining && length > window)) {
      limit = periodLimit
      window = length
      remaining = left
      reset = Math.max(1, length - Math.floor((now - starts[p]) / 1000))
    }
    headers[LIMIT_HEADER[p]] = periodLimit
    headers[REMAINING_HEADER[p]] = left
  }
  headers['RateLimit-Limit'] = limit
  headers['RateLimit-Remaining'] = remaining
  headers['RateLimit-Reset'] = reset

  if (stop !== undefined) {
    if (conf.hide_client_headers) return kong.response.error(conf.error_code, conf.error_message)
    headers['Retry-After'] = reset
    return kong.response.error(conf.error_code, conf.error_message, headers)
  }
  kong.response.setHeaders(headers)
}

/** The counters of one request under the cluster or redis policy. */
interface Counting {
  /** Adds `delta` to every key; resolves to the new values, in order. */
  add (keys: string[], ttls: number[], delta: number): Promise<number[]>
}

function clusterCounting (kong: Kong): Counting {
  return {
    add: async (keys, ttls, delta) => await Promise.all(keys.map((k, i) => kong.db.incrCounter(k, delta, ttls[i] as number))),
  }
}

function redisCounting (c: Connection): Counting {
  return { add: async (keys, ttls, delta) => await add(c, keys, ttls, delta) }
}

/**
 * sync_rate mode: a counter whose base (Redis's value) this node knows counts in the
 * node's shared dictionary and is pushed later; one it does not know yet goes to Redis at
 * once and its answer becomes the base, as Kong reads Redis on a counter's first use.
 */
function syncedCounting (kong: Kong, c: Connection, syncRate: number): Counting {
  const dict = kong.shm(COUNTERS)
  return {
    add: async (keys, ttls, delta) => {
      const bases = keys.map((k) => dict.get(baseKey(c, k)))
      if (bases.some((b) => typeof b !== 'number')) {
        const counts = await add(c, keys, ttls, delta)
        return counts.map((n, i) => {
          const k = keys[i] as string
          dict.set(baseKey(c, k), n, ttls[i])
          // Plus what this node has counted and not pushed yet.
          const pending = dict.get(deltaKey(c, k))
          return n + (typeof pending === 'number' ? pending : 0)
        })
      }
      return keys.map((k, i) => {
        const ttl = ttls[i] as number
        const local = dict.incr(deltaKey(c, k), delta, 0, ttl) as number
        markDirty(c, dict, k, ttl, syncRate, kong.log)
        return (bases[i] as number) + local
      })
    },
  }
}

function countingFor (kong: Kong, conf: RateLimitingConfig): Counting {
  if (conf.policy === 'cluster') return clusterCounting(kong)
  // configure has opened it; a config it has not seen yet (a request racing a change)
  // gets the shared connection for its settings all the same.
  const c = redisOf.get(kong.plugin.getId()) ?? connectionFor(redisOptions(conf))
  return conf.sync_rate === SYNC_RATE_REALTIME ? redisCounting(c) : syncedCounting(kong, c, conf.sync_rate)
}

/** cluster and redis: the local policy's steps, with counters that have to be awaited. */
async function accessRemote (kong: Kong, conf: RateLimitingConfig): Promise<void> {
  const now = Date.now()
  const starts = windowStarts(now)
  const scope = scopes.get(kong.plugin.getId()) ?? `${NULL_UUID}:${NULL_UUID}`
  const who = identifier(kong, conf)
  const periods: Period[] = []
  const keys: string[] = []
  const ttls: number[] = []
  for (const p of PERIODS) {
    if (conf[p] === null) continue
    periods.push(p)
    keys.push(`ratelimit:${scope}:${who}:${starts[p]}:${p}`)
    ttls.push(EXPIRATION[p])
  }
  const counting = countingFor(kong, conf)
  let counts: number[]
  try {
    counts = await counting.add(keys, ttls, 1)
  } catch (err) {
    // Kong's fault_tolerant: without counters, proxy without headers, or fail with 500
    // (the phase runner logs the error then).
    if (!conf.fault_tolerant) throw err
    kong.log.err('failed to count the request: ', (err as Error).message)
    return
  }
  let stop: Period | undefined
  for (let i = 0; i < periods.length; i++) {
    const p = periods[i] as Period
    if ((counts[i] as number) - 1 >= (conf[p] as number)) { stop = p; break }
  }
  if (stop !== undefined) {
    // Awaited, so the next request of this client sees the counter as it should be.
    try { await counting.add(keys, ttls, -1) } catch (err) { kong.log.err('failed to take back a refused request: ', (err as Error).message) }
  }
  respond(kong, conf, now, starts, periods, counts, stop)
}
