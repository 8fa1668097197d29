// kong.request: the client's request as it arrived, read-only (Kong's kong/pdk/request.lua).

import type { RequestContext } from '../runtime/context.js'
import { parseBody, type ParsedBody } from './body.js'
import { argString, check, first, headerName } from './private/checks.js'
import { PHASES } from './private/phases.js'

const P = PHASES.request

export class KongRequest {
  readonly #ctx: RequestContext
  constructor (ctx: RequestContext) { this.#ctx = ctx }

  /** @phases rewrite, access, header_filter, body_filter, log */
  getScheme (): string { check(this.#ctx, P.getScheme); return this.#ctx.scheme }
  /** @phases rewrite, access, header_filter, body_filter, log */
  getHost (): string {
    check(this.#ctx, P.getHost)
    const host = this.#ctx.req.headers.host ?? ''
    return host.replace(/:\d+$/, '').toLowerCase()
  }

  /** @phases rewrite, access, header_filter, body_filter, log */
  getPort (): number { check(this.#ctx, P.getPort); return this.#ctx.localPort }
  // Forwarded values come from trusted proxies only; Tollgate trusts none yet (Kong's default).

  /** @phases rewrite, access, header_filter, body_filter, log */
  getForwardedScheme (): string { check(this.#ctx, P.getForwardedScheme); return this.getScheme() }
  /** @phases rewrite, access, header_filter, body_filter, log */
  getForwardedHost (): string { check(this.#ctx, P.getForwardedHost); return this.getHost() }
  /** @phases rewrite, access, header_filter, body_filter, log */
  getForwardedPort (): number { check(this.#ctx, P.getForwardedPort); return this.getPort() }
  /** @phases rewrite, access, header_filter, body_filter, log */
  getForwardedPath (): string { check(this.#ctx, P.getForwardedPath); return this.#ctx.rawPath }
  /** @phases rewrite, access, header_filter, body_filter, log */
  getForwardedPrefix (): string | undefined {
    check(this.#ctx, P.getForwardedPrefix)
    const m = this.#ctx.match
    return m !== undefined && m.byPath && m.route.strip_path && m.matchedPath !== '/' ? m.matchedPath : undefined
  }

  /** @phases rewrite, access, header_filter, body_filter, log */
  getHttpVersion (): number {
    check(this.#ctx, P.getHttpVersion)
    return Number(this.#ctx.req.httpVersion)
  }

  /** @phases rewrite, access, header_filter, body_filter, log */
  getMethod (): string { check(this.#ctx, P.getMethod); return this.#ctx.req.method ?? 'GET' }
  /**
   * The normalized path (decoded unreserved escapes, no dot segments, merged slashes).
   * @phases rewrite, access, header_filter, body_filter, log
   */
  getPath (): string { check(this.#ctx, P.getPath); return this.#ctx.normalizedPath }
  /** @phases rewrite, access, header_filter, body_filter, log */
  getRawPath (): string { check(this.#ctx, P.getRawPath); return this.#ctx.rawPath }
  /** @phases rewrite, access, header_filter, body_filter, log */
  getPathWithQuery (): string {
    check(this.#ctx, P.getPathWithQuery)
    return this.#ctx.rawQuery === undefined ? this.#ctx.rawPath : `${this.#ctx.rawPath}?${this.#ctx.rawQuery}`
  }

  /** @phases rewrite, access, header_filter, body_filter, log */
  getRawQuery (): string { check(this.#ctx, P.getRawQuery); return this.#ctx.rawQuery ?? '' }
  /**
   * The first value of a query argument; `true` when present without a value.
   * @phases rewrite, access, header_filter, body_filter, log
   */
  getQueryArg (name: string): string | true | undefined {
    check(this.#ctx, P.getQueryArg)
    const v = this.#ctx.query[argString('name', name, P.getQueryArg.fn)]
    return Array.isArray(v) ? v[0] : v
  }

  /**
   * The parsed query; a new object per call, as in Kong.
   * @phases rewrite, access, header_filter, body_filter, log
   */
  getQuery (): Record<string, string | true | (string | true)[]> {
    check(this.#ctx, P.getQuery)
    return this.#ctx.copyQuery()
  }

  /**
   * First value of a header; case-insensitive, and `_` in the name also finds `-`.
   * @phases rewrite, access, header_filter, body_filter, log
   */
  getHeader (name: string): string | undefined {
    check(this.#ctx, P.getHeader)
    const key = headerName(name, P.getHeader.fn)
    const h = this.#ctx.headers
    return first(h[key] ?? (key.includes('_') ? h[key.replaceAll('_', '-')] : undefined))
  }

  /**
   * Every header, lower-case names; a repeated header is an array. A new object per call, as in Kong.
   * @phases rewrite, access, header_filter, body_filter, log
   */
  getHeaders (): Record<string, string | string[]> {
    check(this.#ctx, P.getHeaders)
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
    check(this.#ctx, P.getRawBody)
    return this.#body(P.getRawBody.fn)
  }

  /**
   * The body parsed by its Content-Type (or `mime`): form, JSON or multipart.
   * @returns [body, error, mime] as Kong's get_body
   * @phases rewrite, access
   */
  getBody (mime?: string): [ParsedBody | undefined, string | undefined, string | undefined] {
    check(this.#ctx, P.getBody)
    const r = parseBody(this.#body(P.getBody.fn), this.#ctx.req.headers['content-type'], mime)
    return [r.body, r.error, r.mime]
  }

  /** @phases rewrite, access, header_filter, body_filter, log */
  getStartTime (): number { check(this.#ctx, P.getStartTime); return this.#ctx.startedAt }

  /** @phases rewrite, access, header_filter, body_filter, log */
  getUriCaptures (): { unnamed: string[], named: Record<string, string> } {
    check(this.#ctx, P.getUriCaptures)
    const m = this.#ctx.match
    return { unnamed: m?.byPath === true && m.captures !== undefined ? [m.matchedPath] : [], named: { ...m?.captures } }
  }
}
