// The `kong` object handed to plugin handlers: Kong's PDK with camelCase names. One is made
// per plugin per request; its namespaces are created on first use. Every function checks
// the phase it is called in (see ../runtime/phases.ts) and names the allowed ones if wrong.

import { format } from 'node:util'
import type { Logger } from '../log.js'
import { encodeUpstreamPath } from '../router/index.js'
import { encodeQuery, setUpstreamHeader, queryEntries, type HeaderOp, type Headers, type RequestContext, type UpstreamRequest } from '../runtime/context.js'
import {
  AFTER_ACCESS, ALL, BEFORE_HEADERS, Phase, PhaseError, RESPONSE, REWRITE_ACCESS,
} from '../runtime/phases.js'
import type { EntityCache } from '../runtime/entity-cache.js'
import type { Consumer, Route, Service } from '../store/index.js'
import type { Entity } from '../store/store.js'
import { isUuid } from '../store/schema.js'
import { FORM, JSON_TYPE, MULTIPART, encodeBody, mediaType, parseBody, type ParsedBody } from './body.js'
import { errorBody, negotiate } from '../proxy/errors.js'

/** What the PDK needs from the gateway, shared by all requests. */
export interface PdkEnv {
  /** Cached entity reads (see runtime/entity-cache.ts). */
  db: EntityCache
  log: Logger
  nodeId: string
}

function check (ctx: RequestContext, allowed: number, fn: string): void {
  if ((ctx.phase & allowed) === 0) throw new PhaseError(fn, ctx.phase, allowed)
}

/** Kong's default messages for kong.response.error. */
const ERROR_MESSAGES: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  409: 'Conflict',
  413: 'Payload too large',
  415: 'Unsupported media type',
  426: 'Upgrade required',
  429: 'Too many requests',
  500: 'An unexpected error occurred',
  501: 'Not implemented',
  502: 'An invalid response was received from the upstream server',
  503: 'The upstream server is currently unavailable',
  504: 'The upstream server is timing out',
}

