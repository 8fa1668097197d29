// kong.router: the route and service the request matched (Kong's kong/pdk/router.lua).

import type { RequestContext } from '../runtime/context.js'
import { AFTER_ACCESS } from '../runtime/phases.js'
import type { Route, Service } from '../store/index.js'
import { check } from './private/checks.js'

export interface KongRouter {
  getRoute(): Route | undefined
  getService(): Service | undefined
}

export function makeRouter (ctx: RequestContext): KongRouter {
  return {
    getRoute: () => { check(ctx, AFTER_ACCESS, 'kong.router.getRoute'); return ctx.route },
    getService: () => { check(ctx, AFTER_ACCESS, 'kong.router.getService'); return ctx.service },
  }
}
