// Kong's phases, in one place: the HTTP path, the WebSocket path and the SDK's test kit all
// sequence plugins through this runner, so none of them can run a phase the others would
// not. The shape is kong/init.lua's: one function per phase, over three iterators named
// for what they walk:
// - global (execute_global_plugins_iterator): rewrite runs before any route is known, so
//   only global configs run it;
// - collecting (execute_collecting_plugins_iterator): access picks each plugin's config by
//   Kong's precedence for this route, service and consumer (the consumer may change as it
//   goes), runs it, and keeps what it picked;
// - collected (execute_collected_plugins_iterator): header_filter, body_filter and log run
//   the configs access picked, whether the response came from the upstream, a plugin's
//   short-circuit or an error.
// Each phase stays synchronous until a handler returns a promise, then resumes where it
// left off: most requests never make a promise here.

import { ClientError, STATUS_MESSAGES } from '../http/errors.js'
import type { Logger } from '../log.js'
import type { RequestContext, UpstreamRequest } from './context.js'
import { errorExit } from './exit.js'
import { Phase } from './phases.js'
import { HANDLER_BIT, HANDLER_PHASE, readsBody, type HandlerName } from './plugin.js'
import { PluginSet, anyBodyFilter, runs, runsBodyFilter, type Collected, type Plan } from './plugins.js'

/** Kong's router step (runloop's access.before), as the phase runner needs it. */
export interface RouteStep {
  /**
   * The request to be proxied, before any route is known: what rewrite handlers change
   * through kong.service.request (Kong lets rewrite change the request itself). The route
   * step completes it.
   */
  unrouted (ctx: RequestContext): UpstreamRequest
  /** Matches a route and prepares ctx.upstream; false when it answered instead (ctx.exit). */
  route (ctx: RequestContext): boolean
}

export interface PhaseRunnerDeps {
  /** The plugin set for the current configuration (LivePlugins in the gateway). */
  plugins: { get (): PluginSet }
  routing: RouteStep
  /**
   * Whether any runner may announce its calls (PluginRunner.expect): false skips looking
   * ahead for one on every phase of every request. The gateway knows at start-up: only the
   * isolation pool announces, and it exists only with isolated_plugins. Defaults to true.
   */
  expects?: boolean
  /** Reads the whole client body, for configs that read it (buffered before access). */
  readBody: (ctx: RequestContext) => Promise<Buffer>
  log: Logger
}

const INTERNAL_ERROR = 'An unexpected error occurred'

export function isThenable<T> (v: T | Promise<T>): v is Promise<T> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function'
}

/**
 * Tells the runner of the first config in `list` with work for `handler` that cannot run
 * in this thread that its call is coming (PluginRunner.expect), once per phase.
 */
function expectAhead (list: readonly Collected[], handler: HandlerName): void {
  for (const c of list) {
    if (c.runner.expect !== undefined && runs(c, handler)) {
      c.runner.expect()
      return
    }
  }
}

export class PhaseRunner {
  readonly #plugins: { get (): PluginSet }
  readonly #routing: RouteStep
  readonly #readBody: (ctx: RequestContext) => Promise<Buffer>
  readonly #log: Logger
  readonly #expects: boolean

  constructor (deps: PhaseRunnerDeps) {
    this.#plugins = deps.plugins
    this.#routing = deps.routing
    this.#readBody = deps.readBody
    this.#log = deps.log
    this.#expects = deps.expects ?? true
  }

  /**
   * Everything before the request is proxied: rewrite, then access. Returns the collected
   * configs, which the response phases run; `ctx.exit` is set when the request was
   * answered instead of proxied.
   */
  request (ctx: RequestContext): Collected[] | Promise<Collected[]> {
    const r = this.rewrite(ctx)
    return isThenable(r) ? r.then(() => this.access(ctx)) : this.access(ctx)
  }

  /** Kong.rewrite: the global configs' rewrite handlers; a short-circuit ends the phase. */
  rewrite (ctx: RequestContext): void | Promise<void> {
    const list = this.#plugins.get().rewrite
    if (list.length === 0) return
    ctx.upstream ??= this.#routing.unrouted(ctx)
    return this.#each(ctx, list, 'rewrite', 0)
  }

