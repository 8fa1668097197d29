// The route step (Kong's runloop access.before): match a route, then build the request the
// upstream gets: method, path (strip_path, the service's path), Kong's X-Forwarded-*,
// X-Real-IP and Via headers, hop-by-hop fields dropped.

import { SERVER_TOKEN } from '../meta.js'
import { encodeUpstreamPath, normalizePath, upstreamPath, type Router } from '../router/index.js'
import type { Headers, RequestContext, UpstreamRequest } from '../runtime/context.js'
import { errorExit } from '../runtime/exit.js'
import type { RouteStep } from '../runtime/phase-runner.js'
import type { Service } from '../store/index.js'
import { STATUS_MESSAGES } from '../http/errors.js'

// RFC 9110 7.6.1 hop-by-hop fields, plus the non-standard ones nginx also drops.
export const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade'])

/** Names listed in a Connection header, which are hop-by-hop for this message too. */
export function connectionTokens (value: string | string[] | undefined): Set<string> | undefined {
  // The usual values name nothing beyond the hop-by-hop fields already dropped.
  if (value === undefined || value === 'keep-alive' || value === 'close' || value === 'Keep-Alive') return undefined
  const list = (Array.isArray(value) ? value.join(',') : value).split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '')
  return list.length === 0 ? undefined : new Set(list)
}

