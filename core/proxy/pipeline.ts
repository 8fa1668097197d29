// One request through Kong's phases (kong/init.lua): rewrite (global plugins) -> route ->
// access (plugins collected by precedence) -> upstream or a short-circuit response ->
// header_filter -> body_filter -> log. header_filter, body_filter and log of the collected
// plugins run on every response, proxied, short-circuited or failed.

import type { IncomingMessage } from 'node:http'
import { PassThrough } from 'node:stream'
import type { Dispatcher } from 'undici'
import { KEYS, type KongHeader } from '../config/keys.js'
import type { Logger } from '../log.js'
import { SERVER_TOKEN } from '../meta.js'
import { Kong, type PdkEnv } from '../pdk/index.js'
import { encodeUpstreamPath, normalizePath, upstreamPath, type LiveRouter } from '../router/index.js'
import { RequestContext, type Headers } from '../runtime/context.js'
import { Phase } from '../runtime/phases.js'
import { HANDLER_BIT, HANDLER_PHASE, readsBody, type AnyPlugin, type HandlerName } from '../runtime/plugin.js'
import { PluginSet, runs, type Collected, type LivePlugins, type Plan } from '../runtime/plugins.js'
import type { Service } from '../store/index.js'
import { STATUS_MESSAGES, errorBody, negotiate } from './errors.js'
import type { Upstreams } from './upstreams.js'
import type { IsolationPool } from '../isolation/pool.js'

// RFC 9110 7.6.1 hop-by-hop fields, plus the non-standard ones nginx also drops.
export const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade'])
const RETRYABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT'])
const WRITE_TIMEOUT = 'TOLLGATE_WRITE_TIMEOUT'
const TIMEOUTS = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT', WRITE_TIMEOUT])
const DNS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME'])
const MAX_BUFFERED_BODY = 64 * 1024 * 1024

/** Which of Kong's own headers to add (kong.conf `headers` and `headers_upstream`). */
export interface HeaderSettings {
  response: readonly KongHeader[]
  upstream: readonly string[]
}

const DEFAULT_HEADERS: HeaderSettings = { response: KEYS.headers.parse(KEYS.headers.default), upstream: KEYS.headers_upstream.parse(KEYS.headers_upstream.default) }

/** The settings as flags, read on every request. */
function headerFlags (h: HeaderSettings) {
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

export interface PipelineDeps {
  /** Kong's own headers to add; Kong's defaults when left out. */
  headers?: HeaderSettings
  /** Runs the handlers of isolated plugins. */
  isolation?: IsolationPool
  /** Kong's allow_debug_header. */
  debugHeader?: boolean
  router: LiveRouter
  plugins: LivePlugins
  upstreams: Upstreams
  env: PdkEnv
  log: Logger
}

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
function viaToken (httpVersion: string): string {
  return httpVersion === '1.1' ? VIA_11 : `${httpVersion} ${SERVER_TOKEN}`
}

function isThenable<T> (v: T | Promise<T>): v is Promise<T> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function'
}

export class Pipeline {
  readonly #deps: PipelineDeps
  readonly #h: ReturnType<typeof headerFlags>

  constructor (deps: PipelineDeps) {
    this.#deps = deps
    this.#h = headerFlags(deps.headers ?? DEFAULT_HEADERS)
  }