  /**
   * Kong.access: the route step (Kong's access.before), then the collecting iterator, then
   * access.after's check that a route without a service cannot be proxied.
   */
  access (ctx: RequestContext): Collected[] | Promise<Collected[]> {
    const plugins = this.#plugins.get()
    // Answered in rewrite, or by the route step (404, 426...): the global configs' response
    // phases still run.
    if (ctx.exit !== undefined || !this.#routing.route(ctx)) return plugins.globals
    const collected: Collected[] = []
    const after = (): Collected[] => {
      if (ctx.exit === undefined && ctx.service === undefined) errorExit(ctx, 503, 'no Service found with those values', false)
      return collected
    }
    if (plugins.active.length === 0) return after()
    const r = this.#collecting(ctx, plugins, collected)
    return isThenable(r) ? r.then(after, (err: unknown) => { this.#fail(ctx, err, 'access'); return after() }) : after()
  }

  /** Kong.header_filter over the collected configs. A failing handler is logged; the response goes on. */
  headerFilter (ctx: RequestContext, collected: readonly Collected[]): void | Promise<void> {
    return this.#each(ctx, collected, 'headerFilter', 0)
  }

  /** Kong.body_filter over the collected configs, on the whole body in ctx.responseBody. */
  bodyFilter (ctx: RequestContext, collected: readonly Collected[]): void | Promise<void> {
    return this.#each(ctx, collected, 'bodyFilter', 0)
  }

  /** Kong.log over the collected configs, after the client has its answer. */
  log (ctx: RequestContext, collected: readonly Collected[]): void | Promise<void> {
    return this.#each(ctx, collected, 'log', 0)
  }

  /**
   * header_filter then body_filter over a response held whole: a short-circuit, an error,
   * or an upstream answer already read. Returns the body to send.
   */
  async filterWhole (ctx: RequestContext, collected: readonly Collected[], body: Buffer | undefined): Promise<Buffer | undefined> {
    await this.headerFilter(ctx, collected)
    if (!anyBodyFilter(ctx, collected)) return body
    ctx.responseBody = body ?? Buffer.alloc(0)
    await this.bodyFilter(ctx, collected)
    return ctx.responseBody
  }

  /** Runs `handler` of each config in `list` from `from` on; resumes after a handler's promise. */
  #each (ctx: RequestContext, list: readonly Collected[], handler: HandlerName, from: number): void | Promise<void> {
    const bit = HANDLER_BIT[handler]
    if (from === 0 && this.#expects) expectAhead(list, handler)
    for (let i = from; i < list.length; i++) {
      if (bit === Phase.rewrite && ctx.exit !== undefined) return
      const c = list[i] as Collected
      if (bit === Phase.body_filter ? !runsBodyFilter(ctx, c) : !runs(c, handler)) continue
      ctx.phase = bit
      let r: unknown
      try {
        r = c.runner.run(ctx, c.plugin, handler, c.instance)
      } catch (err) {
        this.#failed(ctx, c, handler, err)
        continue
      }
      if (isThenable(r)) {
        return r.then(
          () => this.#each(ctx, list, handler, i + 1),
          (err: unknown) => { this.#failed(ctx, c, handler, err); return this.#each(ctx, list, handler, i + 1) })
      }
    }
  }

  /** The collecting iterator: picks each plugin's config (the consumer may change as it goes) and runs its access. */
  #collecting (ctx: RequestContext, plugins: PluginSet, collected: Collected[]): void | Promise<void> {
    const routeId = ctx.route?.id ?? ''
    const serviceId = ctx.service?.id ?? ''
    // The body is buffered first when any config that could apply here reads it.
    if (ctx.body === undefined) {
      for (const lp of plugins.active) {
        if (lp.plugin.readsBody === undefined || lp.plugin.readsBody === false) continue
        for (const inst of lp.instances.values()) {
          if ((inst.route === '' || inst.route === routeId) && (inst.service === '' || inst.service === serviceId) && readsBody(lp.plugin, inst.config, ctx)) {
            return this.#readBody(ctx).then((body) => {
              ctx.body = body
              return this.#collectFrom(ctx, plugins.plan(routeId, serviceId), collected, 0, routeId, serviceId)
            }, (err: unknown) => {
              // A body too large or too slow fails the request before access: Kong's page
              // for the status, as nginx answers before Kong's access phase, and the
              // connection closes with the rest of the body unread.
              if (!(err instanceof ClientError)) throw err
              errorExit(ctx, err.status, STATUS_MESSAGES[err.status] as string, true)
              return this.#collectFrom(ctx, plugins.plan(routeId, serviceId), collected, 0, routeId, serviceId)
            })
          }
        }
      }
    }
    return this.#collectFrom(ctx, plugins.plan(routeId, serviceId), collected, 0, routeId, serviceId)
  }

  #collectFrom (ctx: RequestContext, plan: Plan[], collected: Collected[], from: number, routeId: string, serviceId: string): void | Promise<void> {
    if (from === 0 && this.#expects) {
      for (const p of plan) {
        if (p.lp.runner.expect !== undefined && p.lp.plugin.access !== undefined && (p.base !== undefined || p.consumerAware)) {
          p.lp.runner.expect()
          break
        }
      }
    }
    for (let i = from; i < plan.length; i++) {
      const p = plan[i] as Plan
      const instance = PluginSet.choose(p, routeId, serviceId, ctx.consumer?.id ?? '')
      if (instance === undefined) continue
      const c: Collected = { plugin: p.lp.plugin, instance, runner: p.lp.runner }
      collected.push(c)
      // After a short-circuit or an error the remaining configs are still collected, not run.
      if (ctx.exit !== undefined || !runs(c, 'access')) continue
      ctx.phase = Phase.access
      let r: unknown
      try {
        r = c.runner.run(ctx, c.plugin, 'access', instance)
      } catch (err) {
        this.#failed(ctx, c, 'access', err)
        continue
      }
      if (isThenable(r)) {
        return r.then(
          () => this.#collectFrom(ctx, plan, collected, i + 1, routeId, serviceId),
          (err: unknown) => { this.#failed(ctx, c, 'access', err); return this.#collectFrom(ctx, plan, collected, i + 1, routeId, serviceId) })
      }
    }
  }

  /**
   * A handler failed. Before the response exists (rewrite, access) the request is answered
   * with Kong's 500; afterwards the failure is logged and the response goes on.
   */
  #failed (ctx: RequestContext, c: Collected, handler: HandlerName, err: unknown): void {
    const phase = HANDLER_PHASE[handler]
    if (handler === 'rewrite' || handler === 'access') { this.#fail(ctx, err, phase, c.plugin.name); return }
    this.#log.error({ err, plugin: c.plugin.name, phase, request_id: ctx.id }, `plugin ${c.plugin.name} failed in ${phase}`)
  }

  #fail (ctx: RequestContext, err: unknown, phase: string, plugin?: string): void {
    this.#log.error({ err, phase, plugin, request_id: ctx.id }, plugin === undefined ? `error in ${phase}` : `plugin ${plugin} failed in ${phase}`)
    ctx.exit = undefined
    errorExit(ctx, 500, INTERNAL_ERROR, false)
    ctx.source = 'error'
  }
}
