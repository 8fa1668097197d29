// kong.response: the response the client will get (Kong's kong/pdk/response.lua).

import { copyHeaders, type Headers, type RequestContext } from '../runtime/context.js'
import { Phase } from '../runtime/phases.js'
import { bodyTypeFor, errorBody, errorMessage, negotiate } from '../http/errors.js'
import { check, first, headerName, headerNameToSet, headerValue } from './private/checks.js'
import { PHASES, type PhaseRule } from './private/phases.js'

const P = PHASES.response

export class KongResponse {
  readonly #ctx: RequestContext
  constructor (ctx: RequestContext) { this.#ctx = ctx }

  /** @phases header_filter, body_filter, log */
  getStatus (): number { check(this.#ctx, P.getStatus); return this.#ctx.status }
  /** @phases header_filter, body_filter, log */
  getHeader (name: string): string | undefined {
    check(this.#ctx, P.getHeader)
    return first(this.#ctx.responseHeaders[headerName(name, P.getHeader.fn)])
  }

  /** @phases header_filter, body_filter, log */
  getHeaders (): Headers { check(this.#ctx, P.getHeaders); return copyHeaders(this.#ctx.responseHeaders) }
  /**
   * 'service' when proxied, 'exit' when a plugin answered, 'error' after an error.
   * @phases header_filter, body_filter, log
   */
  getSource (): string { check(this.#ctx, P.getSource); return this.#ctx.source }

  #headersOpen (rule: PhaseRule): void {
    check(this.#ctx, rule)
    if (this.#ctx.res.headersSent) throw new Error(`${rule.fn}: headers have already been sent`)
  }

  /** @phases rewrite, access, header_filter */
  setStatus (status: number): void {
    this.#headersOpen(P.setStatus)
    if (!Number.isInteger(status) || status < 100 || status > 599) throw new TypeError('kong.response.setStatus: code must be an integer between 100 and 599')
    this.#ctx.status = status
    if (this.#ctx.exit !== undefined) this.#ctx.exit.status = status
  }

  /** @phases rewrite, access, header_filter */
  setHeader (name: string, value: unknown): void {
    this.#headersOpen(P.setHeader)
    const headers = this.#target()
    headers[headerNameToSet(name, P.setHeader.fn)] = headerValue(value, P.setHeader.fn)
  }

  /** @phases rewrite, access, header_filter */
  addHeader (name: string, value: unknown): void {
    this.#headersOpen(P.addHeader)
    const headers = this.#target()
    const key = headerNameToSet(name, P.addHeader.fn)
    const v = headerValue(value, P.addHeader.fn)
    const prev = headers[key]
    headers[key] = prev === undefined ? v : [...(Array.isArray(prev) ? prev : [prev]), ...(Array.isArray(v) ? v : [v])]
  }

  /** @phases rewrite, access, header_filter */
  clearHeader (name: string): void {
    this.#headersOpen(P.clearHeader)
    const headers = this.#target()
    const key = headerName(name, P.clearHeader.fn)
    if (headers[key] !== undefined) delete headers[key]
  }

  /** @phases rewrite, access, header_filter */
  setHeaders (headers: Record<string, unknown>): void {
    this.#headersOpen(P.setHeaders)
    if (typeof headers !== 'object' || headers === null) throw new TypeError('kong.response.setHeaders: headers must be an object')
    // One phase check and one target for all of them: rate-limiting sets five per request.
    const target = this.#target()
    for (const k in headers) {
      if (Object.hasOwn(headers, k)) target[headerNameToSet(k, P.setHeaders.fn)] = headerValue(headers[k], P.setHeaders.fn)
    }
  }

  // Before the response exists (rewrite/access) header changes wait in a pending set that
  // is merged into whatever response is sent; afterwards they change it directly.
  #target (): Headers {
    const ctx = this.#ctx
    if (ctx.phase === Phase.header_filter) return ctx.responseHeaders
    if (ctx.exit !== undefined) return ctx.exit.headers
    return ctx.responseHeaders
  }

  /**
   * The whole body; a body_filter plugin makes Tollgate buffer it.
   * @phases body_filter
   */
  getRawBody (): Buffer | undefined {
    check(this.#ctx, P.getRawBody)
    return this.#ctx.responseBody
  }

  /** @phases body_filter */
  setRawBody (body: string | Buffer): void {
    check(this.#ctx, P.setRawBody)
    if (typeof body !== 'string' && !Buffer.isBuffer(body)) throw new TypeError('kong.response.setRawBody: body must be a string or a Buffer')
    this.#ctx.responseBody = Buffer.from(body)
    this.#ctx.responseBodyReplaced = true
  }

  /**
   * Answers the request instead of proxying it. In access, the remaining access handlers
   * are skipped; later phases still run. Use as `return kong.response.exit(...)`.
   * In header_filter only without a body, as in Kong.
   * @phases rewrite, access, header_filter
   */
  exit (status: number, body?: unknown, headers?: Record<string, unknown>): void {
    check(this.#ctx, P.exit)
    if (!Number.isInteger(status) || status < 100 || status > 599) throw new TypeError('kong.response.exit: code must be an integer between 100 and 599')
    if (this.#ctx.phase === Phase.header_filter && body !== undefined) throw new Error('kong.response.exit: a body cannot be set in header_filter')
    // What plugins set before, then these headers over them.
    const out = copyHeaders(this.#ctx.responseHeaders)
    let typed = false
    if (headers !== undefined && headers !== null) {
      for (const k in headers) {
        const name = headerNameToSet(k, P.exit.fn)
        out[name] = headerValue(headers[k], P.exit.fn)
        if (name === 'content-type') typed = true
      }
    }
    let raw: Buffer | string | undefined
    if (body === undefined || body === null) raw = undefined
    else if (typeof body === 'string' || Buffer.isBuffer(body)) raw = body
    else {
      raw = JSON.stringify(body)
      if (!typed) out['content-type'] = 'application/json; charset=utf-8'
    }
    this.#ctx.exit = { status, body: raw, headers: out }
    this.#ctx.source = 'exit'
    this.#ctx.status = status
  }

  /**
   * Answers with Kong's error format (JSON, text, HTML or XML by Accept).
   * @phases rewrite, access, header_filter
   */
  error (status: number, message?: string, headers?: Record<string, unknown>): void {
    check(this.#ctx, P.error)
    if (!Number.isInteger(status) || status < 400 || status > 599) throw new TypeError('kong.response.error: code must be an integer between 400 and 599')
    const explicit = Object.entries(headers ?? {}).find(([k]) => k.toLowerCase() === 'content-type')?.[1]
    const type = explicit !== undefined ? bodyTypeFor(String(explicit)) : negotiate(this.#ctx.req, false)
    const { body, contentType } = errorBody(type, message ?? errorMessage(status), this.#ctx.id)
    this.exit(status, body, { ...headers, 'content-type': explicit ?? contentType })
  }
}
