// kong.service.response: the upstream's response as it arrived (Kong's kong/pdk/service/response.lua).

import type { Headers, RequestContext } from '../runtime/context.js'
import { check, first, headerName } from './private/checks.js'
import { PHASES } from './private/phases.js'

const P = PHASES.serviceResponse

export class KongServiceResponse {
  readonly #ctx: RequestContext
  constructor (ctx: RequestContext) { this.#ctx = ctx }
  /** @phases header_filter, body_filter, log */
  getStatus (): number | undefined { check(this.#ctx, P.getStatus); return this.#ctx.serviceStatus }
  /** @phases header_filter, body_filter, log */
  getHeaders (): Headers { check(this.#ctx, P.getHeaders); return { ...this.#ctx.serviceHeaders } }
  /** @phases header_filter, body_filter, log */
  getHeader (name: string): string | undefined {
    check(this.#ctx, P.getHeader)
    return first(this.#ctx.serviceHeaders?.[headerName(name, P.getHeader.fn)])
  }

  /**
   * The upstream's whole body, once a body_filter plugin has made Tollgate buffer it:
   * undefined in header_filter, and when the response did not come from the service.
   * @phases header_filter, body_filter, log
   */
  getRawBody (): Buffer | undefined {
    check(this.#ctx, P.getRawBody)
    return this.#ctx.source === 'service' ? this.#ctx.responseBody : undefined
  }
}
