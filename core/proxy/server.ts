// The proxy listener: match a route, build the upstream request the way Kong does, stream
// both bodies through undici, and answer failures with Kong's statuses and messages.

import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Dispatcher } from 'undici'
import type { Logger } from '../log.js'
import { SERVER_TOKEN } from '../meta.js'
import { encodeUpstreamPath, normalizePath, upstreamPath, type LiveRouter, type RouteMatch } from '../router/index.js'
import type { Service } from '../store/index.js'
import { STATUS_MESSAGES, errorBody, negotiate } from './errors.js'
import { Upstreams } from './upstreams.js'

export interface ProxyStats {
  connectionsAccepted: number
  connectionsActive: number
  totalRequests: number
}

export function newProxyStats (): ProxyStats {
  return { connectionsAccepted: 0, connectionsActive: 0, totalRequests: 0 }
}

export interface ProxyDeps {
  router: LiveRouter
  upstreams: Upstreams
  log: Logger
  stats?: ProxyStats
}

export interface ProxyServer {
  server: Server
  stats: ProxyStats
  /** Connections handed over to an upgraded protocol; the HTTP server no longer tracks them. */
  upgraded: Set<Duplex>
}

// RFC 9110 7.6.1 hop-by-hop fields, plus the non-standard ones nginx also drops.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade'])

const RETRYABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT'])
const TIMEOUTS = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT'])
const DNS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME'])

function requestId (): string {
  return randomUUID().replaceAll('-', '')
}

/** Names listed in a Connection header, which are hop-by-hop for this message too. */
function connectionTokens (value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined
  const list = (Array.isArray(value) ? value.join(',') : value).split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '')
  return list.length === 0 ? undefined : new Set(list)
}

function parseHost (header: string | undefined): { host: string, port: number | undefined } {
  if (header === undefined || header === '') return { host: '', port: undefined }
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(header)
  if (m === null) return { host: header.toLowerCase(), port: undefined }
  return { host: (m[1] as string).toLowerCase(), port: m[2] === undefined ? undefined : Number(m[2]) }
}

function hostHeader (service: Service): string {
  const host = service.host.includes(':') ? `[${service.host}]` : service.host
  const defaultPort = (service.port === 80 && (service.protocol === 'http' || service.protocol === 'grpc')) ||
    (service.port === 443 && (service.protocol === 'https' || service.protocol === 'grpcs'))
  return defaultPort ? host : `${host}:${service.port}`
}

interface Context {
  req: IncomingMessage
  res: ServerResponse
  id: string
  started: number
  /** Set once an upstream request was started; Kong's proxy latency ends there. */
  upstreamStarted?: number
}