const HTTP_METHODS = new Set(['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'MKCOL', 'COPY', 'MOVE', 'PROPFIND', 'PROPPATCH', 'LOCK', 'UNLOCK', 'PATCH', 'TRACE', 'CONNECT'])

function first (v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v
}

function argString (name: string, value: unknown, fn: string): string {
  if (typeof value !== 'string') throw new TypeError(`${fn}: ${name} must be a string`)
  return value
}

// Plugins pass header names as literals ('X-Consumer-ID') on every request. toLowerCase
// makes a new string each time, and a new string used as a property key is first looked
// up in V8's string table; remembering the lower-case, internalized form skips both.
const LOWER = new Map<string, string>()
const LOWER_MAX = 1024

/** `name` in lower case, the same string object for the same input. */
export function lowerName (name: string): string {
  let lower = LOWER.get(name)
  if (lower === undefined) {
    // A property key is internalized; reading it back gives the table's copy.
    lower = Object.keys({ [name.toLowerCase()]: 0 })[0] as string
    if (LOWER.size >= LOWER_MAX) LOWER.clear()
    LOWER.set(name, lower)
  }
  return lower
}

function headerName (name: unknown, fn: string): string {
  if (typeof name !== 'string') throw new TypeError(`${fn}: name must be a string`)
  return lowerName(name)
}

function headerValue (value: unknown, fn: string): string | string[] {
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[]
  throw new TypeError(`${fn}: invalid header value (a string, number, boolean or array of strings)`)
}

export class KongRequest {
  readonly #ctx: RequestContext
  constructor (ctx: RequestContext) { this.#ctx = ctx }

  /** @phases all */
  getScheme (): string { check(this.#ctx, ALL, 'kong.request.getScheme'); return 'http' }
  getHost (): string {
    check(this.#ctx, ALL, 'kong.request.getHost')
    const host = this.#ctx.req.headers.host ?? ''
    return host.replace(/:\d+$/, '').toLowerCase()
  }

  getPort (): number { check(this.#ctx, ALL, 'kong.request.getPort'); return this.#ctx.localPort }
  // Forwarded values come from trusted proxies only; Tollgate trusts none yet (Kong's default).
  getForwardedScheme (): string { check(this.#ctx, ALL, 'kong.request.getForwardedScheme'); return this.getScheme() }
  getForwardedHost (): string { check(this.#ctx, ALL, 'kong.request.getForwardedHost'); return this.getHost() }
  getForwardedPort (): number { check(this.#ctx, ALL, 'kong.request.getForwardedPort'); return this.getPort() }
  getForwardedPath (): string { check(this.#ctx, ALL, 'kong.request.getForwardedPath'); return this.#ctx.rawPath }
  getForwardedPrefix (): string | undefined {
    check(this.#ctx, ALL, 'kong.request.getForwardedPrefix')
    const m = this.#ctx.match
    return m !== undefined && m.byPath && m.route.strip_path && m.matchedPath !== '/' ? m.matchedPath : undefined
  }

  getHttpVersion (): number {
    check(this.#ctx, ALL, 'kong.request.getHttpVersion')
    return Number(this.#ctx.req.httpVersion)
  }

  getMethod (): string { check(this.#ctx, ALL, 'kong.request.getMethod'); return this.#ctx.req.method ?? 'GET' }
  /** The normalized path (decoded unreserved escapes, no dot segments, merged slashes). */
  getPath (): string { check(this.#ctx, ALL, 'kong.request.getPath'); return this.#ctx.normalizedPath }
  getRawPath (): string { check(this.#ctx, ALL, 'kong.request.getRawPath'); return this.#ctx.rawPath }
  getPathWithQuery (): string {
    check(this.#ctx, ALL, 'kong.request.getPathWithQuery')
    return this.#ctx.rawQuery === undefined ? this.#ctx.rawPath : `${this.#ctx.rawPath}?${this.#ctx.rawQuery}`
  }

  getRawQuery (): string { check(this.#ctx, ALL, 'kong.request.getRawQuery'); return this.#ctx.rawQuery ?? '' }
  /** The first value of a query argument; `true` when present without a value. */
  getQueryArg (name: string): string | true | undefined {
    check(this.#ctx, ALL, 'kong.request.getQueryArg')
    const v = this.#ctx.query[argString('name', name, 'kong.request.getQueryArg')]
    return Array.isArray(v) ? v[0] : v
  }

  /** The parsed query; a new object per call, as in Kong. */
  getQuery (): Record<string, string | true | (string | true)[]> {
    check(this.#ctx, ALL, 'kong.request.getQuery')
    return this.#ctx.copyQuery()
  }

  /** First value of a header; case-insensitive, and `_` in the name also finds `-`. */
  getHeader (name: string): string | undefined {
    check(this.#ctx, ALL, 'kong.request.getHeader')
    const key = headerName(name, 'kong.request.getHeader')
    const h = this.#ctx.headers
    return first(h[key] ?? (key.includes('_') ? h[key.replaceAll('_', '-')] : undefined))
  }

  /** Every header, lower-case names; a repeated header is an array. A new object per call, as in Kong. */
  getHeaders (): Record<string, string | string[]> {
    check(this.#ctx, ALL, 'kong.request.getHeaders')
    return this.#ctx.copyHeaders()
  }

  #body (fn: string): Buffer {
    const body = this.#ctx.body
    if (body === undefined) {
      throw new Error(`${fn}: the request body was not read; set 'readsBody' in the plugin descriptor to have it buffered before access`)
    }
    return body
  }

  /** @phases rewrite, access */
  getRawBody (): Buffer {
    check(this.#ctx, REWRITE_ACCESS, 'kong.request.getRawBody')
    return this.#body('kong.request.getRawBody')
  }

  /**
   * The body parsed by its Content-Type (or `mime`): form, JSON or multipart.
   * @returns [body, error, mime] as Kong's get_body
   */
  getBody (mime?: string): [ParsedBody | undefined, string | undefined, string | undefined] {
    check(this.#ctx, REWRITE_ACCESS, 'kong.request.getBody')
    const r = parseBody(this.#body('kong.request.getBody'), this.#ctx.req.headers['content-type'], mime)
    return [r.body, r.error, r.mime]
  }

  getStartTime (): number { check(this.#ctx, ALL, 'kong.request.getStartTime'); return this.#ctx.startedAt }

  getUriCaptures (): { unnamed: string[], named: Record<string, string> } {
    check(this.#ctx, ALL, 'kong.request.getUriCaptures')
    const m = this.#ctx.match
    return { unnamed: m?.byPath === true && m.captures !== undefined ? [m.matchedPath] : [], named: { ...m?.captures } }
  }
}

export class KongResponse {
  readonly #ctx: RequestContext
  constructor (ctx: RequestContext) { this.#ctx = ctx }

  getStatus (): number { check(this.#ctx, RESPONSE, 'kong.response.getStatus'); return this.#ctx.status }
  getHeader (name: string): string | undefined {
    check(this.#ctx, RESPONSE, 'kong.response.getHeader')
    return first(this.#ctx.responseHeaders[headerName(name, 'kong.response.getHeader')])
  }

  getHeaders (): Headers { check(this.#ctx, RESPONSE, 'kong.response.getHeaders'); return { ...this.#ctx.responseHeaders } }
  /** 'service' when proxied, 'exit' when a plugin answered, 'error' after an error. */
  getSource (): string { check(this.#ctx, RESPONSE, 'kong.response.getSource'); return this.#ctx.source }

  #headersOpen (fn: string): void {
    check(this.#ctx, BEFORE_HEADERS, fn)
    if (this.#ctx.res.headersSent) throw new Error(`${fn}: headers have already been sent`)
  }

  setStatus (status: number): void {
    this.#headersOpen('kong.response.setStatus')
    if (!Number.isInteger(status) || status < 100 || status > 599) throw new TypeError('kong.response.setStatus: code must be an integer between 100 and 599')
    this.#ctx.status = status
    if (this.#ctx.exit !== undefined) this.#ctx.exit.status = status
  }

  setHeader (name: string, value: unknown): void {
    this.#headersOpen('kong.response.setHeader')
    const headers = this.#target()
    headers[headerName(name, 'kong.response.setHeader')] = headerValue(value, 'kong.response.setHeader')
  }

  addHeader (name: string, value: unknown): void {
    this.#headersOpen('kong.response.addHeader')
    const headers = this.#target()
    const key = headerName(name, 'kong.response.addHeader')
    const v = headerValue(value, 'kong.response.addHeader')
    const prev = headers[key]
    headers[key] = prev === undefined ? v : [...(Array.isArray(prev) ? prev : [prev]), ...(Array.isArray(v) ? v : [v])]
  }

  clearHeader (name: string): void {
    this.#headersOpen('kong.response.clearHeader')
    const headers = this.#target()
    const key = headerName(name, 'kong.response.clearHeader')
    if (headers[key] !== undefined) delete headers[key]
  }

  setHeaders (headers: Record<string, unknown>): void {
    this.#headersOpen('kong.response.setHeaders')
    for (const [k, v] of Object.entries(headers)) this.setHeader(k, v)
  }

  // Before the response exists (rewrite/access) header changes wait in a pending set that
  // is merged into whatever response is sent; afterwards they change it directly.
  #target (): Headers {
    const ctx = this.#ctx
    if (ctx.phase === Phase.header_filter) return ctx.responseHeaders
    if (ctx.exit !== undefined) return ctx.exit.headers
    return ctx.responseHeaders
  }

  /** @phases body_filter, log — the whole body; body_filter plugins make Tollgate buffer it. */
  getRawBody (): Buffer | undefined {
    check(this.#ctx, Phase.body_filter | Phase.log, 'kong.response.getRawBody')
    return this.#ctx.responseBody
  }

  setRawBody (body: string | Buffer): void {
    check(this.#ctx, Phase.body_filter, 'kong.response.setRawBody')
    if (typeof body !== 'string' && !Buffer.isBuffer(body)) throw new TypeError('kong.response.setRawBody: body must be a string or a Buffer')
    this.#ctx.responseBody = Buffer.from(body)
    this.#ctx.responseBodyReplaced = true
  }

  /**
   * Answers the request instead of proxying it. In access, the remaining access handlers
   * are skipped; later phases still run. Use as `return kong.response.exit(...)`.
   * @phases rewrite, access, header_filter (without a body)
   */
  exit (status: number, body?: unknown, headers?: Record<string, unknown>): void {
    check(this.#ctx, BEFORE_HEADERS, 'kong.response.exit')
    if (!Number.isInteger(status) || status < 100 || status > 599) throw new TypeError('kong.response.exit: code must be an integer between 100 and 599')
    if (this.#ctx.phase === Phase.header_filter && body !== undefined) throw new Error('kong.response.exit: a body cannot be set in header_filter')
    const out: Headers = {}
    for (const [k, v] of Object.entries(headers ?? {})) out[lowerName(k)] = headerValue(v, 'kong.response.exit')
    let raw: Buffer | string | undefined
    if (body === undefined || body === null) raw = undefined
    else if (typeof body === 'string' || Buffer.isBuffer(body)) raw = body
    else {
      raw = JSON.stringify(body)
      out['content-type'] ??= 'application/json; charset=utf-8'
    }
    this.#ctx.exit = { status, body: raw, headers: { ...this.#ctx.responseHeaders, ...out } }
    this.#ctx.source = 'exit'
    this.#ctx.status = status
  }

  /** Answers with Kong's error format (JSON, text, HTML or XML by Accept). */
  error (status: number, message?: string, headers?: Record<string, unknown>): void {
    check(this.#ctx, BEFORE_HEADERS, 'kong.response.error')
    if (!Number.isInteger(status) || status < 400 || status > 599) throw new TypeError('kong.response.error: code must be an integer between 400 and 599')
    const explicit = Object.entries(headers ?? {}).find(([k]) => k.toLowerCase() === 'content-type')?.[1]
    const type = explicit !== undefined ? (mediaType(String(explicit)) === 'application/json' ? 'json' : negotiateFrom(String(explicit))) : negotiate(this.#ctx.req, false)
    const msg = message ?? ERROR_MESSAGES[status] ?? `The upstream server responded with ${status}`
    const { body, contentType } = errorBody(type, msg, this.#ctx.id)
    this.exit(status, body, { ...headers, 'content-type': explicit ?? contentType })
  }
}

function negotiateFrom (contentType: string): 'json' | 'text' | 'html' | 'xml' {
  const m = mediaType(contentType) ?? ''
  if (m === 'text/plain') return 'text'
  if (m === 'text/html') return 'html'
  if (m.endsWith('xml')) return 'xml'
  return 'json'
}

export class KongClient {
  readonly #ctx: RequestContext
  readonly #env: PdkEnv
  constructor (ctx: RequestContext, env: PdkEnv) { this.#ctx = ctx; this.#env = env }

  getIp (): string { check(this.#ctx, ALL, 'kong.client.getIp'); return this.#ctx.clientIp }
  getForwardedIp (): string { check(this.#ctx, ALL, 'kong.client.getForwardedIp'); return this.getIp() }
  getPort (): number { check(this.#ctx, ALL, 'kong.client.getPort'); return this.#ctx.clientPort }
  getForwardedPort (): number { check(this.#ctx, ALL, 'kong.client.getForwardedPort'); return this.getPort() }
  getProtocol (): string {
    check(this.#ctx, AFTER_ACCESS, 'kong.client.getProtocol')
    if (this.#ctx.route === undefined) throw new Error('kong.client.getProtocol: No active route found')
    return 'http'
  }

  getConsumer (): Consumer | undefined { check(this.#ctx, AFTER_ACCESS, 'kong.client.getConsumer'); return this.#ctx.consumer }
  getCredential (): Entity | undefined { check(this.#ctx, AFTER_ACCESS, 'kong.client.getCredential'); return this.#ctx.credential }

  /** Sets who this request is; consumer-scoped plugin configs apply from the next plugin on. */
  authenticate (consumer: Consumer | undefined | null, credential?: Entity | null): void {
    check(this.#ctx, Phase.access, 'kong.client.authenticate')
    if ((consumer === undefined || consumer === null) && (credential === undefined || credential === null)) {
      throw new TypeError('kong.client.authenticate: either credential or consumer must be provided')
    }
    this.#ctx.consumer = consumer ?? undefined
    this.#ctx.credential = credential ?? undefined
  }

  /** Loads a consumer by id, or by username when `byUsername` (also when the id finds none). */
  loadConsumer (idOrUsername: string, byUsername = false): Consumer | undefined {
    check(this.#ctx, AFTER_ACCESS, 'kong.client.loadConsumer')
    argString('consumer_id', idOrUsername, 'kong.client.loadConsumer')
    if (!isUuid(idOrUsername) && !byUsername) throw new TypeError('kong.client.loadConsumer: cannot load a consumer with an id that is not a uuid')
    const db = this.#env.db
    const found = isUuid(idOrUsername) ? db.get('consumers', idOrUsername) : undefined
    return (found ?? (byUsername ? db.find('consumers', { username: idOrUsername }) : undefined)) as Consumer | undefined
  }
}

export class KongServiceRequest {
  readonly #ctx: RequestContext
  constructor (ctx: RequestContext) { this.#ctx = ctx }

  #up (fn: string, allowed = REWRITE_ACCESS) {
    check(this.#ctx, allowed, fn)
    const up = this.#ctx.upstream
    if (up === undefined) throw new Error(`${fn}: there is no upstream request (no route matched yet)`)
    return up
  }

  setScheme (scheme: 'http' | 'https'): void {
    if (scheme !== 'http' && scheme !== 'https') throw new TypeError("kong.service.request.setScheme: scheme must be 'http' or 'https'")
    this.#up('kong.service.request.setScheme').scheme = scheme
  }

  setPath (path: string): void {
    if (typeof path !== 'string' || !path.startsWith('/')) throw new TypeError("kong.service.request.setPath: path must start with '/'")
    this.#up('kong.service.request.setPath').path = encodeUpstreamPath(path)
  }

  setRawQuery (query: string): void {
    this.#up('kong.service.request.setRawQuery').query = argString('query', query, 'kong.service.request.setRawQuery')
  }

  /** Replaces the query; names are sorted, values url-encoded, as Kong does. */
  setQuery (args: Record<string, string | true | (string | true)[]>): void {
    const up = this.#up('kong.service.request.setQuery')
    const entries: [string, string | true][] = []
    for (const k of Object.keys(args).sort()) {
      const v = args[k] as string | true | (string | true)[]
      for (const x of Array.isArray(v) ? v : [v]) entries.push([k, x])
    }
    up.query = encodeQuery(entries)
  }

  /** Removes every occurrence of a query argument; the others keep their order. */
  clearQueryArg (name: string): void {
    const up = this.#up('kong.service.request.clearQueryArg')
    if (up.query === undefined) return
    const entries = queryEntries(up.query)
    if (!entries.some(([k]) => k === name)) return
    up.query = encodeQuery(entries.filter(([k]) => k !== name))
  }

  setMethod (method: string): void {
    if (typeof method !== 'string' || !HTTP_METHODS.has(method)) throw new TypeError(`kong.service.request.setMethod: invalid method: ${String(method)}`)
    this.#up('kong.service.request.setMethod').method = method
  }

  setHeader (name: string, value: unknown): void {
    const up = this.#up('kong.service.request.setHeader')
    this.#header(up, 'set', headerName(name, 'kong.service.request.setHeader'), headerValue(value, 'kong.service.request.setHeader'))
  }

  addHeader (name: string, value: unknown): void {
    const up = this.#up('kong.service.request.addHeader')
    this.#header(up, 'add', headerName(name, 'kong.service.request.addHeader'), headerValue(value, 'kong.service.request.addHeader'))
  }

  clearHeader (name: string): void {
    const up = this.#up('kong.service.request.clearHeader')
    this.#header(up, 'del', headerName(name, 'kong.service.request.clearHeader'))
  }

  /** Every upstream header change goes through here, and into the context's log when it keeps one. */
  #header (up: UpstreamRequest, op: HeaderOp[0], name: string, value?: string | string[]): void {
    setUpstreamHeader(up.headers, op, name, value)
    // The log exists only in isolation workers; in-process this costs one check.
    this.#ctx.upstreamHeaderOps?.push((value === undefined ? [op, name] : [op, name, value]) as HeaderOp)
  }

  setHeaders (headers: Record<string, unknown>): void {
    for (const [k, v] of Object.entries(headers)) this.setHeader(k, v)
  }

  setRawBody (body: string | Buffer): void {
    const up = this.#up('kong.service.request.setRawBody')
    if (typeof body !== 'string' && !Buffer.isBuffer(body)) throw new TypeError('kong.service.request.setRawBody: body must be a string or a Buffer')
    up.body = Buffer.from(body)
  }

  /** Encodes `body` as `mime` (or the request's Content-Type) and sets it, with its Content-Type. */
  setBody (body: Record<string, unknown> | unknown[], mime?: string): void {
    const up = this.#up('kong.service.request.setBody')
    const current = first(up.headers['content-type'])
    const type = mime ?? mediaType(current)
    if (type === undefined) throw new Error('kong.service.request.setBody: missing content type')
    if (type !== FORM && type !== JSON_TYPE && type !== MULTIPART) throw new Error(`kong.service.request.setBody: unsupported content type '${type}'`)
    const { raw, contentType } = encodeBody(body, type, mediaType(current) === type ? current : undefined)
    up.body = raw
    this.#header(up, 'set', 'content-type', contentType)
  }
}

export class KongServiceResponse {
  readonly #ctx: RequestContext
  constructor (ctx: RequestContext) { this.#ctx = ctx }
  getStatus (): number | undefined { check(this.#ctx, RESPONSE, 'kong.service.response.getStatus'); return this.#ctx.serviceStatus }
  getHeaders (): Headers { check(this.#ctx, RESPONSE, 'kong.service.response.getHeaders'); return { ...this.#ctx.serviceHeaders } }
  getHeader (name: string): string | undefined {
    check(this.#ctx, RESPONSE, 'kong.service.response.getHeader')
    return first(this.#ctx.serviceHeaders?.[headerName(name, 'kong.service.response.getHeader')])
  }

  getRawBody (): Buffer | undefined {
    check(this.#ctx, Phase.body_filter | Phase.log, 'kong.service.response.getRawBody')
    return this.#ctx.source === 'service' ? this.#ctx.responseBody : undefined
  }
}

export interface KongLog {
  (...args: unknown[]): void
  debug(...args: unknown[]): void
  info(...args: unknown[]): void
  notice(...args: unknown[]): void
  warn(...args: unknown[]): void
  err(...args: unknown[]): void
  crit(...args: unknown[]): void
  alert(...args: unknown[]): void
  emerg(...args: unknown[]): void
  /** Adds a field to what serialize() returns (dotted keys reach nested fields). */
  setSerializeValue(key: string, value: unknown): void
  /** The request summary loggers send (kong.log.serialize). @phases log */
  serialize(): Record<string, unknown>
}

function makeLog (ctx: RequestContext, env: PdkEnv, plugin: string): KongLog {
  const logger = env.log
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
    check(ctx, ALL, 'kong.log.setSerializeValue')
    ctx.serializeExtra[key] = value
  }
  log.serialize = () => {
    check(ctx, Phase.log, 'kong.log.serialize')
    return serialize(ctx)
  }
  return log
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
    response: { status: ctx.status, headers: { ...ctx.responseHeaders }, size: ctx.res.getHeader('content-length') ?? undefined },
    latencies: {
      kong: Math.round((ctx.upstreamStarted ?? now) - ctx.started),
      proxy: ctx.upstreamStarted === undefined || ctx.upstreamResponded === undefined ? undefined : Math.round(ctx.upstreamResponded - ctx.upstreamStarted),
      request: Math.round(now - ctx.started),
    },
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

export interface KongDb {
  /** An entity by id, or undefined (expired rows included in undefined). */
  get(entity: string, id: string): Entity | undefined
  /** An entity by a unique field, e.g. `find('keyauth_credentials', { key })`. */
  find(entity: string, key: Record<string, string>): Entity | undefined
}

class KongDbView implements KongDb {
  readonly #ctx: RequestContext
  readonly #db: EntityCache
  constructor (ctx: RequestContext, db: EntityCache) { this.#ctx = ctx; this.#db = db }
  get (entity: string, id: string): Entity | undefined { check(this.#ctx, ALL, 'kong.db.get'); return this.#db.get(entity, id) }
  find (entity: string, key: Record<string, string>): Entity | undefined { check(this.#ctx, ALL, 'kong.db.find'); return this.#db.find(entity, key) }
}

/** The `kong` object one plugin sees during one request. */
export class Kong {
  readonly #ctx: RequestContext
  readonly #env: PdkEnv
  readonly #plugin: string
  #request?: KongRequest
  #response?: KongResponse
  #client?: KongClient
  #service?: { request: KongServiceRequest, response: KongServiceResponse }
  #log?: KongLog
  #db?: KongDb
  #ctxApi?: { shared: Record<string, unknown>, plugin: Record<string, unknown> }

  constructor (ctx: RequestContext, env: PdkEnv, plugin: string) {
    this.#ctx = ctx
    this.#env = env
    this.#plugin = plugin
  }

  get request (): KongRequest { return (this.#request ??= new KongRequest(this.#ctx)) }
  get response (): KongResponse { return (this.#response ??= new KongResponse(this.#ctx)) }
  get client (): KongClient { return (this.#client ??= new KongClient(this.#ctx, this.#env)) }
  get service (): { request: KongServiceRequest, response: KongServiceResponse } {
    return (this.#service ??= { request: new KongServiceRequest(this.#ctx), response: new KongServiceResponse(this.#ctx) })
  }

  get log (): KongLog { return (this.#log ??= makeLog(this.#ctx, this.#env, this.#plugin)) }

  get ctx (): { shared: Record<string, unknown>, plugin: Record<string, unknown> } {
    if (this.#ctxApi === undefined) {
      let own = this.#ctx.pluginCtx.get(this.#plugin)
      if (own === undefined) this.#ctx.pluginCtx.set(this.#plugin, own = {})
      this.#ctxApi = { shared: this.#ctx.shared, plugin: own }
    }
    return this.#ctxApi
  }

  get router (): { getRoute: () => Route | undefined, getService: () => Service | undefined } {
    const ctx = this.#ctx
    return {
      getRoute: () => { check(ctx, AFTER_ACCESS, 'kong.router.getRoute'); return ctx.route },
      getService: () => { check(ctx, AFTER_ACCESS, 'kong.router.getService'); return ctx.service },
    }
  }

  /**
   * Read access to stored entities, e.g. a plugin's own credentials. Reads are cached
   * until the next write, so a change is seen by the next request; Kong's plugins use
   * kong.db behind kong.cache for the same.
   */
  get db (): KongDb { return (this.#db ??= new KongDbView(this.#ctx, this.#env.db)) }

  get node (): { getId: () => string } {
    return { getId: () => this.#env.nodeId }
  }
}

