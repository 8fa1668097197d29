import { Type, nullable, refuseLuaFields, oneOf, type FieldCheck, type Static } from '@tollgate/sdk'

// Kong 3.2's kong/plugins/http-log/schema.lua, fields in Kong's order; content_type also
// takes 'application/json; charset=utf-8' (the 3.2 docs).

const url = ((v: string): string | undefined => {
  let u: URL
  try { u = new URL(v) } catch { return 'missing host in url' }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `unsupported scheme '${u.protocol.slice(0, -1)}' in url`
  if (u.hostname === '') return 'missing host in url'
  return undefined
}) as FieldCheck

const FORBIDDEN: Array<[RegExp, string]> = [
  [/^host$/i, "cannot contain 'Host' header"],
  [/^content-length$/i, "cannot contain 'Content-Length' header"],
  [/^content-type$/i, "cannot contain 'Content-Type' header"],
]
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/

// Kong reports an empty value for the whole map, as its match_none errors.
const headerMap = ((m: Record<string, string>): string | undefined => {
  for (const [k, v] of Object.entries(m)) {
    if (!HEADER_NAME.test(k)) return `bad header name '${k}', allowed characters are A-Z, a-z, 0-9, '_', and '-'`
    for (const [re, err] of FORBIDDEN) if (re.test(k)) return err
    if (v.length < 1) return 'length must be at least 1'
  }
  return undefined
}) as FieldCheck

// Kong 3.3's `queue` record (kong/tools/queue_schema.lua, typedefs.queue), with its bounds.
// Kong 3.3 always fills it in; here it is null unless given, so a Kong 3.2 config keeps
// Kong 3.2's batching and retries (queue_size, flush_timeout, retry_count). Given, it rules
// batching, bounds and retries as in Kong 3.3, except where a deprecated 3.2 field is set to
// other than its old default: queue_size then stands for max_batch_size and flush_timeout
// for max_coalescing_delay, and retry_count is ignored (Kong 3.3's Queue.get_plugin_params).
const QueueSchema = Type.Object({
  max_batch_size: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1, description: 'Entries per batch: above 1 a batch is sent as a JSON array' }),
  max_coalescing_delay: Type.Number({ minimum: 0, maximum: 3600, default: 1, description: 'Seconds a batch waits for more entries after its first one' }),
  max_entries: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10000, description: 'Entries the queue holds; when full, the oldest is dropped for a new one' }),
  max_bytes: nullable(Type.Integer(), { default: null, description: 'Bytes of entries the queue holds; when full, the oldest are dropped for a new one (null: no limit)' }),
  max_retry_time: Type.Number({ default: 60, description: 'Seconds a failing batch is retried before it is dropped (negative: no retries)' }),
  initial_retry_delay: Type.Number({ minimum: 0.001, maximum: 1_000_000, default: 0.01, description: 'Seconds before the first retry; doubled for each next one' }),
  max_retry_delay: Type.Number({ minimum: 0.001, maximum: 1_000_000, default: 60, description: 'Seconds between retries at most' }),
}, { additionalProperties: false, kind: 'record', description: "Kong 3.3's queue parameters" })

export const HttpLogSchema = Type.Object({
  http_endpoint: Type.String({ check: url, description: 'Where the log entries are sent (http or https; user info becomes Basic authorization)' }),
  method: oneOf(['POST', 'PUT', 'PATCH'] as const, { default: 'POST', description: 'The HTTP method of the log request' }),
  content_type: oneOf(['application/json', 'application/json; charset=utf-8'] as const, { default: 'application/json', description: 'The Content-Type of the log request' }),
  timeout: Type.Number({ default: 10000, description: 'Milliseconds to wait for the log server' }),
  keepalive: Type.Number({ default: 60000, description: 'Milliseconds an idle connection to the log server is kept' }),
  retry_count: Type.Integer({ default: 10, description: 'Retries of a failed batch, with exponential backoff' }),
  queue_size: Type.Integer({ default: 1, description: 'Entries per batch: above 1 a batch is sent as a JSON array' }),
  flush_timeout: Type.Number({ default: 2, description: 'Seconds an entry may wait for its batch to fill' }),
  headers: nullable(Type.Record(Type.String(), Type.String({ minLength: 0 }), { check: headerMap }), { default: null, description: 'Headers added to the log request' }),
  queue: nullable(QueueSchema, { default: null, description: "Kong 3.3's queue record; null: Kong 3.2's queue_size, flush_timeout and retry_count" }),
  custom_fields_by_lua: nullable(Type.Record(Type.String(), Type.String()), { default: null, description: 'Kong runs these as Lua: not supported by Tollgate, only null or an empty map is accepted' }),
}, { additionalProperties: false })

