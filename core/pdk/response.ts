// kong.response: the response the client will get (Kong's kong/pdk/response.lua).

import type { Headers, RequestContext } from '../runtime/context.js'
import { BEFORE_HEADERS, Phase, RESPONSE } from '../runtime/phases.js'
import { bodyTypeFor, errorBody, errorMessage, negotiate } from '../http/errors.js'
import { check, first, headerName, headerValue, lowerName } from './private/checks.js'

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
    const type = explicit !== undefined ? bodyTypeFor(String(explicit)) : negotiate(this.#ctx.req, false)
    const { body, contentType } = errorBody(type, message ?? errorMessage(status), this.#ctx.id)
    this.exit(status, body, { ...headers, 'content-type': explicit ?? contentType })
  }
}
