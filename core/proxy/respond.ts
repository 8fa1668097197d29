// The response's headers as Kong makes them: what header_filter sees of an upstream's
// answer (hop-by-hop fields dropped, Via, Server, X-Kong-Upstream-Status, what plugins set
// during access), the headers Kong adds when it writes a head (latencies, request id,
// debug headers), and Kong's answer when the upstream fails.

import { KEYS, type KongHeader } from '../config/keys.js'
import { SERVER_TOKEN } from '../meta.js'
import { copyHeaders, type Headers, type RequestContext } from '../runtime/context.js'
import { errorExit } from '../runtime/exit.js'
import { ClientError, STATUS_MESSAGES } from '../http/errors.js'
import { HOP_BY_HOP, connectionTokens, viaToken } from './upstream-request.js'

/** Which of Kong's own headers to add (kong.conf `headers` and `headers_upstream`). */
export interface HeaderSettings {
  response: readonly KongHeader[]
  upstream: readonly string[]
}

export const DEFAULT_HEADERS: HeaderSettings = { response: KEYS.headers.parse(KEYS.headers.default), upstream: KEYS.headers_upstream.parse(KEYS.headers_upstream.default) }

/** The settings as flags, read on every request. */
export function headerFlags (h: HeaderSettings = DEFAULT_HEADERS) {
  const on = (name: KongHeader): boolean => h.response.includes(name)
  return {
    server: on('server'),
    via: on('via'),
    proxyLatency: on('x-kong-proxy-latency'),
    responseLatency: on('x-kong-response-latency'),
    upstreamLatency: on('x-kong-upstream-latency'),
    upstreamStatus: on('x-kong-upstream-status'),
    requestId: on('x-kong-request-id'),
    upstreamRequestId: h.upstream.includes('x-kong-request-id'),
  }
}

export type HeaderFlags = ReturnType<typeof headerFlags>

/**
 * The upstream's answer as header_filter sees it: its headers without hop-by-hop fields,
 * then Kong's, then what plugins set during access. Sets ctx's status and headers.
 */
export function upstreamResponse (ctx: RequestContext, statusCode: number, upstreamHeaders: Headers, h: HeaderFlags): void {
  const out: Headers = {}
  const connection = connectionTokens(upstreamHeaders.connection)
  for (const name in upstreamHeaders) {
    const value = upstreamHeaders[name]
    if (value === undefined || HOP_BY_HOP.has(name) || connection?.has(name) === true) continue
    out[name] = value
  }
  ctx.serviceStatus = statusCode
  ctx.upstreamHeaders = upstreamHeaders
  ctx.status = statusCode
  const pending = ctx.responseHeaders
  if (h.via) {
    const via = viaToken(ctx.req.httpVersion)
    out.via = upstreamHeaders.via === undefined ? via : `${upstreamHeaders.via as string}, ${via}`
  }
  if (out.server === undefined && h.server) out.server = SERVER_TOKEN
  if (h.upstreamStatus) out['x-kong-upstream-status'] = String(statusCode)
  for (const k in pending) out[k] = pending[k] as string | string[]
  if (ctx.hashCookie !== undefined) {
    const prev = out['set-cookie']
    out['set-cookie'] = prev === undefined ? ctx.hashCookie : [...(Array.isArray(prev) ? prev : [prev]), ctx.hashCookie]
  }
  ctx.responseHeaders = out
}

/** Kong's latency headers for a request that reached the upstream, as configured. */
export function proxiedLatency (ctx: RequestContext, out: Headers, h: HeaderFlags): void {
  if (h.upstreamLatency) out['x-kong-upstream-latency'] = String(Math.round((ctx.upstreamResponded as number) - (ctx.upstreamStarted as number)))
  if (h.proxyLatency) out['x-kong-proxy-latency'] = String(Math.round((ctx.upstreamStarted as number) - ctx.started))
}

/**
 * The head of a proxied response as it is written, after header_filter: Kong's latency and
 * request-id headers join what header_filter left in ctx.responseHeaders. A `buffered`
 * body (body_filter ran over all of it) is sent with `length` (undefined for HEAD), not
 * the upstream's Transfer-Encoding.
 */
export function proxiedResponseHead (ctx: RequestContext, h: HeaderFlags, buffered = false, length?: number): Headers {
  const out = ctx.responseHeaders
  proxiedLatency(ctx, out, h)
  if (h.requestId) out['x-kong-request-id'] = ctx.id
  if (buffered) {
    delete out['transfer-encoding']
    if (length !== undefined) out['content-length'] = String(length)
  }
  return out
}

/** The head of a response Tollgate holds whole (an exit, an error): Kong's headers added after header_filter. */
export function wholeResponseHead (ctx: RequestContext, body: Buffer | undefined, h: HeaderFlags, debugHeader: boolean): Headers {
  const headers = copyHeaders(ctx.responseHeaders)
  // A 204 or 1xx has no body and no Content-Length (RFC 9110 §8.6); Kong sends none either.
  if (ctx.status === 204 || ctx.status < 200) delete headers['content-length']
  else headers['content-length'] = String(body?.length ?? 0)
  if (h.server) headers.server ??= SERVER_TOKEN
  else if (headers.server !== undefined) delete headers.server
  if (h.requestId) headers['x-kong-request-id'] = ctx.id
  // After an upstream failure Kong reports upstream and proxy latency instead.
  if (ctx.upstreamResponded !== undefined) proxiedLatency(ctx, headers, h)
  else if (h.responseLatency) headers['x-kong-response-latency'] = String(Math.round(performance.now() - ctx.started))
  if (debugHeader && ctx.req.headers['kong-debug'] === '1') addDebugHeaders(ctx, headers)
  return headers
}

/** Kong's debug headers (allow_debug_header), plus which worker process answered. */
export function addDebugHeaders (ctx: RequestContext, out: Headers): void {
  if (ctx.route !== undefined) {
    out['kong-route-id'] = ctx.route.id
    if (ctx.route.name !== null) out['kong-route-name'] = ctx.route.name
  }
  if (ctx.service !== undefined) {
    out['kong-service-id'] = ctx.service.id
    if (ctx.service.name !== null) out['kong-service-name'] = ctx.service.name
  }
  out['tollgate-worker'] = String(process.pid)
}

/** The error code a failed upstream request carries when the service's write_timeout ran out. */
export const WRITE_TIMEOUT = 'TOLLGATE_WRITE_TIMEOUT'
const TIMEOUTS = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT', WRITE_TIMEOUT])
const DNS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME'])

/** A failed attempt as the health checker counts it: a timeout, or a TCP-level failure. */
export function attemptOutcome (err: unknown): 'timeout' | 'tcp' {
  return TIMEOUTS.has((err as NodeJS.ErrnoException).code ?? '') ? 'timeout' : 'tcp'
}

/**
 * Kong's answer when the upstream request failed before a response: 504 for a timeout,
 * 503 when the host does not resolve, 502 otherwise. The same for HTTP and upgrades.
 */
export function upstreamFailed (ctx: RequestContext, err: unknown): void {
  const code = (err as NodeJS.ErrnoException).code ?? ''
  ctx.upstreamResponded = performance.now()
  ctx.responseHeaders = {}
  if (err instanceof ClientError) errorExit(ctx, err.status, STATUS_MESSAGES[err.status] as string, true)
  else if (TIMEOUTS.has(code)) errorExit(ctx, 504, STATUS_MESSAGES[504] as string, true)
  else if (DNS.has(code)) errorExit(ctx, 503, 'name resolution failed', false)
  else errorExit(ctx, 502, STATUS_MESSAGES[502] as string, true)
  ctx.source = 'error'
}