export function parseHost (header: string | undefined): { host: string, port: number | undefined } {
  if (header === undefined || header === '') return { host: '', port: undefined }
  // The usual forms, `name` and `name:port`, without the regex below (a measurable part of
  // a request); anything else (IPv6 literals, odd ports) takes the general path.
  const colon = header.indexOf(':')
  if (colon === -1) return { host: header.toLowerCase(), port: undefined }
  if (colon > 0 && colon < header.length - 1 && colon > header.length - 7 && header.charCodeAt(0) !== 91) {
    let port = 0
    for (let i = colon + 1; i < header.length; i++) {
      const d = header.charCodeAt(i) - 48
      if (d < 0 || d > 9) { port = -1; break }
      port = port * 10 + d
    }
    if (port >= 0) return { host: header.slice(0, colon).toLowerCase(), port }
  }
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

const VIA_11 = `1.1 ${SERVER_TOKEN}`
/** Kong's Via value for the client's HTTP version; the usual one made once. */
export function viaToken (httpVersion: string): string {
  return httpVersion === '1.1' ? VIA_11 : `${httpVersion} ${SERVER_TOKEN}`
}

/**
 * Header values by name as the router reads them, after rewrite handlers changed the
 * headers (Kong routes on the request as rewrite left it). Values rewrite left alone keep
 * the client's repeats, which node's joined `headers` would hide.
 */
function routingHeaders (ctx: RequestContext, headers: Headers): Record<string, string[]> {
  const parsed = ctx.req.headers
  const distinct = ctx.req.headersDistinct
  const out: Record<string, string[]> = {}
  for (const name in headers) {
    const v = headers[name] as string | string[]
    out[name] = v === parsed[name] && distinct[name] !== undefined ? distinct[name] : Array.isArray(v) ? v : [v]
  }
  return out
}

/** The route step over the current router. */
export class Routing implements RouteStep {
  readonly #router: { get (): Router }
  readonly #requestId: boolean

  /** `upstreamRequestId`: whether the upstream gets X-Kong-Request-Id (kong.conf headers_upstream). */
  constructor (router: { get (): Router }, upstreamRequestId: boolean) {
    this.#router = router
    this.#requestId = upstreamRequestId
  }

  unrouted (ctx: RequestContext): UpstreamRequest {
    const req = ctx.req
    return { scheme: 'http', method: req.method ?? 'GET', path: ctx.rawPath, query: ctx.rawQuery, headers: { ...req.headers } as Headers, body: undefined }
  }

  /** Matches a route and prepares the upstream request; answers 400/404/405/426 itself. */
  route (ctx: RequestContext): boolean {
    const { req } = ctx
    if (!ctx.rawPath.startsWith('/')) { errorExit(ctx, 400, STATUS_MESSAGES[400] as string, true); return false }
    if (req.method === 'TRACE') { errorExit(ctx, 405, STATUS_MESSAGES[405] as string, true); return false }
    const { host, port } = parseHost(req.headers.host)
    ctx.normalizedPath = normalizePath(ctx.rawPath)
    const rewritten = ctx.upstream
    const match = this.#router.get().match({
      method: rewritten?.method ?? req.method ?? 'GET',
      host,
      port: port ?? ctx.localPort,
      path: ctx.normalizedPath,
      sni: ctx.scheme === 'https' ? ctx.sni ?? '' : undefined,
      headers: rewritten === undefined ? () => req.headersDistinct : () => routingHeaders(ctx, rewritten.headers),
    })
    if (match === undefined) { errorExit(ctx, 404, 'no Route matched with those values', false); return false }
    const protocols = match.route.protocols
    // Kong's access phase: an https-only route reached over plain HTTP.
    if (ctx.scheme !== 'https' && protocols.includes('https') && !protocols.includes('http')) {
      const code = match.route.https_redirect_status_code
      if (code === 426) errorExit(ctx, 426, 'Please use HTTPS protocol', false, { connection: 'Upgrade', upgrade: 'TLS/1.2, HTTP/1.1' })
      else ctx.exit = { status: code, body: undefined, headers: { location: `https://${req.headers.host ?? ''}${req.url ?? '/'}` } }
      ctx.status = code
      return false
    }
    ctx.match = match
    ctx.route = match.route
    ctx.service = match.service ?? undefined
    if (match.service !== null) ctx.upstream = this.#upstreamRequest(ctx, match.service, host)
    return true
  }

  /**
   * Method, path and headers of the upstream request (Kong §5.5). What rewrite handlers
   * changed is kept, except the path and scheme, which the route decides (Kong's router
   * sets upstream_uri and upstream_scheme after rewrite, too).
   */
  #upstreamRequest (ctx: RequestContext, service: Service, host: string): UpstreamRequest {
    const { req } = ctx
    const match = ctx.match as NonNullable<RequestContext['match']>
    const route = match.route
    const strip = route.strip_path && match.byPath
    const path = encodeUpstreamPath(upstreamPath(service.path ?? '/', ctx.normalizedPath, strip ? match.matchedPath : '/', strip))
    const rewritten = ctx.upstream
    const from = rewritten?.headers ?? req.headers
    const connection = connectionTokens(from.connection)
    const headers: Headers = {}
    for (const name in from) {
      // Expect: 100-continue is the gateway's to answer (Node sends the client its 100
      // Continue); the upstream gets the body at once, and undici refuses the header.
      if (HOP_BY_HOP.has(name) || name === 'host' || name === 'expect' || connection?.has(name) === true) continue
      headers[name] = from[name] as string | string[]
    }
    const clientIp = ctx.clientIp
    const clientHost = from.host as string | undefined
    headers.host = route.preserve_host && clientHost !== undefined ? clientHost : hostHeader(service)
    const xff = from['x-forwarded-for']
    headers['x-forwarded-for'] = xff === undefined ? clientIp : `${xff as string}, ${clientIp}`
    headers['x-forwarded-proto'] = ctx.scheme
    headers['x-forwarded-host'] = host
    headers['x-forwarded-port'] = String(ctx.localPort)
    headers['x-forwarded-path'] = ctx.rawPath
    if (strip && match.matchedPath !== '/') headers['x-forwarded-prefix'] = match.matchedPath
    else if (headers['x-forwarded-prefix'] !== undefined) delete headers['x-forwarded-prefix']
    headers['x-real-ip'] = clientIp
    const via = viaToken(req.httpVersion)
    headers.via = from.via === undefined ? via : `${from.via as string}, ${via}`
    if (this.#requestId) headers['x-kong-request-id'] = ctx.id
    return {
      scheme: service.protocol === 'https' ? 'https' : 'http',
      method: rewritten?.method ?? req.method ?? 'GET',
      path,
      query: rewritten === undefined ? ctx.rawQuery : rewritten.query,
      headers,
      body: rewritten?.body,
    }
  }
}
