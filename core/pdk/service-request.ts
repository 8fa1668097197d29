// kong.service.request: what will be sent upstream (Kong's kong/pdk/service/request.lua).

import { encodeUpstreamPath } from '../router/index.js'
import { encodeQuery, setUpstreamHeader, queryEntries, type HeaderOp, type RequestContext, type UpstreamRequest } from '../runtime/context.js'
import { REWRITE_ACCESS } from '../runtime/phases.js'
import { FORM, JSON_TYPE, MULTIPART, encodeBody, mediaType } from './body.js'
import { argString, check, first, headerName, headerValue } from './private/checks.js'

const HTTP_METHODS = new Set(['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'MKCOL', 'COPY', 'MOVE', 'PROPFIND', 'PROPPATCH', 'LOCK', 'UNLOCK', 'PATCH', 'TRACE', 'CONNECT'])

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
