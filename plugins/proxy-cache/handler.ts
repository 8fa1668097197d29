// proxy-cache's phases, as Kong 3.2's kong/plugins/proxy-cache/handler.lua:
// - access decides whether the request may be served from the cache, computes its key,
//   and answers a fresh entry itself (the upstream is not called);
// - header_filter decides whether the upstream's answer may be stored;
// - body_filter stores it, with the whole body.
// Entries live in a node-wide shared dictionary (memory strategy), so every worker process
// serves what any of them stored. Where the response is neither served nor stored, the
// plugin tells the pipeline its body_filter has nothing to do, and the body streams.

import type { Kong, PdkHeaders } from '@tollgate/sdk'
import { buildCacheKey, headersKey, paramsKey, prefixOf, requestLine } from './cache-key.js'
import { CACHE_VERSION, decode, encode, type CachedResponse } from './entry.js'
import type { ProxyCacheConfig } from './schema.js'

/** What one request carries from access to body_filter (kong.ctx.plugin). */
interface State {
  /** Set after a Miss or Refresh while the response may still be stored. */
  key?: string
  reqBody?: string
  resHeaders?: PdkHeaders
  resTtl?: number
}

type Directives = Record<string, number | string | true>

const EMPTY: Directives = Object.freeze({}) as Directives

// RFC 2616 13.5.1's hop-by-hop headers, and Content-Length, which the answer recomputes:
// not replayed on a hit.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailers', 'transfer-encoding', 'upgrade', 'content-length'])

/** Whether a stored header goes back on a hit: a fresh rate-limiting count must win over a stored one. */
function overwritable (name: string): boolean {
  const n = name.toLowerCase()
  return !HOP_BY_HOP.has(n) && !n.includes('ratelimit-remaining')
}

const seconds = (): number => Math.floor(Date.now() / 1000)

/**
 * A Cache-Control value as Kong's parse_directive_header reads it: directives split on
 * ',', names lower-cased (as Kong: leading blanks dropped, trailing ones kept), a value
 * that reads as a number stored as one, a directive without value stored as true.
 */
export function directives (h: string | string[] | undefined): Directives {
  if (h === undefined) return EMPTY
  const text = Array.isArray(h) ? h.join(', ') : h
  const out: Directives = {}
  for (const part of text.split(',')) {
    const m = /^\s*([^=]+)(?:=(.+))?/.exec(part)
    if (m === null) continue
    const name = (m[1] as string).toLowerCase()
    const raw = m[2]
    if (raw === undefined) { out[name] = true; continue }
    const n = raw.trim() === '' ? Number.NaN : Number(raw)
    out[name] = Number.isNaN(n) ? raw : n
  }
  return out
}

const num = (v: number | string | true | undefined): number | undefined => (typeof v === 'number' ? v : undefined)

/** Kong's resource_ttl: s-maxage, else max-age, else Expires minus now; never below 0. */
export function resourceTtl (cc: Directives, expires: string | string[] | undefined, now = seconds()): number {
  let maxAge = num(cc['s-maxage']) ?? num(cc['max-age'])
  if (maxAge === undefined && expires !== undefined) {
    // Several Expires headers: the last one wins, as in Kong.
    const at = Date.parse(Array.isArray(expires) ? expires[expires.length - 1] as string : expires)
    if (!Number.isNaN(at)) maxAge = Math.floor(at / 1000) - now
  }
  return maxAge === undefined ? 0 : Math.max(maxAge, 0)
}

/**
 * Which of its headers the plugin sends: all of them in Kong 3.2; Kong 3.4's
 * response_headers can turn each off, except for a request carrying Kong-Debug.
 */
function shown (kong: Kong, conf: ProxyCacheConfig, header: 'age' | 'X-Cache-Status' | 'X-Cache-Key'): boolean {
  return conf.response_headers[header] || kong.request.getHeader('kong-debug') !== undefined
}

/** A stored response as a hit sends it, decoded once per process while it stays the same. */
interface Decoded {
  raw: Buffer
  res: CachedResponse
  /** The stored headers a hit replays (see overwritable). */
  headers: Record<string, string | string[]>
  /** What logging plugins get in kong.ctx.shared.proxy_cache_hit. */
  hit: Record<string, unknown>
}

const decodedByKey = new Map<string, Decoded>()
const DECODED_MAX = 1000
// The memo holds whole entries (LMDB hands back copies), so it is bounded by bytes too,
// and large entries are not kept: 1,000 responses of 2 MB would otherwise pin 2 GB in
// every worker process, whatever the dictionary's own size.
const DECODED_MAX_BYTES = 32 * 1024 * 1024
const DECODED_ENTRY_MAX_BYTES = 256 * 1024
let decodedBytes = 0

/**
 * The entry stored as `raw`, decoded. A hit on the same entry again compares bytes instead
 * of parsing it again: the in-memory store hands back the very Buffer, LMDB a copy.
 */