export function createProxyServer (deps: ProxyDeps): ProxyServer {
  const stats = deps.stats ?? newProxyStats()
  const server = createServer()
  const upgraded = new Set<Duplex>()

  /** A response Tollgate makes itself (no route, 503, upstream errors). */
  const sendError = (ctx: Context, status: number, message: string, nginxLevel: boolean, extra?: Record<string, string>): void => {
    const { res, req } = ctx
    if (res.headersSent) { res.destroy(); return }
    const { body, contentType } = errorBody(negotiate(req, nginxLevel), message, ctx.id)
    const headers: Record<string, string | number> = {
      'Content-Type': contentType,
      'Content-Length': Buffer.byteLength(body),
      Server: SERVER_TOKEN,
      'X-Kong-Request-Id': ctx.id,
      ...extra,
    }
    if (ctx.upstreamStarted === undefined) headers['X-Kong-Response-Latency'] = Math.round(performance.now() - ctx.started)
    else {
      headers['X-Kong-Upstream-Latency'] = Math.round(performance.now() - ctx.upstreamStarted)
      headers['X-Kong-Proxy-Latency'] = Math.round(ctx.upstreamStarted - ctx.started)
    }
    res.writeHead(status, headers)
    res.end(req.method === 'HEAD' ? undefined : body)
  }

  /** Matches the request; answers it itself and returns undefined when it cannot be proxied. */
  const route = (ctx: Context, rawPath: string): RouteMatch | undefined => {
    const { req } = ctx
    const { host, port } = parseHost(req.headers.host)
    const match = deps.router.get().match({
      method: req.method ?? 'GET',
      host,
      port: port ?? req.socket.localPort ?? 0,
      path: normalizePath(rawPath),
      headers: req.headersDistinct,
    })
    if (match === undefined) { sendError(ctx, 404, 'no Route matched with those values', false); return undefined }
    // Kong: protocols are not part of matching; an https-only route refuses plain http after it.
    const protocols = match.route.protocols
    if (protocols.includes('https') && !protocols.includes('http')) {
      const code = match.route.https_redirect_status_code
      if (code === 426) {
        sendError(ctx, 426, 'Please use HTTPS protocol', false, { Connection: 'Upgrade', Upgrade: 'TLS/1.2, HTTP/1.1' })
      } else {
        ctx.res.writeHead(code, { Location: `https://${req.headers.host ?? ''}${req.url ?? '/'}`, 'Content-Length': 0, Server: SERVER_TOKEN, 'X-Kong-Request-Id': ctx.id })
        ctx.res.end()
      }
      return undefined
    }
    if (match.service === null) { sendError(ctx, 503, 'no Service found with those values', false); return undefined }
    return match
  }

  /** Method, path and headers of the upstream request (Kong §5.5). */
  const upstreamRequest = (ctx: Context, match: RouteMatch, rawPath: string, rawQuery: string | undefined) => {
    const { req } = ctx
    const service = match.service as Service
    const route = match.route
    const normalized = normalizePath(rawPath)
    const strip = route.strip_path && match.byPath
    let path = encodeUpstreamPath(upstreamPath(service.path ?? '/', normalized, strip ? match.matchedPath : '/', strip))
    if (rawQuery !== undefined) path += `?${rawQuery}`

    const connection = connectionTokens(req.headers.connection)
    const headers: Record<string, string | string[]> = {}
    const raw = req.rawHeaders
    for (let i = 0; i < raw.length; i += 2) {
      const name = (raw[i] as string).toLowerCase()
      if (HOP_BY_HOP.has(name) || name === 'host' || connection?.has(name) === true) continue
      const value = raw[i + 1] as string
      const prev = headers[name]
      headers[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value]
    }
    const clientIp = req.socket.remoteAddress ?? ''
    const { host } = parseHost(req.headers.host)
    headers.host = route.preserve_host && req.headers.host !== undefined ? req.headers.host : hostHeader(service)
    const xff = req.headers['x-forwarded-for']
    headers['x-forwarded-for'] = xff === undefined ? clientIp : `${xff}, ${clientIp}`
    headers['x-forwarded-proto'] = 'http'
    headers['x-forwarded-host'] = host
    headers['x-forwarded-port'] = String(req.socket.localPort ?? '')
    headers['x-forwarded-path'] = rawPath
    if (strip && match.matchedPath !== '/') headers['x-forwarded-prefix'] = match.matchedPath
    else delete headers['x-forwarded-prefix']
    headers['x-real-ip'] = clientIp
    const via = `${req.httpVersion} ${SERVER_TOKEN}`
    headers.via = req.headers.via === undefined ? via : `${req.headers.via}, ${via}`
    headers['x-kong-request-id'] = ctx.id
    return { path, headers, service }
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    stats.totalRequests++
    const ctx: Context = { req, res, id: requestId(), started: performance.now() }
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    const rawPath = q === -1 ? url : url.slice(0, q)
    const rawQuery = q === -1 ? undefined : url.slice(q + 1)
    if (!rawPath.startsWith('/')) { sendError(ctx, 400, STATUS_MESSAGES[400] as string, true); return }
    if (req.method === 'TRACE') { sendError(ctx, 405, STATUS_MESSAGES[405] as string, true); return }
    const match = route(ctx, rawPath)
    if (match === undefined) { req.resume(); return }
    const { path, headers, service } = upstreamRequest(ctx, match, rawPath, rawQuery)
    const hasBody = req.headers['content-length'] !== undefined
      ? req.headers['content-length'] !== '0'
      : req.headers['transfer-encoding'] !== undefined
    forward(ctx, service, {
      method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
      path,
      headers,
      body: hasBody ? req : null,
      headersTimeout: service.read_timeout,
      bodyTimeout: service.read_timeout,
    }, hasBody ? 0 : service.retries)
  })

  const forward = (ctx: Context, service: Service, opts: Dispatcher.DispatchOptions, retriesLeft: number): void => {
    const { req, res } = ctx
    ctx.upstreamStarted ??= performance.now()
    let controller: Dispatcher.DispatchController | undefined
    let responded = false
    const onClose = (): void => {
      // The client went away: release the upstream request and its connection.
      if (!res.writableFinished) controller?.abort(new Error('client closed the connection'))
    }
    res.once('close', onClose)
    deps.upstreams.pool(service).dispatch(opts, {
      onRequestStart (c) { controller = c },
      onResponseStart (c, statusCode, upstreamHeaders) {
        if (statusCode < 200) return // 1xx: node answers 100-continue itself
        responded = true
        const out: Record<string, string | string[] | number> = {}
        const connection = connectionTokens(upstreamHeaders.connection)
        for (const [name, value] of Object.entries(upstreamHeaders)) {
          if (value === undefined || HOP_BY_HOP.has(name) || connection?.has(name) === true) continue
          out[name] = value
        }
        const via = `${req.httpVersion} ${SERVER_TOKEN}`
        out.via = upstreamHeaders.via === undefined ? via : `${upstreamHeaders.via as string}, ${via}`
        if (out.server === undefined) out.server = SERVER_TOKEN
        const now = performance.now()
        out['x-kong-upstream-latency'] = Math.round(now - (ctx.upstreamStarted as number))
        out['x-kong-proxy-latency'] = Math.round((ctx.upstreamStarted as number) - ctx.started)
        out['x-kong-request-id'] = ctx.id
        res.writeHead(statusCode, out)
        if (req.method === 'HEAD' || statusCode === 204 || statusCode === 304) return
        res.on('drain', () => { if (c.paused) c.resume() })
      },
      onResponseData (c, chunk) {
        if (!res.write(chunk)) c.pause()
      },
      onResponseEnd () {
        res.off('close', onClose)
        res.end()
      },
      onResponseError (_c, err) {
        res.off('close', onClose)
        if (res.destroyed || req.destroyed) return
        const code = (err as NodeJS.ErrnoException).code ?? ''
        if (!responded && retriesLeft > 0 && RETRYABLE.has(code)) {
          forward(ctx, service, opts, retriesLeft - 1)
          return
        }
        if (responded || res.headersSent) { res.destroy(err); return }
        deps.log.debug({ err, upstream: `${service.host}:${service.port}` }, 'upstream request failed')
        if (TIMEOUTS.has(code)) sendError(ctx, 504, STATUS_MESSAGES[504] as string, true)
        else if (DNS.has(code)) sendError(ctx, 503, 'name resolution failed', false)
        else sendError(ctx, 502, STATUS_MESSAGES[502] as string, true)
      },
    })
  }

  // WebSocket (and other) upgrades: same route and upstream request, then bytes both ways.
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    stats.totalRequests++
    const res = new UpgradeResponse(socket)
    const ctx: Context = { req, res: res as unknown as ServerResponse, id: requestId(), started: performance.now() }
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    const rawPath = q === -1 ? url : url.slice(0, q)
    const match = route(ctx, rawPath)
    if (match === undefined) return
    const { path, headers, service } = upstreamRequest(ctx, match, rawPath, q === -1 ? undefined : url.slice(q + 1))
    // undici writes Connection and Upgrade itself from the `upgrade` option.
    ctx.upstreamStarted = performance.now()
    socket.on('error', () => socket.destroy())
    deps.upstreams.pool(service).dispatch({ method: 'GET', path, headers, upgrade: req.headers.upgrade ?? 'websocket', headersTimeout: service.read_timeout }, {
      onRequestStart () {},
      onRequestUpgrade (_c, statusCode, upstreamHeaders, upstream) {
        const lines = [`HTTP/1.1 ${statusCode} Switching Protocols`]
        for (const [name, value] of Object.entries(upstreamHeaders)) {
          for (const v of Array.isArray(value) ? value : [value]) if (v !== undefined) lines.push(`${name}: ${v}`)
        }
        lines.push(`x-kong-request-id: ${ctx.id}`)
        socket.write(`${lines.join('\r\n')}\r\n\r\n`)
        if (head.length > 0) upstream.write(head)
        upstream.on('error', () => socket.destroy())
        upgraded.add(socket)
        socket.on('close', () => { upgraded.delete(socket); upstream.destroy() })
        upstream.on('close', () => socket.destroy())
        upstream.pipe(socket)
        socket.pipe(upstream)
      },
      onResponseStart () {},
      onResponseData () {},
      onResponseEnd () { socket.destroy() },
      onResponseError (_c, err) {
        const code = (err as NodeJS.ErrnoException).code ?? ''
        if (TIMEOUTS.has(code)) sendError(ctx, 504, STATUS_MESSAGES[504] as string, true)
        else sendError(ctx, 502, STATUS_MESSAGES[502] as string, true)
      },
    })
  })

  server.on('connection', (socket) => {
    stats.connectionsAccepted++
    stats.connectionsActive++
    socket.once('close', () => { stats.connectionsActive-- })
  })
  return { server, stats, upgraded }
}

/** Enough of a ServerResponse to answer an upgrade request with an error on its raw socket. */
class UpgradeResponse {
  headersSent = false
  destroyed = false
  writableFinished = false
  readonly #socket: Duplex
  constructor (socket: Duplex) { this.#socket = socket }
  writeHead (status: number, headers: Record<string, string | number>): void {
    this.headersSent = true
    const lines = [`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), 'Connection: close']
    this.#socket.write(`${lines.join('\r\n')}\r\n\r\n`)
  }

  end (body?: string): void {
    this.writableFinished = true
    this.#socket.end(body)
  }

  destroy (): void { this.destroyed = true; this.#socket.destroy() }
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed', 426: 'Upgrade Required', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
}

export { Upstreams }
