// The `redis` policy's connections and counting (Kong: kong/plugins/rate-limiting/policies/
// init.lua, `redis`). Kong opens a cosocket per request from a keepalive pool keyed by
// host:port;database; here one ioredis client per distinct connection config is shared by
// every plugin instance that uses it, kept across requests, and closed by `configure` once
// no config names it.
//
// Kong's 3.4+ read is an atomic INCR returning the previous value, and the increment of an
// accepted request follows the decision. Tollgate keeps the local policy's design instead:
// every period's key is incremented first, in one script (so one round trip and one atomic
// step), and a refused request takes its increments back. Concurrent requests, from any
// number of gateways, then never pass the limit.

import { Redis } from 'ioredis'
import type { KongLog } from '@tollgate/sdk'
import type { RedisOptions } from './schema.js'

// KEYS: the counters; ARGV[1]: the delta, ARGV[1 + i]: KEYS[i]'s window length. A new key
// gets its expiry, as Kong's INCRBY + EXPIRE when the key did not exist; a negative delta
// (taking a refused request back) never creates a key that has expired meanwhile.
const ADD_SCRIPT = `
local d = tonumber(ARGV[1])
local out = {}
for i = 1, #KEYS do
  local k = KEYS[i]
  if redis.call('EXISTS', k) == 0 then
    if d > 0 then
      out[i] = redis.call('INCRBY', k, d)
      redis.call('EXPIRE', k, ARGV[i + 1])
    else
      out[i] = 0
    end
  else
    out[i] = redis.call('INCRBY', k, d)
  end
end
return out
`

interface RateLimitRedis extends Redis {
  tollgateRateLimitAdd (numKeys: number, ...args: Array<string | number>): Promise<number[]>
}

/** One shared client and what the sync_rate mode has yet to push through it. */
export interface Connection {
  readonly key: string
  readonly client: RateLimitRedis
  readonly timeout: number
  /** Kong's db_key (host:port;database): names this Redis in the node's shared counters. */
  readonly dbKey: string
  /** sync_rate mode: counters touched since the last push, with their window lengths. */
  readonly dirty: Map<string, number>
  /** sync_rate mode: a push is scheduled or running. */
  syncTimer: NodeJS.Timeout | undefined
  syncing: boolean
  /** The first connection attempt, while it lasts: requests wait for it (within the timeout). */
  connecting: Promise<void> | undefined
  lastError: string | undefined
}

const connections = new Map<string, Connection>()

/** Everything that makes two configs' connections different. */
export function connectionKey (o: RedisOptions): string {
  return JSON.stringify([o.host, o.port, o.database, o.username, o.password, o.ssl, o.ssl_verify, o.server_name, o.timeout])
}

function open (key: string, o: RedisOptions): Connection {
  const client = new Redis({
    host: o.host ?? '127.0.0.1',
    port: o.port,
    db: o.database,
    // Kong AUTHs only with a password (with the user name when there is one as well).
    username: o.password !== null && o.username !== null ? o.username : undefined,
    password: o.password ?? undefined,
    connectTimeout: o.timeout,
    commandTimeout: o.timeout,
    tls: o.ssl ? { rejectUnauthorized: o.ssl_verify, ...(o.server_name !== null ? { servername: o.server_name } : {}) } : undefined,
    // A dead Redis must fail requests at once (fault_tolerant decides what then), not
    // queue them until it comes back: no offline queue, no retries per command; the
    // client itself keeps reconnecting in the background.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (times: number) => Math.min(50 * times, 1000),
    // Connected by the first request that needs it: a config no request reaches costs nothing.
    lazyConnect: true,
  }) as RateLimitRedis
  client.defineCommand('tollgateRateLimitAdd', { lua: ADD_SCRIPT })
  const conn: Connection = {
    key,
    client,
    timeout: o.timeout,
    dbKey: `${o.host ?? ''}:${o.port};${o.database}`,
    dirty: new Map(),
    syncTimer: undefined,
    syncing: false,
    connecting: undefined,
    lastError: undefined,
  }
  // Errors reach requests through their commands; this only keeps the latest for their
  // messages (an 'error' event without a listener would crash the process).
  client.on('error', (err: Error) => { conn.lastError = err.message })
  client.on('ready', () => { conn.lastError = undefined })
  return conn
}

/** The shared connection for `o`, opened on first use. */
export function connectionFor (o: RedisOptions, key = connectionKey(o)): Connection {
  let c = connections.get(key)
  if (c === undefined) connections.set(key, c = open(key, o))
  return c
}

/** Closes every connection whose key is not in `used` (configure: no config names it). */
export function closeUnused (used: Set<string>): void {
  for (const [key, c] of connections) {
    if (used.has(key)) continue
    connections.delete(key)
    if (c.syncTimer !== undefined) clearTimeout(c.syncTimer)
    c.client.disconnect()
  }
}

/**
 * Resolves once the client can take a command. A client still making its first
 * connection (or a new attempt) is waited for, within the timeout; one that is waiting to
 * reconnect to a Redis that went away fails now.
 */