  /** Whether responses carry X-Kong-Request-Id (the WebSocket path writes its own heads). */
  get sendsRequestId (): boolean { return this.#h.requestId }

  /** Runs `handler` of each plugin in `list`; awaits only handlers that return a promise. */
  #run (ctx: RequestContext, list: Collected[], handler: HandlerName, stopOnExit: boolean, from = 0): void | Promise<void> {
    ctx.phase = HANDLER_BIT[handler]
    for (let i = from; i < list.length; i++) {
      if (stopOnExit && ctx.exit !== undefined) return
      const item = list[i] as Collected
      if (!runs(item, handler)) continue
      const { plugin, instance } = item
      const result = this.#invoke(ctx, plugin, handler, instance.config)
      if (isThenable(result)) return result.then(() => this.#run(ctx, list, handler, stopOnExit, i + 1))
    }
  }

  /** Calls one handler, in this thread or, for an isolated plugin, in the pool. */
  #invoke (ctx: RequestContext, plugin: AnyPlugin, handler: HandlerName, conf: Record<string, unknown>): unknown {
    if (plugin.isolated === true && this.#deps.isolation !== undefined) return this.#deps.isolation.run(ctx, plugin, handler, conf)
    return (plugin[handler] as NonNullable<AnyPlugin[HandlerName]>)(new Kong(ctx, this.#deps.env, plugin.name), conf)
  }

  /** Runs a phase that must not break the response; a failing handler is logged. */
  async #runSafely (ctx: RequestContext, list: Collected[], handler: HandlerName): Promise<void> {
    for (const item of list) {
      if (!runs(item, handler)) continue
      try {
        await this.#run(ctx, [item], handler, false)
      } catch (err) {
        this.#deps.log.error({ err, plugin: item.plugin.name, phase: HANDLER_PHASE[handler], request_id: ctx.id }, `plugin ${item.plugin.name} failed in ${HANDLER_PHASE[handler]}`)
      }
    }
  }

  /**
   * rewrite, routing and access: what every request goes through before it is proxied.
   * Returns the collected plugins; `ctx.exit` is set when the request is answered here.
   * Stays synchronous unless a handler (or reading the body) is asynchronous.
   */
  gate (ctx: RequestContext): Collected[] | Promise<Collected[]> {
    const plugins = this.#deps.plugins.get()
    if (plugins.rewrite.length === 0) return this.#routeAndAccess(ctx, plugins)
    // rewrite: global plugins only, before routing.
    let r: void | Promise<void> = undefined
    try {
      r = this.#run(ctx, plugins.rewrite.map((p) => ({ plugin: p.plugin, instance: p.global as Collected['instance'] })), 'rewrite', true)
    } catch (err) {
      this.#fail(ctx, err, 'rewrite')
    }
    const next = (): Collected[] | Promise<Collected[]> => ctx.exit === undefined ? this.#routeAndAccess(ctx, plugins) : plugins.globals
    return isThenable(r) ? r.then(next, (err: unknown) => { this.#fail(ctx, err, 'rewrite'); return plugins.globals }) : next()
  }

  #routeAndAccess (ctx: RequestContext, plugins: PluginSet): Collected[] | Promise<Collected[]> {
    if (!this.#route(ctx)) return plugins.globals
    const collected: Collected[] = []
    const done = (): Collected[] => {
      if (ctx.exit === undefined && ctx.service === undefined) this.#error(ctx, 503, 'no Service found with those values', false)
      return collected
    }
    if (plugins.active.length === 0) return done()
    const r = this.#access(ctx, plugins, collected)
    return isThenable(r) ? r.then(done, (err: unknown) => { this.#fail(ctx, err, 'access'); return done() }) : done()
  }

  handle (ctx: RequestContext): void | Promise<void> {
    const collected = this.gate(ctx)
    if (isThenable(collected)) return collected.then((c) => this.#dispatch(ctx, c))
    return this.#dispatch(ctx, collected)
  }

  #dispatch (ctx: RequestContext, collected: Collected[]): void | Promise<void> {
    if (ctx.exit === undefined) {
      this.#forward(ctx, collected, (ctx.service as Service).retries)
      return
    }
    ctx.req.resume()
    return this.#respondExit(ctx, collected)
  }

  /** Answers with Kong's error body (a Tollgate-made response, source 'exit'). */
  #error (ctx: RequestContext, status: number, message: string, nginxLevel: boolean, headers: Headers = {}): void {
    const { body, contentType } = errorBody(negotiate(ctx.req, nginxLevel), message, ctx.id)
    ctx.exit = { status, body, headers: { ...ctx.responseHeaders, 'content-type': contentType, ...headers } }
    ctx.status = status
    if (ctx.source === 'service') ctx.source = 'exit'
  }

  #fail (ctx: RequestContext, err: unknown, phase: string, plugin?: string): void {
    this.#deps.log.error({ err, phase, plugin, request_id: ctx.id }, plugin === undefined ? `error in ${phase}` : `plugin ${plugin} failed in ${phase}`)
    ctx.exit = undefined
    this.#error(ctx, 500, STATUS_MESSAGES[500] as string, false)
    ctx.source = 'error'
  }

  /** Matches a route and prepares the upstream request; answers 404/426 itself. */
  #route (ctx: RequestContext): boolean {
    const { req } = ctx
    if (!ctx.rawPath.startsWith('/')) { this.#error(ctx, 400, STATUS_MESSAGES[400] as string, true); return false }
    if (req.method === 'TRACE') { this.#error(ctx, 405, STATUS_MESSAGES[405] as string, true); return false }
    const { host, port } = parseHost(req.headers.host)
    ctx.normalizedPath = normalizePath(ctx.rawPath)
    const match = this.#deps.router.get().match({
      method: req.method ?? 'GET',
      host,
      port: port ?? ctx.localPort,
      path: ctx.normalizedPath,
      headers: () => req.headersDistinct,
    })
    if (match === undefined) { this.#error(ctx, 404, 'no Route matched with those values', false); return false }
    const protocols = match.route.protocols
    if (protocols.includes('https') && !protocols.includes('http')) {
      const code = match.route.https_redirect_status_code
      if (code === 426) this.#error(ctx, 426, 'Please use HTTPS protocol', false, { connection: 'Upgrade', upgrade: 'TLS/1.2, HTTP/1.1' })
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

  /** Method, path and headers of the upstream request (Kong §5.5). */
  #upstreamRequest (ctx: RequestContext, service: Service, host: string): RequestContext['upstream'] {
    const { req } = ctx
    const match = ctx.match as NonNullable<RequestContext['match']>
    const route = match.route
    const strip = route.strip_path && match.byPath
    const path = encodeUpstreamPath(upstreamPath(service.path ?? '/', ctx.normalizedPath, strip ? match.matchedPath : '/', strip))
    const reqHeaders = req.headers
    const connection = connectionTokens(reqHeaders.connection)
    const headers: Headers = {}
    for (const name in reqHeaders) {
      if (HOP_BY_HOP.has(name) || name === 'host' || connection?.has(name) === true) continue
      headers[name] = reqHeaders[name] as string | string[]
    }
    const clientIp = ctx.clientIp
    headers.host = route.preserve_host && req.headers.host !== undefined ? req.headers.host : hostHeader(service)
    const xff = req.headers['x-forwarded-for']
    headers['x-forwarded-for'] = xff === undefined ? clientIp : `${xff}, ${clientIp}`
    headers['x-forwarded-proto'] = 'http'
    headers['x-forwarded-host'] = host
    headers['x-forwarded-port'] = String(ctx.localPort)
    headers['x-forwarded-path'] = ctx.rawPath
    if (strip && match.matchedPath !== '/') headers['x-forwarded-prefix'] = match.matchedPath
    else if (headers['x-forwarded-prefix'] !== undefined) delete headers['x-forwarded-prefix']
    headers['x-real-ip'] = clientIp
    const via = viaToken(req.httpVersion)
    headers.via = req.headers.via === undefined ? via : `${req.headers.via}, ${via}`
    if (this.#h.upstreamRequestId) headers['x-kong-request-id'] = ctx.id
    return { scheme: service.protocol === 'https' ? 'https' : 'http', method: req.method ?? 'GET', path, query: ctx.rawQuery, headers, body: undefined }
  }

  /** The access phase: picks each plugin's config (the consumer may change as it goes). */
  #access (ctx: RequestContext, plugins: PluginSet, collected: Collected[]): void | Promise<void> {
    const routeId = ctx.route?.id ?? ''
    const serviceId = ctx.service?.id ?? ''
    // Buffer the body first if any config that could apply here reads it.
    for (const lp of plugins.active) {
      if (lp.plugin.readsBody === undefined || lp.plugin.readsBody === false) continue
      for (const inst of lp.instances.values()) {
        if ((inst.route === '' || inst.route === routeId) && (inst.service === '' || inst.service === serviceId) && readsBody(lp.plugin, inst.config)) {
          return readBody(ctx).then((body) => {
            ctx.body = body
            return this.#accessFrom(ctx, plugins, collected, 0, routeId, serviceId)
          })
        }
      }
    }
    return this.#accessFrom(ctx, plugins, collected, 0, routeId, serviceId)
  }

  #accessFrom (ctx: RequestContext, plugins: PluginSet, collected: Collected[], from: number, routeId: string, serviceId: string): void | Promise<void> {
    const plan = plugins.plan(routeId, serviceId)
    for (let i = from; i < plan.length; i++) {
      const p = plan[i] as Plan
      const instance = PluginSet.choose(p, routeId, serviceId, ctx.consumer?.id ?? '')
      if (instance === undefined) continue
      const plugin = p.lp.plugin
      collected.push({ plugin, instance })
      // After a short-circuit or an error the remaining configs are still collected, not run.
      if (ctx.exit !== undefined || !runs({ plugin, instance }, 'access')) continue
      ctx.phase = Phase.access
      let r: unknown
      try {
        r = this.#invoke(ctx, plugin, 'access', instance.config)
      } catch (err) {
        this.#fail(ctx, err, 'access', plugin.name)
        continue
      }
      if (isThenable(r)) {
        return r.then(
          () => this.#accessFrom(ctx, plugins, collected, i + 1, routeId, serviceId),
          (err: unknown) => { this.#fail(ctx, err, 'access', plugin.name); return this.#accessFrom(ctx, plugins, collected, i + 1, routeId, serviceId) })
      }
    }
  }

  /**
   * Sends a response Tollgate or a plugin made (short-circuit, error, a failed upstream)
   * after the collected plugins' header_filter and body_filter. `log` is false when the
   * log phase is already arranged (the upstream was tried).
   */
  async #respondExit (ctx: RequestContext, collected: Collected[], log = true): Promise<void> {
    const exit = ctx.exit as NonNullable<RequestContext['exit']>
    ctx.status = exit.status
    ctx.responseHeaders = exit.headers
    await this.#runSafely(ctx, collected, 'headerFilter')
    let body: Buffer | undefined = exit.body === undefined ? undefined : Buffer.from(exit.body)
    if (collected.some((c) => runs(c, 'bodyFilter'))) {
      ctx.responseBody = body ?? Buffer.alloc(0)
      await this.#runSafely(ctx, collected, 'bodyFilter')
      body = ctx.responseBody
    }
    const headers: Headers = { ...ctx.responseHeaders }
    headers['content-length'] = String(body?.length ?? 0)
    const h = this.#h
    if (h.server) headers.server ??= SERVER_TOKEN
    else if (headers.server !== undefined) delete headers.server
    if (h.requestId) headers['x-kong-request-id'] = ctx.id
    // After an upstream failure Kong reports upstream and proxy latency instead.
    if (ctx.upstreamResponded !== undefined) this.#proxiedLatency(ctx, headers)
    else if (h.responseLatency) headers['x-kong-response-latency'] = String(Math.round(performance.now() - ctx.started))
    if (this.#deps.debugHeader === true && ctx.req.headers['kong-debug'] === '1') addDebugHeaders(ctx, headers)
    if (log) this.#logAfter(ctx, collected)
    if (ctx.res.destroyed) return
    ctx.res.writeHead(ctx.status, headers)
    ctx.res.end(ctx.req.method === 'HEAD' ? undefined : body)
  }

  /** Kong's latency headers for a request that reached the upstream, as configured. */
  #proxiedLatency (ctx: RequestContext, out: Headers): void {
    if (this.#h.upstreamLatency) out['x-kong-upstream-latency'] = String(Math.round((ctx.upstreamResponded as number) - (ctx.upstreamStarted as number)))
    if (this.#h.proxyLatency) out['x-kong-proxy-latency'] = String(Math.round((ctx.upstreamStarted as number) - ctx.started))
  }

  #logAfter (ctx: RequestContext, collected: Collected[]): void {
    if (!collected.some((c) => runs(c, 'log'))) return
    ctx.res.once('close', () => {
      // Off the response path: the client has its answer before loggers run.
      setImmediate(() => { this.#runSafely(ctx, collected, 'log').catch(() => {}) })
    })
  }

  #forward (ctx: RequestContext, collected: Collected[], retriesLeft: number): void {
    const { req, res } = ctx
    const service = ctx.service as Service
    const up = ctx.upstream as NonNullable<RequestContext['upstream']>
    ctx.upstreamStarted ??= performance.now()
    const buffering = collected.some((c) => runs(c, 'bodyFilter'))
    const hasHeaderFilter = collected.some((c) => runs(c, 'headerFilter'))
    let body: Dispatcher.DispatchOptions['body'] = null
    if (up.body !== undefined) {
      body = up.body
      up.headers['content-length'] = String(up.body.length)
      delete up.headers['transfer-encoding']
    } else if (ctx.body !== undefined) {
      body = ctx.body
    } else if (req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined) {
      body = upload(req, service.write_timeout, (err) => controller?.abort(err))
    }
    const replayable = body === null || Buffer.isBuffer(body)
    let controller: Dispatcher.DispatchController | undefined
    let responded = false
    const chunks: Buffer[] = []
    let size = 0
    const onClose = (): void => {
      if (!res.writableFinished) controller?.abort(new Error('client closed the connection'))
    }
    // on, not once: once wraps the listener in a new object per request. The listener is
    // removed when the response ends; after a close nothing else happens on `res`.
    res.on('close', onClose)
    this.#logAfter(ctx, retriesLeft === service.retries ? collected : [])
    const h = this.#h
    const headOut = (): Headers => {
      const out = ctx.responseHeaders
      this.#proxiedLatency(ctx, out)
      if (h.requestId) out['x-kong-request-id'] = ctx.id
      return out
    }
    const self = this
    const path = up.query === undefined ? up.path : `${up.path}?${up.query}`
    this.#deps.upstreams.pool(service).dispatch({
      method: up.method as Dispatcher.HttpMethod,
      path,
      headers: up.headers,
      body,
      headersTimeout: service.read_timeout,
      bodyTimeout: service.read_timeout,
    }, {
      onRequestStart (c) { controller = c },
      onResponseStart (c, statusCode, upstreamHeaders) {
        if (statusCode < 200) return // 1xx: node answers 100-continue itself
        responded = true
        ctx.upstreamResponded = performance.now()
        // Upstream headers, then Kong's, then what plugins set during access.
        const out: Headers = {}
        const connection = connectionTokens(upstreamHeaders.connection)
        for (const name in upstreamHeaders) {
          const value = upstreamHeaders[name]
          if (value === undefined || HOP_BY_HOP.has(name) || connection?.has(name) === true) continue
          out[name] = value
        }
        ctx.serviceStatus = statusCode
        ctx.upstreamHeaders = upstreamHeaders as Headers
        ctx.status = statusCode
        const pending = ctx.responseHeaders
        if (h.via) {
          const via = viaToken(req.httpVersion)
          out.via = upstreamHeaders.via === undefined ? via : `${upstreamHeaders.via as string}, ${via}`
        }
        if (out.server === undefined && h.server) out.server = SERVER_TOKEN
        if (h.upstreamStatus) out['x-kong-upstream-status'] = String(statusCode)
        for (const k in pending) out[k] = pending[k] as string | string[]
        if (self.#deps.debugHeader === true && req.headers['kong-debug'] === '1') addDebugHeaders(ctx, out)
        ctx.responseHeaders = out
        const writeHead = (): void => {
          if (buffering) return // the head waits for body_filter, which may change the length
          res.writeHead(ctx.status, headOut())
        }
        if (!hasHeaderFilter) { writeHead(); return }
        c.pause()
        self.#runSafely(ctx, collected, 'headerFilter').then(() => {
          if (res.destroyed) return
          writeHead()
          c.resume()
        }, () => {})
      },
      onResponseData (c, chunk) {
        if (buffering) {
          size += chunk.length
          if (size > MAX_BUFFERED_BODY) { c.abort(new Error('response body too large to buffer for body_filter')); return }
          chunks.push(chunk)
          return
        }
        // Backpressure: a client slower than the upstream pauses it until drained.
        if (!res.write(chunk)) {
          c.pause()
          res.once('drain', () => { if (c.paused) c.resume() })
        }
      },
      onResponseEnd () {
        res.removeListener('close', onClose)
        if (!buffering) { res.end(); return }
        ctx.responseBody = Buffer.concat(chunks)
        self.#runSafely(ctx, collected, 'bodyFilter').then(() => {
          if (res.destroyed) return
          const out = headOut()
          delete out['transfer-encoding']
          const bodyOut = ctx.responseBody ?? Buffer.alloc(0)
          if (req.method !== 'HEAD') out['content-length'] = String(bodyOut.length)
          res.writeHead(ctx.status, out)
          res.end(req.method === 'HEAD' ? undefined : bodyOut)
        }, () => {})
      },
      onResponseError (_c, err) {
        res.removeListener('close', onClose)
        if (res.destroyed || req.destroyed) return
        const code = (err as NodeJS.ErrnoException).code ?? ''
        if (!responded && retriesLeft > 0 && replayable && RETRYABLE.has(code)) {
          self.#forward(ctx, collected, retriesLeft - 1)
          return
        }
        if (responded || res.headersSent) { res.destroy(err); return }
        // The rest of an unsent body is not read: the connection closes after the answer,
        // as nginx closes it.
        if (!req.complete) res.shouldKeepAlive = false
        self.#deps.log.debug({ err, upstream: `${service.host}:${service.port}` }, 'upstream request failed')
        ctx.upstreamResponded = performance.now()
        ctx.responseHeaders = {}
        if (TIMEOUTS.has(code)) self.#error(ctx, 504, STATUS_MESSAGES[504] as string, true)
        else if (DNS.has(code)) self.#error(ctx, 503, 'name resolution failed', false)
        else self.#error(ctx, 502, STATUS_MESSAGES[502] as string, true)
        ctx.source = 'error'
        self.#respondExit(ctx, collected, false).catch(() => {})
      },
    })
  }
}

/** Kong's debug headers (allow_debug_header), plus which worker process answered. */
function addDebugHeaders (ctx: RequestContext, out: Headers): void {
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

/**
 * The client body on its way upstream. undici reads it through this stream, so that when
 * the upstream request fails undici destroys this, not the client's request, which can
 * still be answered 502 or 504. undici pauses the stream while the upstream's socket is
 * full: paused for longer than the service's write_timeout, the upstream request fails as
 * a timeout (Kong: nginx's proxy_send_timeout, 504).
 */
function upload (req: IncomingMessage, writeTimeoutMs: number, abort: (err: Error) => void): PassThrough {
  const pass = new PassThrough()
  let timer: NodeJS.Timeout | undefined
  const stop = (): void => { if (timer !== undefined) { clearTimeout(timer); timer = undefined } }
  pass.on('pause', () => {
    stop()
    timer = setTimeout(() => {
      abort(Object.assign(new Error(`the upstream took no request body for ${writeTimeoutMs} ms (write_timeout)`), { code: WRITE_TIMEOUT }))
    }, writeTimeoutMs)
  })
  pass.on('resume', stop)
  pass.on('close', stop)
  // undici listens for errors only while it writes the body; the client going away before
  // that (the upstream still connecting) must not be an unhandled 'error'.
  pass.on('error', () => {})
  // A client that goes away mid-body ends the upstream request too.
  req.on('close', () => { if (!req.complete) pass.destroy(new Error('client closed the connection')) })
  req.pipe(pass)
  return pass
}

/** Reads the whole client body (for plugins that read it), bounded. */
function readBody (ctx: RequestContext): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    ctx.req.on('data', (c: Buffer) => {
      size += c.length
      if (size > MAX_BUFFERED_BODY) { ctx.req.destroy(); reject(new Error('request body too large to buffer')); return }
      chunks.push(c)
    })
    ctx.req.once('end', () => resolve(Buffer.concat(chunks)))
    ctx.req.once('error', reject)
  })
}

