// rate-limiting's access phase (Kong 3.2's kong/plugins/rate-limiting/handler.lua), with
// the `local` policy: counters in the node's shared dictionary, so every worker process of
// the node counts against one budget, as Kong's shared dict does.
//
// Kong reads the counters, decides, and adds 1 afterwards, so a burst across workers can
// pass a few requests over the limit. Here each period's counter is incremented first
// (one atomic operation across the node) and the increments are taken back when the
// request is refused: concurrent requests can never pass the limit, and a refused request
// still counts for nothing.

import type { ConfiguredPlugin, Kong, SharedDict } from '@tollgate/sdk'
import { PERIODS, type Period, type RateLimitingConfig } from './schema.js'

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

export function configure (configs: ConfiguredPlugin<RateLimitingConfig>[]): void {
  scopes.clear()
  for (const c of configs) scopes.set(c.id, `${c.route ?? NULL_UUID}:${c.service ?? NULL_UUID}`)
}

export function access (kong: Kong, conf: RateLimitingConfig): void {
  const now = Date.now()
  const starts = windowStarts(now)
  const scope = scopes.get(kong.plugin.getId()) ?? `${NULL_UUID}:${NULL_UUID}`
  const who = identifier(kong, conf)
  const counters: SharedDict = kong.shm(COUNTERS)

  const periods: Period[] = []
  const keys: string[] = []
  const counts: number[] = []
  let stop: Period | undefined
  try {
    for (const p of PERIODS) {
      const limit = conf[p]
      if (limit === null) continue
      const key = `ratelimit:${scope}:${who}:${starts[p]}:${p}`
      const count = counters.incr(key, 1, 0, EXPIRATION[p]) as number
      periods.push(p)
      keys.push(key)
      counts.push(count)
      // Kong refuses when limit - (count before this request) <= 0: for a limit that is
      // not a whole number, that is not the same as count > limit.
      if (count - 1 >= limit && stop === undefined) stop = p
    }
    if (stop !== undefined) for (const key of keys) counters.incr(key, -1)
  } catch (err) {
    // Kong's fault_tolerant: without counters, let the request through without headers.
    if (!conf.fault_tolerant) throw err
    kong.log.err('failed to count the request: ', (err as Error).message)
    return
  }
  if (conf.hide_client_headers && stop === undefined) return

  const headers: Record<string, string> = {}
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
    headers[LIMIT_HEADER[p]] = String(periodLimit)
    headers[REMAINING_HEADER[p]] = String(left)
  }
  headers['RateLimit-Limit'] = String(limit)
  headers['RateLimit-Remaining'] = String(remaining)
  headers['RateLimit-Reset'] = String(reset)

  if (stop !== undefined) {
    if (conf.hide_client_headers) return kong.response.error(conf.error_code, conf.error_message)
    headers['Retry-After'] = String(reset)
    return kong.response.error(conf.error_code, conf.error_message, headers)
  }
  kong.response.setHeaders(headers)
}