function ready (c: Connection): Promise<void> | undefined {
  const status = c.client.status
  if (status === 'ready') return undefined
  if (status !== 'connecting' && status !== 'connect' && status !== 'wait') {
    return Promise.reject(new Error(`Redis is not connected (${status}${c.lastError !== undefined ? `: ${c.lastError}` : ''})`))
  }
  if (status === 'wait') c.client.connect().catch(() => {}) // failures arrive as 'close' below
  c.connecting ??= new Promise<void>((resolve, reject) => {
    const done = (err?: Error): void => {
      clearTimeout(timer)
      c.client.off('ready', onReady)
      c.client.off('close', onClose)
      c.connecting = undefined
      if (err === undefined) resolve(); else reject(err)
    }
    const onReady = (): void => done()
    const onClose = (): void => done(new Error(`could not connect to Redis${c.lastError !== undefined ? `: ${c.lastError}` : ''}`))
    const timer = setTimeout(() => done(new Error('timeout connecting to Redis')), c.timeout)
    c.client.on('ready', onReady)
    c.client.on('close', onClose)
  })
  return c.connecting
}

/** Adds `delta` to each key in one atomic step; resolves to the new values. */
export async function add (c: Connection, keys: string[], ttls: number[], delta: number): Promise<number[]> {
  const wait = ready(c)
  if (wait !== undefined) await wait
  return await c.client.tollgateRateLimitAdd(keys.length, ...keys, delta, ...ttls)
}

// --- sync_rate -------------------------------------------------------------------------
//
// Kong 3.4+: with sync_rate > 0 a node counts locally and pushes the accumulated deltas to
// Redis at most every sync_rate seconds. Kong keeps them per worker; here they are in the
// node's shared dictionary, so every worker of the node adds to the same delta, and the
// last value Redis answered (the base) is shared too. A request's count is base + delta:
// other nodes' requests show only after the next push of a counter this node touches, so
// the limit holds per node at once and across nodes only approximately, as in Kong.

/** The shared-dictionary keys of a counter's base (last value from Redis) and local delta. */
export const baseKey = (c: Connection, key: string): string => `redis:${c.dbKey}:base:${key}`
export const deltaKey = (c: Connection, key: string): string => `redis:${c.dbKey}:delta:${key}`

/** Shared-dictionary operations the push needs (a SharedDict). */
interface Dict {
  get (key: string): unknown
  set (key: string, value: number, ttl?: number): void
  incr (key: string, by: number, init?: number, initTtl?: number): number | undefined
}

/** Notes `key` as touched and makes sure a push comes within `syncRate` seconds. */
export function markDirty (c: Connection, dict: Dict, key: string, ttl: number, syncRate: number, log: KongLog): void {
  c.dirty.set(key, ttl)
  if (c.syncTimer !== undefined || c.syncing) return
  c.syncTimer = setTimeout(() => { c.syncTimer = undefined; void push(c, dict, syncRate, log) }, syncRate * 1000)
  c.syncTimer.unref()
}

/**
 * Pushes every touched counter's delta with one script call each (pipelined), and takes
 * Redis's totals as the new bases. A push that fails puts back the deltas Redis did not
 * apply, to be tried again with the next one (Kong drops them); the ones it applied are
 * not pushed twice.
 */
async function push (c: Connection, dict: Dict, syncRate: number, log: KongLog): Promise<void> {
  if (c.dirty.size === 0) return
  c.syncing = true
  const batch = [...c.dirty]
  c.dirty.clear()
  const taken = batch.map(() => 0)
  const applied = batch.map(() => false)
  try {
    // Taken out of the shared delta by subtracting what was read (increments made
    // meanwhile, by any process, stay in it for the next push), and added to the base at
    // once: while Redis has not answered, every process still counts them.
    for (let i = 0; i < batch.length; i++) {
      const [key] = batch[i] as [string, number]
      const dk = deltaKey(c, key)
      const v = dict.get(dk)
      const n = typeof v === 'number' ? v : 0
      if (n === 0) continue
      dict.incr(dk, -n)
      taken[i] = n
      dict.incr(baseKey(c, key), n)
    }
    const wait = ready(c)
    if (wait !== undefined) await wait
    const pipeline = c.client.pipeline()
    for (let i = 0; i < batch.length; i++) {
      const [key, ttl] = batch[i] as [string, number]
      ;(pipeline as unknown as { tollgateRateLimitAdd: (...a: Array<string | number>) => void }).tollgateRateLimitAdd(1, key, taken[i] as number, ttl)
    }
    const results = await pipeline.exec()
    let failed: unknown
    for (let i = 0; i < batch.length; i++) {
      const [key, ttl] = batch[i] as [string, number]
      const [err, value] = results?.[i] ?? [new Error('no reply')]
      if (err !== null && err !== undefined) { failed ??= err; continue }
      applied[i] = true
      dict.set(baseKey(c, key), (value as number[])[0] as number, ttl)
    }
    if (failed !== undefined) throw failed
  } catch (err) {
    log.err('failed to push rate-limiting counters to Redis: ', (err as Error).message)
    try {
      for (let i = 0; i < batch.length; i++) {
        if (applied[i] === true) continue
        const [key, ttl] = batch[i] as [string, number]
        const n = taken[i] as number
        if (n !== 0) {
          dict.incr(deltaKey(c, key), n, 0, ttl)
          dict.incr(baseKey(c, key), -n)
        }
        if (!c.dirty.has(key)) c.dirty.set(key, ttl)
      }
    } catch (again) {
      // The node's dictionaries are gone (it is stopping): nothing left to keep.
      log.err('failed to keep the counts Redis did not take: ', (again as Error).message)
    }
  } finally {
    c.syncing = false
  }
  // Touched while pushing: the next push, sync_rate from now.
  if (c.dirty.size > 0 && c.syncTimer === undefined && connections.get(c.key) === c) {
    c.syncTimer = setTimeout(() => { c.syncTimer = undefined; void push(c, dict, syncRate, log) }, syncRate * 1000)
    c.syncTimer.unref()
  }
}
