// kong.service.response: the upstream's response as it arrived (Kong's kong/pdk/service/response.lua).

import type { Headers, RequestContext } from '../runtime/context.js'
import { Phase, RESPONSE } from '../runtime/phases.js'
import { check, first, headerName } from './private/checks.js'

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
