// kong.router: the route and service the request matched (Kong's kong/pdk/router.lua).

import type { RequestContext } from '../runtime/context.js'
import type { Route, Service } from '../store/index.js'
import { check } from './private/checks.js'
import { PHASES } from './private/phases.js'

const P = PHASES.router

export interface KongRouter {
  /** @phases access, header_filter, body_filter, log */
  getRoute(): Route | undefined
  /** @phases access, header_filter, body_filter, log */
  getService(): Service | undefined
}

export function makeRouter (ctx: RequestContext): KongRouter {
  return {
    getRoute: () => { check(ctx, P.getRoute); return ctx.route },
    getService: () => { check(ctx, P.getService); return ctx.service },
  }
}
