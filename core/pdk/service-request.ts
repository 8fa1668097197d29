// kong.service.request: what will be sent upstream (Kong's kong/pdk/service/request.lua).

import { encodeUpstreamPath } from '../router/index.js'
import { toBytes } from '../router/normalize.js'
import { encodeQuery, queryEntries, type HeaderOp, type RequestContext, type UpstreamRequest } from '../runtime/context.js'
import { FORM, JSON_TYPE, MULTIPART, encodeBody, mediaType } from './body.js'
import { argString, check, first, headerName, headerNameToSet, headerValue } from './private/checks.js'
import { PHASES, type PhaseRule } from './private/phases.js'

const P = PHASES.serviceRequest

const HTTP_METHODS = new Set(['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'MKCOL', 'COPY', 'MOVE', 'PROPFIND', 'PROPPATCH', 'LOCK', 'UNLOCK', 'PATCH', 'TRACE', 'CONNECT'])

const UTF8 = new TextDecoder('utf-8', { fatal: true })

/**
 * setPath's argument as the byte string (one char per byte) encodeUpstreamPath escapes.
 * Kong escapes the bytes of a Lua string (kong.service.request.set_path sets
 * ngx.var.upstream_uri to the escaped path), so a UTF-8 path goes out as its UTF-8 bytes,
 * %C3%A9 for 'é'. A plugin may give either text (a JS string: 'é' is U+00E9, which must not
 * go out as the single byte %E9) or the byte string that kong.request.getPath and the
 * router's captures hand out (the bytes C3 A9 as two chars), which must go out as it is. A
 * string with a char above U+00FF is text; one whose chars read as bytes are valid UTF-8 is
 * taken as bytes; anything else is text. (Text made only of chars U+0080-U+00FF that happen
 * to spell valid UTF-8, such as 'Ã©', is the one case read the other way.)
 */
function pathBytes (path: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(path)) return path
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\xff]*$/.test(path)) {
    try {
      UTF8.decode(Buffer.from(path, 'latin1'))
      return path
    } catch {}
  }
  return toBytes(path)
}

export class KongServiceRequest {
  readonly #ctx: RequestContext
  constructor (ctx: RequestContext) { this.#ctx = ctx }

  #up (rule: PhaseRule) {
    check(this.#ctx, rule)
    const up = this.#ctx.upstream
    if (up === undefined) throw new Error(`${rule.fn}: there is no upstream request (no route matched yet)`)
    return up
  }

  /** @phases rewrite, access */
  setScheme (scheme: 'http' | 'https'): void {
    if (scheme !== 'http' && scheme !== 'https') throw new TypeError("kong.service.request.setScheme: scheme must be 'http' or 'https'")
    this.#up(P.setScheme).scheme = scheme
  }

  /** @phases rewrite, access */
  setPath (path: string): void {
    if (typeof path !== 'string' || !path.startsWith('/')) throw new TypeError("kong.service.request.setPath: path must start with '/'")
    this.#up(P.setPath).path = encodeUpstreamPath(pathBytes(path))
  }

  /** @phases rewrite, access */
  setRawQuery (query: string): void {
    const q = argString('query', query, P.setRawQuery.fn)
    // Sent as it is: a space or a control character would break the request line.
    if (/[\x00-\x20\x7f]/.test(q)) throw new TypeError(`${P.setRawQuery.fn}: invalid query ${JSON.stringify(q.slice(0, 60))} (spaces and control characters must be percent-encoded)`)
    this.#up(P.setRawQuery).query = q
  }

  /**
   * Replaces the query; names are sorted, values url-encoded, as Kong does.
   * @phases rewrite, access
   */
  setQuery (args: Record<string, string | true | (string | true)[]>): void {
    const up = this.#up(P.setQuery)
    const entries: [string, string | true][] = []
    for (const k of Object.keys(args).sort()) {
      const v = args[k] as string | true | (string | true)[]
      for (const x of Array.isArray(v) ? v : [v]) entries.push([k, x])
    }
    up.query = encodeQuery(entries)
  }

  /**
   * Removes every occurrence of a query argument; the others keep their order.
   * @phases rewrite, access
   */
  clearQueryArg (name: string): void {
    const up = this.#up(P.clearQueryArg)
    if (up.query === undefined) return
    const entries = queryEntries(up.query)
    if (!entries.some(([k]) => k === name)) return
    up.query = encodeQuery(entries.filter(([k]) => k !== name))
  }

  /** @phases rewrite, access */
  setMethod (method: string): void {
    if (typeof method !== 'string' || !HTTP_METHODS.has(method)) throw new TypeError(`kong.service.request.setMethod: invalid method: ${String(method)}`)
    this.#up(P.setMethod).method = method
  }

  /** @phases rewrite, access */
  setHeader (name: string, value: unknown): void {
    const up = this.#up(P.setHeader)
    this.#header(up, 'set', headerNameToSet(name, P.setHeader.fn), headerValue(value, P.setHeader.fn))
  }

  /** @phases rewrite, access */
  addHeader (name: string, value: unknown): void {
    const up = this.#up(P.addHeader)
    this.#header(up, 'add', headerNameToSet(name, P.addHeader.fn), headerValue(value, P.addHeader.fn))
  }

  /** @phases rewrite, access */
  clearHeader (name: string): void {
    const up = this.#up(P.clearHeader)
    this.#header(up, 'del', headerName(name, P.clearHeader.fn))
  }

  /** Every upstream header change goes through the context (an isolation worker's records it). */
  #header (up: UpstreamRequest, op: HeaderOp[0], name: string, value?: string | string[]): void {
    this.#ctx.changeUpstreamHeader(up, op, name, value)
  }

  /** @phases rewrite, access */
  setHeaders (headers: Record<string, unknown>): void {
    // Checked here too, as Kong's set_headers is: an empty table is still a call in the wrong phase.
    check(this.#ctx, P.setHeaders)
    for (const [k, v] of Object.entries(headers)) this.setHeader(k, v)
  }

  /** @phases rewrite, access */
  setRawBody (body: string | Buffer): void {
    const up = this.#up(P.setRawBody)
    if (typeof body !== 'string' && !Buffer.isBuffer(body)) throw new TypeError('kong.service.request.setRawBody: body must be a string or a Buffer')
    up.body = Buffer.from(body)
  }

  /**
   * Encodes `body` as `mime` (or the request's Content-Type) and sets it, with its Content-Type.
   * @phases rewrite, access
   */
  setBody (body: Record<string, unknown> | unknown[], mime?: string): void {
    const up = this.#up(P.setBody)
    const current = first(up.headers['content-type'])
    const type = mime ?? mediaType(current)
    if (type === undefined) throw new Error('kong.service.request.setBody: missing content type')
    if (type !== FORM && type !== JSON_TYPE && type !== MULTIPART) throw new Error(`kong.service.request.setBody: unsupported content type '${type}'`)
    const { raw, contentType } = encodeBody(body, type, mediaType(current) === type ? current : undefined)
    up.body = raw
    this.#header(up, 'set', 'content-type', contentType)
  }
}