function decoded (key: string, raw: Buffer): Decoded | undefined {
  const known = decodedByKey.get(key)
  if (known !== undefined && (known.raw === raw || known.raw.equals(raw))) return known
  const res = decode(raw)
  if (res === undefined) return undefined
  const headers: Record<string, string | string[]> = {}
  for (const name in res.headers) if (overwritable(name)) headers[name] = res.headers[name] as string | string[]
  const d: Decoded = {
    raw,
    res,
    headers,
    // Logging plugins learn of the hit as in Kong (without the body, which they would
    // rarely want and which would travel to isolated plugins with every request).
    hit: { res: { status: res.status, headers: res.headers, body_len: res.body_len, timestamp: res.timestamp, ttl: res.ttl, version: res.version }, req: { body: res.req_body } },
  }
  if (raw.length > DECODED_ENTRY_MAX_BYTES) return d
  if (decodedByKey.size >= DECODED_MAX || decodedBytes + raw.length > DECODED_MAX_BYTES) {
    decodedByKey.clear()
    decodedBytes = 0
  }
  const replaced = decodedByKey.get(key)
  if (replaced !== undefined) decodedBytes -= replaced.raw.length
  decodedByKey.set(key, d)
  decodedBytes += raw.length
  return d
}

function setStatus (kong: Kong, conf: ProxyCacheConfig, status: 'Miss' | 'Hit' | 'Bypass' | 'Refresh'): void {
  if (shown(kong, conf, 'X-Cache-Status')) kong.response.setHeader('X-Cache-Status', status)
}

/**
 * Kong's cacheable_request: a configured method and, with cache_control, no no-store or
 * no-cache directive and no Authorization header (RFC 7234 3.2: a shared cache does not
 * answer an authorized request from its store). Kong 3.2 reads the header as
 * `ngx.var.authorization`, which nginx does not define, so Kong itself never sees it;
 * Tollgate does what the check means.
 */
function cacheableRequest (kong: Kong, conf: ProxyCacheConfig, cc: Directives): boolean {
  if (!(conf.request_method as string[]).includes(kong.request.getMethod())) return false
  if (conf.cache_control && (cc['no-store'] !== undefined || cc['no-cache'] !== undefined || kong.request.getHeader('authorization') !== undefined)) return false
  return true
}

/**
 * Kong's cacheable_response: a configured status; exactly one, non-empty Content-Type equal
 * to a configured one (Kong 3.2 compares the whole string); with cache_control, no
 * private, no-store or no-cache, and a positive freshness lifetime.
 */
function cacheableResponse (conf: ProxyCacheConfig, status: number, headers: PdkHeaders, cc: Directives): boolean {
  if (!conf.response_code.includes(status)) return false
  const type = headers['content-type']
  if (type === undefined || Array.isArray(type) || type === '' || !conf.content_type.includes(type)) return false
  if (conf.cache_control) {
    if (cc.private !== undefined || cc['no-store'] !== undefined || cc['no-cache'] !== undefined) return false
    if (resourceTtl(cc, headers.expires) <= 0) return false
  }
  return true
}

/** Remembers that the response may be stored (Kong's signal_cache_req) and says why it is proxied. */
function signal (kong: Kong, conf: ProxyCacheConfig, state: State, key: string, status: 'Miss' | 'Refresh' | 'Bypass'): void {
  state.key = key
  setStatus(kong, conf, status)
}

/** Methods that carry a body: only configs caching them read it, the only use being req_body. */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH'])

export function readsBody (conf: ProxyCacheConfig): boolean {
  return conf.request_method.some((m) => BODY_METHODS.has(m))
}

function requestBody (kong: Kong, conf: ProxyCacheConfig): string {
  if (!readsBody(conf) || !BODY_METHODS.has(kong.request.getMethod())) return ''
  return kong.request.getRawBody().toString('utf8')
}

/** The request's cache key (Kong's build_cache_key); see cache-key.ts. */
export function keyOf (kong: Kong, conf: ProxyCacheConfig): string {
  const method = kong.request.getMethod()
  let uri = requestLine(method, kong.request.getPathWithQuery(), kong.request.getHttpVersion())
  if (conf.ignore_uri_case) uri = uri.toLowerCase()
  const params = kong.request.getRawQuery() === '' ? '' : paramsKey(kong.request.getQuery(), conf.vary_query_params)
  const headers = conf.vary_headers === null || conf.vary_headers.length === 0 ? '' : headersKey(kong.request.getHeaders(), conf.vary_headers)
  return buildCacheKey(prefixOf(kong.client.getConsumer()?.id, kong.router.getRoute()?.id), method, uri, params, headers)
}

