// http-log (Kong's kong/plugins/http-log/handler.lua with kong/tools/batch_queue.lua): in
// the log phase the request's kong.log.serialize() joins its plugin instance's queue; a
// batch of up to queue_size entries (one JSON object when queue_size is 1, else a JSON
// array) is sent when full or flush_timeout seconds after its first entry. A failed batch
// (network error, timeout or a status of 400 and above) is retried retry_count times with
// exponential backoff, then dropped and logged. One batch in flight per instance; the
// queue is bounded (MAX_PENDING entries), further entries are dropped and logged. With
// Kong 3.3's `queue` record, its fields decide instead (schema.ts, queueParams). Nothing
// here delays or fails the proxied request.
import { Agent, request } from 'undici'
import type { Kong } from '@tollgate/sdk'
import { queueParams, type HttpLogConfig, type QueueParams } from './schema.js'


type Warn = (...args: unknown[]) => void

interface Queue {
  conf: HttpLogConfig
  params: QueueParams
  /** Bytes of the entries in `pending` (for queue.max_bytes). */
  bytes: number
  key: string
  agent: Agent
  pending: string[]
  timer?: NodeJS.Timeout
  sending: boolean
  warn: Warn
}

const queues = new Map<string, Queue>()

// A config object lives as long as its plugin instance's configuration, so its key is made
// once, not per logged request (a JSON.stringify of ten fields on every request otherwise).
const keys = new WeakMap<HttpLogConfig, string>()
function keyOf (c: HttpLogConfig): string {
  let k = keys.get(c)
  if (k === undefined) keys.set(c, k = JSON.stringify([c.http_endpoint, c.method, c.content_type, c.timeout, c.keepalive, c.retry_count, c.queue_size, c.flush_timeout, c.headers, c.queue]))
  return k
}

function queueFor (id: string, conf: HttpLogConfig, warn: Warn): Queue {
  let q = queues.get(id)
  const key = keyOf(conf)
  if (q !== undefined && q.key !== key) { retire(q); q = undefined }
  if (q === undefined) {
    const params = queueParams(conf)
    q = { conf, params, bytes: 0, key, agent: new Agent({ keepAliveTimeout: Math.max(1, conf.keepalive), connectTimeout: conf.timeout }), pending: [], sending: false, warn }
    queues.set(id, q)
    // Once per queue, as Kong 3.3 warns once per queue name.
    for (const w of params.warnings) warn(`[http-log] ${w}`)
  }
  q.warn = warn
  return q
}

/** A replaced or removed instance: what it holds is still sent, then its connections close. */
function retire (q: Queue): void {
  if (q.timer !== undefined) clearTimeout(q.timer)
  q.timer = undefined
  void drain(q).finally(() => { void q.agent.close().catch(() => {}) })
}

async function drain (q: Queue): Promise<void> {
  while (q.pending.length > 0) await flush(q)
}

function schedule (q: Queue): void {
  if (q.sending) return
  if (q.pending.length >= q.params.batchSize) { void flush(q); return }
  q.timer ??= setTimeout(() => { q.timer = undefined; void flush(q) }, q.params.delayMs)
  q.timer.unref?.()
}

async function flush (q: Queue): Promise<void> {
  if (q.sending) return
  if (q.timer !== undefined) { clearTimeout(q.timer); q.timer = undefined }
  const entries = q.pending.splice(0, q.params.batchSize)
  if (entries.length === 0) return
  for (const e of entries) q.bytes -= Buffer.byteLength(e)
  q.sending = true
  try {
    const payload = q.params.batchSize === 1 ? entries[0] as string : `[${entries.join(',')}]`
    await sendWithRetries(q, payload, entries.length)
  } finally {
    q.sending = false
  }
  if (q.pending.length > 0) schedule(q)
}

async function sendWithRetries (q: Queue, payload: string, count: number): Promise<void> {
  const start = Date.now()
  for (let attempt = 0; ; attempt++) {
    const err = await send(q, payload)
    if (err === undefined) return
    const delay = q.params.retryDelayMs(attempt + 1, Date.now() - start)
    if (delay === undefined) {
      q.warn(`[http-log] failed to process entries: ${err}; dropping ${count} entries after ${attempt} retries`)
      return
    }
    q.warn(`[http-log] failed to process entries: ${err}; retry ${attempt + 1}${q.conf.queue == null ? ` of ${q.conf.retry_count}` : ''} in ${delay} ms`)
    await new Promise((resolve) => setTimeout(resolve, delay))
  }
}

async function send (q: Queue, payload: string): Promise<string | undefined> {
  const u = new URL(q.conf.http_endpoint)
  const headers: Record<string, string> = { ...(q.conf.headers ?? {}) }
  headers.host = u.host
  headers['content-type'] = q.conf.content_type
  headers['content-length'] = String(Buffer.byteLength(payload))
  if (u.username !== '' || u.password !== '') {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`
  }
  const target = `${u.protocol}//${u.host}${u.pathname}${u.search}`
  try {
    const res = await request(target, { method: q.conf.method, headers, body: payload, dispatcher: q.agent, headersTimeout: q.conf.timeout, bodyTimeout: q.conf.timeout })
    const text = await res.body.text()
    if (res.statusCode >= 400) return `${u.host}: ${res.statusCode} ${text.slice(0, 200)}`
    return undefined
  } catch (e) {
    return `${u.host}: ${(e as Error).message}`
  }
}

export function log (kong: Kong, conf: HttpLogConfig): void {
  const q = queueFor(kong.plugin.getId(), conf, kong.log.err.bind(kong.log))
  const entry = JSON.stringify(kong.log.serialize())
  const size = Buffer.byteLength(entry)
  const { maxEntries, maxBytes, dropOldest } = q.params
  if (maxBytes !== null && size > maxBytes) {
    q.warn(`[http-log] entry of ${size} bytes is larger than queue.max_bytes (${maxBytes}): dropping it`)
    return
  }
  if (!dropOldest && q.pending.length >= maxEntries) {
    q.warn(`[http-log] queue full (${maxEntries} entries): dropping an entry`)
    return
  }
  // Kong 3.3's queue: room is made for the new entry by dropping the oldest ones.
  let dropped = 0
  while (q.pending.length > 0 && (q.pending.length >= maxEntries || (maxBytes !== null && q.bytes + size > maxBytes))) {
    q.bytes -= Buffer.byteLength(q.pending.shift() as string)
    dropped++
  }
  if (dropped > 0) q.warn(`[http-log] queue full: dropped ${dropped} oldest entries`)
  q.pending.push(entry)
  q.bytes += size
  schedule(q)
}

/** Instances no longer enabled, or changed, send what they hold and close their connections. */
export function configure (configs: Array<{ id: string, config: HttpLogConfig }>): void {
  const live = new Map(configs.map((c) => [c.id, keyOf(c.config)]))
  for (const [id, q] of queues) {
    if (live.get(id) === q.key) continue
    queues.delete(id)
    retire(q)
  }
}
