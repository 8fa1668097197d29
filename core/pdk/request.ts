// kong.request: the client's request as it arrived, read-only (Kong's kong/pdk/request.lua).

import type { RequestContext } from '../runtime/context.js'
import { ALL, REWRITE_ACCESS } from '../runtime/phases.js'
import { parseBody, type ParsedBody } from './body.js'
import { argString, check, first, headerName } from './private/checks.js'

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