export type HttpLogConfig = Static<typeof HttpLogSchema>

/** How an instance batches, bounds and retries, from its config (see QueueSchema). */
export interface QueueParams {
  batchSize: number
  delayMs: number
  maxEntries: number
  maxBytes: number | null
  /** Kong 3.3 drops the oldest entry of a full queue; Tollgate's 3.2 queue refuses the new one. */
  dropOldest: boolean
  /** The wait before retry `n` (1-based) of a batch first tried `elapsedMs` ago; undefined: give up. */
  retryDelayMs: (n: number, elapsedMs: number) => number | undefined
  /** Deprecated fields the config sets, to be logged once. */
  warnings: string[]
}

/** Entries a Kong 3.2 instance may hold before new ones are dropped. */
export const MAX_PENDING = 10_000

export function queueParams (conf: HttpLogConfig): QueueParams {
  const q = conf.queue
  if (q === null || q === undefined) {
    return {
      batchSize: Math.max(1, conf.queue_size),
      delayMs: Math.max(0, conf.flush_timeout * 1000),
      maxEntries: MAX_PENDING,
      maxBytes: null,
      dropOldest: false,
      // Kong 3.2's batch_queue: retry_count retries after 1, 2, 4, ... seconds, at most 60.
      retryDelayMs: (n) => n > conf.retry_count ? undefined : Math.min(2 ** (n - 1), 60) * 1000,
      warnings: [],
    }
  }
  // Kong 3.3's Queue.get_plugin_params: a deprecated field other than its old default wins.
  const warnings: string[] = []
  let batchSize = q.max_batch_size
  let delay = q.max_coalescing_delay
  if (conf.retry_count !== 10) warnings.push('the retry_count parameter no longer works, please update your configuration to use initial_retry_delay and max_retry_time instead')
  if (conf.queue_size !== 1) {
    batchSize = Math.max(1, conf.queue_size)
    warnings.push('the queue_size parameter is deprecated, please update your configuration to use queue.max_batch_size instead')
  }
  if (conf.flush_timeout !== 2) {
    delay = conf.flush_timeout
    warnings.push('the flush_timeout parameter is deprecated, please update your configuration to use queue.max_coalescing_delay instead')
  }
  return {
    batchSize,
    delayMs: Math.max(0, delay * 1000),
    maxEntries: q.max_entries,
    maxBytes: q.max_bytes ?? null,
    dropOldest: true,
    // Kong 3.3's queue: initial_retry_delay doubled per retry, capped at max_retry_delay,
    // until max_retry_time has passed since the first try (negative: no retry).
    retryDelayMs: (n, elapsedMs) => q.max_retry_time < 0 || elapsedMs >= q.max_retry_time * 1000
      ? undefined
      : Math.min(q.initial_retry_delay * 2 ** (n - 1), q.max_retry_delay) * 1000,
    warnings,
  }
}

export function checkConfig (conf: HttpLogConfig): { config: string | Record<string, string> } | undefined {
  const lua = refuseLuaFields(conf, ['custom_fields_by_lua'])
  if (lua !== undefined) return lua
  const u = new URL(conf.http_endpoint)
  if ((u.username !== '' || u.password !== '') && conf.headers !== null && Object.keys(conf.headers).some((h) => h.toLowerCase() === 'authorization')) {
    return { config: "specifying both an 'Authorization' header and user info in 'http_endpoint' is not allowed" }
  }
  return undefined
}
