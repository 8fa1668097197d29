// The plugin iterator: which plugin configs apply to a request, compiled once per config
// version. Plugins run in priority order (descending; ties by name descending, as Kong);
// for each, one config is chosen by Kong's 8-level precedence (runloop/plugins_iterator.lua).

import type { Logger } from '../log.js'
import type { ConfigReader } from '../store/index.js'
import { Configurer, configsFromSet } from './configure.js'
import { HANDLER_BIT, HANDLERS, skips, type AnyPlugin, type HandlerName } from './plugin.js'
import type { PluginRunner, RunnerFor } from './plugin-runner.js'
import type { PluginRegistry } from './registry.js'

export interface PluginInstance {
  id: string
  config: Record<string, unknown>
  route: string
  service: string
  consumer: string
  /** Handlers this config skips (the plugin's skipWhen), as HANDLER_BIT flags. */
  skip: number
}


/** Whether a plugin config has work for `handler`: the plugin has it and the config does not skip it. */
export function runs (c: { plugin: AnyPlugin, instance: PluginInstance }, handler: HandlerName): boolean {
  return c.plugin[handler] !== undefined && (c.instance.skip & HANDLER_BIT[handler]) === 0
}

/** Whether any of the collected configs has work for `handler`. */
export function anyRuns (collected: readonly Collected[], handler: HandlerName): boolean {
  for (const c of collected) if (runs(c, handler)) return true
  return false
}

/** Whether a collected config's body_filter runs for this request (its plugin may have opted out: kong.plugin.skipBodyFilter). */
export function runsBodyFilter (ctx: { bodyFilterOff: Set<string> | undefined }, c: { plugin: AnyPlugin, instance: PluginInstance }): boolean {
  return runs(c, 'bodyFilter') && ctx.bodyFilterOff?.has(c.plugin.name) !== true
}

/** Whether any collected config's body_filter runs for this request: the response is then held whole. */
export function anyBodyFilter (ctx: { bodyFilterOff: Set<string> | undefined }, collected: readonly Collected[]): boolean {
  for (const c of collected) if (runsBodyFilter(ctx, c)) return true
  return false
}

/** A plugin's skipWhen for one config, as HANDLER_BIT flags. */
function skipsFor (plugin: AnyPlugin, config: Record<string, unknown>): number {
  let skip = 0
  for (const h of HANDLERS) if (skips(plugin, config, h)) skip |= HANDLER_BIT[h]
  return skip
}

export interface LoadedPlugin {
  plugin: AnyPlugin
  /** Where its handlers run (in this thread, or isolated). */
  runner: PluginRunner
  /** Enabled instances by scope key `route|service|consumer` ('' for unset). */
  instances: Map<string, PluginInstance>
  hasConsumerScoped: boolean
  /** The global instance, for rewrite and for requests no route matched. */
  global: PluginInstance | undefined
}

/** One plugin config chosen for a request, with the runner of its plugin. */
export interface Collected {
  plugin: AnyPlugin
  instance: PluginInstance
  runner: PluginRunner
}

const key = (route: string, service: string, consumer: string): string => `${route}|${service}|${consumer}`

export class PluginSet {
  /** Plugins that have at least one enabled instance, in run order. */
  readonly active: LoadedPlugin[]
  /** The global configs with rewrite work, in run order (rewrite runs before routing). */
  readonly rewrite: Collected[]
  /** Active plugins with a global instance (the chain when no route matched). */
  readonly globals: Collected[]

  /** `runnerFor`: where each plugin's handlers run. */
  constructor (registry: PluginRegistry, entities: Iterable<Record<string, unknown>>, runnerFor: RunnerFor) {
    const byName = new Map<string, LoadedPlugin>()
    for (const e of entities) {
      if (e.enabled !== true) continue // Kong: a disabled instance falls through to the next level
      const plugin = registry.get(e.name as string) as AnyPlugin | undefined
      if (plugin === undefined) continue // stored for a plugin this node does not load
      let lp = byName.get(plugin.name)
      if (lp === undefined) byName.set(plugin.name, lp = { plugin, runner: runnerFor(plugin), instances: new Map(), hasConsumerScoped: false, global: undefined })
      const ref = (f: string): string => ((e[f] as { id: string } | null)?.id ?? '')
      const inst: PluginInstance = { id: e.id as string, config: e.config as Record<string, unknown>, route: ref('route'), service: ref('service'), consumer: ref('consumer'), skip: 0 }
      inst.skip = skipsFor(plugin, inst.config)
      lp.instances.set(key(inst.route, inst.service, inst.consumer), inst)
      if (inst.consumer !== '') lp.hasConsumerScoped = true
      if (inst.route === '' && inst.service === '' && inst.consumer === '') lp.global = inst
    }
    this.active = [...byName.values()].sort((a, b) =>
      b.plugin.priority - a.plugin.priority || (a.plugin.name < b.plugin.name ? 1 : a.plugin.name > b.plugin.name ? -1 : 0))
    this.globals = this.active.filter((p) => p.global !== undefined).map((p) => ({ plugin: p.plugin, instance: p.global as PluginInstance, runner: p.runner }))
    this.rewrite = this.globals.filter((c) => runs(c, 'rewrite'))
  }