export function access (kong: Kong, conf: ProxyCacheConfig): void {
  // Several Cache-Control headers read as one, joined with ', ' as Kong joins them.
  const cc = conf.cache_control ? directives(kong.request.getHeaders()['cache-control']) : EMPTY
  if (!cacheableRequest(kong, conf, cc)) {
    setStatus(kong, conf, 'Bypass')
    kong.plugin.skipBodyFilter()
    return
  }
  const key = keyOf(kong, conf)
  if (shown(kong, conf, 'X-Cache-Key')) kong.response.setHeader('X-Cache-Key', key)

  const dict = kong.shm(conf.memory.dictionary_name)
  const state = kong.ctx.plugin as State
  const raw = dict.get(key)
  if (raw === undefined) {
    // RFC 7234 5.2.1.7: the client wants a stored answer or none.
    if (conf.cache_control && cc['only-if-cached'] !== undefined) {
      kong.plugin.skipBodyFilter()
      return kong.response.exit(504)
    }
    state.reqBody = requestBody(kong, conf)
    return signal(kong, conf, state, key, 'Miss')
  }
  const d = Buffer.isBuffer(raw) ? decoded(key, raw) : undefined
  if (d === undefined) {
    // Kong logs the decoding error and proxies without a status or storing.
    kong.log.err('could not decode request object')
    kong.plugin.skipBodyFilter()
    return
  }
  const res = d.res
  if (res.version !== CACHE_VERSION) {
    kong.log.notice('cache format mismatch, purging ', key)
    dict.delete(key)
    return signal(kong, conf, state, key, 'Bypass')
  }

  // Whether the client takes the stored answer.
  const age = seconds() - res.timestamp
  if (conf.cache_control) {
    const maxAge = num(cc['max-age'])
    const maxStale = num(cc['max-stale'])
    const minFresh = num(cc['min-fresh'])
    if ((maxAge !== undefined && age > maxAge) ||
      (maxStale !== undefined && age - res.ttl > maxStale) ||
      (minFresh !== undefined && res.ttl - age < minFresh)) {
      return signal(kong, conf, state, key, 'Refresh')
    }
  } else if (age > conf.cache_ttl) {
    // Kept up to storage_ttl, served up to cache_ttl.
    return signal(kong, conf, state, key, 'Refresh')
  }

  // A hit.
  kong.ctx.shared.proxy_cache_hit = d.hit
  // Copied by a loop: a spread of a header object costs microseconds (see copyHeaders).
  const headers: Record<string, string | string[]> = {}
  for (const name in d.headers) headers[name] = d.headers[name] as string | string[]
  if (shown(kong, conf, 'age')) headers.age = String(age)
  if (shown(kong, conf, 'X-Cache-Status')) headers['x-cache-status'] = 'Hit'
  kong.plugin.skipBodyFilter()
  return kong.response.exit(res.status, res.body, headers)
}

/**
 * Whether a response of this Content-Length could be stored at all. One larger than the
 * whole dictionary never could (it would only be held whole to be dropped, and past the
 * proxy's buffering limit the client would get nothing): it streams as a Bypass. Kong
 * collects it and fails to store it; the client gets it either way.
 */
function fitsIn (capacity: number | undefined, length: string | string[] | undefined): boolean {
  if (capacity === undefined || typeof length !== 'string') return true
  const n = Number(length)
  return !(n > capacity)
}

export function headerFilter (kong: Kong, conf: ProxyCacheConfig): void {
  const state = kong.ctx.plugin as State
  // Not cacheable, served from the cache, or answered 504 (only-if-cached).
  if (state.key === undefined) return
  const headers = kong.response.getHeaders()
  const cc = conf.cache_control ? directives(headers['cache-control']) : EMPTY
  if (cacheableResponse(conf, kong.response.getStatus(), headers, cc) && fitsIn(kong.shm(conf.memory.dictionary_name).capacity, headers['content-length'])) {
    state.resHeaders = headers
    state.resTtl = conf.cache_control ? resourceTtl(cc, headers.expires) : conf.cache_ttl
    return
  }
  setStatus(kong, conf, 'Bypass')
  state.key = undefined
  kong.plugin.skipBodyFilter()
}

export function bodyFilter (kong: Kong, conf: ProxyCacheConfig): void {
  const state = kong.ctx.plugin as State
  if (state.key === undefined) return
  const body = kong.response.getRawBody() ?? Buffer.alloc(0)
  const ttl = conf.storage_ttl ?? (conf.cache_control ? state.resTtl as number : conf.cache_ttl)
  const entry = encode({
    status: kong.response.getStatus(),
    headers: state.resHeaders ?? {},
    body,
    body_len: body.length,
    timestamp: seconds(),
    ttl: state.resTtl as number,
    version: CACHE_VERSION,
    req_body: state.reqBody ?? '',
  })
  try {
    // False: larger than the whole dictionary (nginx's "no memory"); a full one evicts.
    if (!kong.shm(conf.memory.dictionary_name).set(state.key, entry, ttl)) kong.log.err('could not store the response: no memory')
  } catch (err) {
    kong.log.err('could not store the response: ', (err as Error).message)
  }
}
