// kong.log: log lines tagged with the plugin and request, and the request summary that
// logging plugins send (Kong's kong/pdk/log.lua).

import { format } from 'node:util'
import type { Logger } from '../log.js'
import type { RequestContext } from '../runtime/context.js'
import { check } from './private/checks.js'
import { PHASES } from './private/phases.js'

const P = PHASES.log

/**
 * A log line at a level, the arguments joined as util.format does. The lines are never
 * phase-checked (Kong allows them in every phase, init_worker included): a log line must
 * not be what fails a request.
 */
export interface KongLog {
  /**
   * Kong's kong.log(...): notice level, which Tollgate's logger writes as info.
   * @phases rewrite, access, header_filter, body_filter, log
   */
  (...args: unknown[]): void
  /** @phases rewrite, access, header_filter, body_filter, log */
  debug(...args: unknown[]): void
  /** @phases rewrite, access, header_filter, body_filter, log */
  info(...args: unknown[]): void
  /** @phases rewrite, access, header_filter, body_filter, log */
  notice(...args: unknown[]): void
  /** @phases rewrite, access, header_filter, body_filter, log */
  warn(...args: unknown[]): void
  /** @phases rewrite, access, header_filter, body_filter, log */
  err(...args: unknown[]): void
  /** @phases rewrite, access, header_filter, body_filter, log */
  crit(...args: unknown[]): void
  /** @phases rewrite, access, header_filter, body_filter, log */
  alert(...args: unknown[]): void
  /** @phases rewrite, access, header_filter, body_filter, log */
  emerg(...args: unknown[]): void
  /**
   * Adds a field to what serialize() returns (dotted keys reach nested fields).
   * @phases rewrite, access, header_filter, body_filter, log
   */
  setSerializeValue(key: string, value: unknown): void
  /**
   * The request summary loggers send.
   * @phases log
   */
  serialize(): Record<string, unknown>
  /**
   * serialize()'s `latencies` alone, in milliseconds, without building the rest of the
   * summary: for metrics plugins, which need them on every request. `proxy` (the upstream's
   * time to its response head) is null when no upstream answered. Tollgate's addition.
   * @phases log
   */
  latencies(): { request: number, kong: number, proxy: number | null }
  /**
   * The request's and the response's sizes in bytes: `request`, nginx's request_length
   * as Kong's serializer reports it (request line and headers as received, then the body:
   * its Content-Length, or as buffered); `response`, what was written to the client's
   * connection for this response, head included (nginx's bytes_sent), or its
   * Content-Length where the connection is not at hand (an isolated plugin). Tollgate's
   * addition, for metrics plugins.
   * @phases log
   */
  sizes(): { request: number, response: number }
}

export function makeLog (ctx: RequestContext, logger: Logger, plugin: string): KongLog {
  const line = (level: 'debug' | 'info' | 'warn' | 'error' | 'fatal') => (...args: unknown[]) => {
    logger[level]({ plugin, request_id: ctx.id }, format(...args))
  }
  const log = line('info') as KongLog
  log.debug = line('debug')
  log.info = line('info')
  log.notice = line('info')
  log.warn = line('warn')
  log.err = line('error')
  log.crit = line('fatal')
  log.alert = line('fatal')
  log.emerg = line('fatal')
  log.setSerializeValue = (key: string, value: unknown) => {
    check(ctx, P.setSerializeValue)
    ctx.serializeExtra[key] = value
  }
  log.serialize = () => {
    check(ctx, P.serialize)
    return serialize(ctx)
  }
  log.latencies = () => {
    check(ctx, P.latencies)
    return latencies(ctx, performance.now())
  }
  log.sizes = () => {
    check(ctx, P.sizes)
    const length = ctx.req.headers['content-length']
    const body = length !== undefined ? Number(length) : ctx.body !== undefined ? ctx.body.length : 0
    const socket = ctx.req.socket
    const response = ctx.bytesBefore !== undefined && socket !== null ? socket.bytesWritten - ctx.bytesBefore : responseSize(ctx)
    return { request: requestHeadSize(ctx.req) + (Number.isFinite(body) ? body : 0), response }
  }
  return log
}

/**
 * The request line and headers as received, CRLFs and the empty line included. node's
 * parser hands the request line and headers over as latin1 strings (one character a byte),
 * so their lengths are their sizes on the wire: no encoding pass per request.
 */
function requestHeadSize (req: RequestContext['req']): number {
  // "METHOD URL HTTP/x.y\r\n" (two spaces, "HTTP/", a CRLF) and the final CRLF: 11 besides.
  let n = (req.method?.length ?? 0) + (req.url?.length ?? 0) + req.httpVersion.length + 11
  const raw = req.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) n += (raw[i] as string).length + (raw[i + 1] as string).length + 4
  return n
}

/**
 * Kong's response.size is nginx's bytes_sent; Tollgate knows the body's Content-Length
 * (0 when the body is chunked or absent), always as a number as Kong's is.
 */
function responseSize (ctx: RequestContext): number {
  const n = Number(ctx.res.getHeader('content-length') ?? 0)
  return Number.isFinite(n) ? n : 0
}

/** Kong's serializer latencies, whole milliseconds; `none` stands for "no upstream answered". */
function latencies<N extends null | undefined = null> (ctx: RequestContext, now: number, none: N = null as N): { kong: number, proxy: number | N, request: number } {
  return {
    kong: Math.round((ctx.upstreamStarted ?? now) - ctx.started),
    proxy: ctx.upstreamStarted === undefined || ctx.upstreamResponded === undefined ? none : Math.round(ctx.upstreamResponded - ctx.upstreamStarted),
    request: Math.round(now - ctx.started),
  }
}

const REDACTED = new Set(['authorization', 'proxy-authorization'])

export function serialize (ctx: RequestContext): Record<string, unknown> {
  const req = ctx.req
  const headers: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(req.headersDistinct)) {
    if (v !== undefined) headers[k] = REDACTED.has(k) ? 'REDACTED' : v.length === 1 ? v[0] : v
  }
  const now = performance.now()
  const out: Record<string, unknown> = {
    request: {
      id: ctx.id,
      uri: req.url,
      url: `http://${req.headers.host ?? ''}${req.url ?? ''}`,
      querystring: ctx.query,
      method: req.method,
      headers,
      size: Number(req.headers['content-length'] ?? 0),
    },
    upstream_uri: ctx.upstream === undefined ? undefined : `${ctx.upstream.path}${ctx.upstream.query === undefined ? '' : `?${ctx.upstream.query}`}`,
    upstream_status: ctx.serviceStatus,
    response: { status: ctx.status, headers: { ...ctx.responseHeaders }, size: responseSize(ctx) },
    latencies: latencies(ctx, now, undefined),
    authenticated_entity: ctx.credential === undefined ? undefined : { id: ctx.credential.id },
    route: ctx.route,
    service: ctx.service,
    consumer: ctx.consumer,
    client_ip: ctx.clientIp,
    started_at: ctx.startedAt,
    source: ctx.source,
  }
  for (const [key, value] of Object.entries(ctx.serializeExtra)) {
    const path = key.split('.')
    let node = out
    for (const p of path.slice(0, -1)) {
      if (typeof node[p] !== 'object' || node[p] === null) node[p] = {}
      node = node[p] as Record<string, unknown>
    }
    node[path[path.length - 1] as string] = value
  }
  return out
}