  // route id -> service id -> plan. Nested, not keyed by the joined ids: joining made and
  // hashed a new 73-character string on every request; the ids keep their hashes.
  readonly #plans = new Map<string, Map<string, Plan[]>>()

  /**
   * The configs that apply on a route before any consumer is known, computed once per
   * route and service: per request only the consumer levels are left to look up.
   */
  plan (route: string, service: string): Plan[] {
    let byService = this.#plans.get(route)
    if (byService === undefined) this.#plans.set(route, byService = new Map())
    let plan = byService.get(service)
    if (plan === undefined) {
      plan = []
      for (const lp of this.active) {
        const m = lp.instances
        const rs = m.get(key(route, service, ''))
        const base = rs ?? m.get(key(route, '', '')) ?? m.get(key('', service, '')) ?? lp.global
        const level = rs !== undefined ? 4 : 0
        const consumerAware = lp.hasConsumerScoped && lp.plugin.noConsumer !== true
        if (base !== undefined || consumerAware) plan.push({ lp, base, level, consumerAware })
      }
      byService.set(service, plan)
    }
    return plan
  }

  /** Kong's lookup_cfg: the first existing config of route+service+consumer ... global. */
  static choose (p: Plan, route: string, service: string, consumer: string): PluginInstance | undefined {
    if (consumer === '' || !p.consumerAware) return p.base
    const m = p.lp.instances
    const c = m.get(key(route, service, consumer)) ?? m.get(key(route, '', consumer)) ?? m.get(key('', service, consumer))
    if (c !== undefined) return c
    if (p.level === 4) return p.base
    return m.get(key('', '', consumer)) ?? p.base
  }

}

export interface Plan {
  lp: LoadedPlugin
  /** The config from route+service, route, service or global, if any. */
  base: PluginInstance | undefined
  /** 4 when `base` is the route+service config (it outranks a consumer-only one). */
  level: number
  /** Whether consumer-scoped configs exist for this plugin. */
  consumerAware: boolean
}

/** Who runs configure hooks, and where their failures go (see LivePlugins). */
export interface ConfigureOptions {
  log: Logger
  /** Whether this thread runs the plugin's handlers (an isolated plugin is configured in its workers instead). */
  here: (plugin: AnyPlugin) => boolean
}

/**
 * Keeps a PluginSet for the store's current version, like LiveRouter does for routes.
 * With `configure`, each new set calls the plugins' configure hooks (configure.ts).
 */
export class LivePlugins {
  readonly #store: ConfigReader
  readonly #registry: PluginRegistry
  readonly #runnerFor: RunnerFor
  readonly #configurer: Configurer | undefined
  #set: PluginSet | undefined
  #dirty = true
  #configured: Promise<void> = Promise.resolve()
  #eager: NodeJS.Immediate | undefined

  constructor (store: ConfigReader, registry: PluginRegistry, runnerFor: RunnerFor, configure?: ConfigureOptions) {
    this.#store = store
    this.#registry = registry
    this.#runnerFor = runnerFor
    if (configure !== undefined) {
      const c = new Configurer(registry.all().filter(configure.here), (plugin, err) => {
        configure.log.error({ err, plugin, phase: 'configure' }, `plugin ${plugin} failed in configure`)
      })
      if (c.any) this.#configurer = c
    }
    // Any write may touch plugins: deleting a route, service or consumer cascades to them.
    store.onChange(() => { this.invalidate() })
  }

  get (): PluginSet {
    if (this.#dirty || this.#set === undefined) {
      this.#set = new PluginSet(this.#registry, this.#store.each('plugins'), this.#runnerFor)
      this.#dirty = false
      if (this.#configurer !== undefined) this.#configured = this.#configurer.run(configsFromSet(this.#set))
    }
    return this.#set
  }

  /** Settles when the configure hooks of the latest set have (at once when none are pending). */
  configured (): Promise<void> {
    return this.#configured
  }

  /**
   * The proxy is stopping: every configure hook gets an empty list, as after its last config
   * was deleted, so plugins let go of what they hold (connections, timers) and the process
   * can exit. Kong has no such call; nginx ends its workers instead. Not awaited: a
   * synchronous hook has run when this returns, and a plugin whose earlier async call never
   * settles must not hold the stop up (this call then waits behind it, as calls do).
   */
  close (): void {
    if (this.#eager !== undefined) clearImmediate(this.#eager)
    this.#eager = undefined
    void this.#configurer?.run(new Map())
  }

  /** Marks the set stale, for writes made by another process. */
  invalidate (): void {
    this.#dirty = true
    // Without configure hooks the set waits for the next request. With them it is rebuilt
    // soon after the change even with no traffic, as Kong's background rebuild timer does
    // (worker_consistency = eventual): a metrics plugin's families, say, follow the
    // configuration, not the next request. Changes made in one turn share one rebuild.
    if (this.#configurer !== undefined && this.#eager === undefined) {
      this.#eager = setImmediate(() => { this.#eager = undefined; if (this.#dirty) this.get() })
      this.#eager.unref()
    }
  }
}
