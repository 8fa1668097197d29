// The plugin iterator: which plugin configs apply to a request, compiled once per config
// version. Plugins run in priority order (descending; ties by name descending, as Kong);
// for each, one config is chosen by Kong's 8-level precedence (runloop/plugins_iterator.lua).

import type { Store } from '../store/index.js'
import type { AnyPlugin } from './plugin.js'
import type { PluginRegistry } from './registry.js'

export interface PluginInstance {
  id: string
  config: Record<string, unknown>
  route: string
  service: string
  consumer: string
}

export interface LoadedPlugin {
  plugin: AnyPlugin
  /** Enabled instances by scope key `route|service|consumer` ('' for unset). */
  instances: Map<string, PluginInstance>
  hasConsumerScoped: boolean
  /** The global instance, for rewrite and for requests no route matched. */
  global: PluginInstance | undefined
}

export interface Collected {
  plugin: AnyPlugin
  instance: PluginInstance
}

const key = (route: string, service: string, consumer: string): string => `${route}|${service}|${consumer}`

export class PluginSet {
  /** Plugins that have at least one enabled instance, in run order. */
  readonly active: LoadedPlugin[]
  /** Active plugins with a global instance and a rewrite handler. */
  readonly rewrite: LoadedPlugin[]
  /** Active plugins with a global instance (the chain when no route matched). */
  readonly globals: Collected[]

  constructor (registry: PluginRegistry, entities: Iterable<Record<string, unknown>>) {
    const byName = new Map<string, LoadedPlugin>()
    for (const e of entities) {
      if (e.enabled !== true) continue // Kong: a disabled instance falls through to the next level
      const plugin = registry.get(e.name as string) as AnyPlugin | undefined
      if (plugin === undefined) continue // stored for a plugin this node does not load
      let lp = byName.get(plugin.name)
      if (lp === undefined) byName.set(plugin.name, lp = { plugin, instances: new Map(), hasConsumerScoped: false, global: undefined })
      const ref = (f: string): string => ((e[f] as { id: string } | null)?.id ?? '')
      const inst: PluginInstance = { id: e.id as string, config: e.config as Record<string, unknown>, route: ref('route'), service: ref('service'), consumer: ref('consumer') }
      lp.instances.set(key(inst.route, inst.service, inst.consumer), inst)
      if (inst.consumer !== '') lp.hasConsumerScoped = true
      if (inst.route === '' && inst.service === '' && inst.consumer === '') lp.global = inst
    }
    this.active = [...byName.values()].sort((a, b) =>
      b.plugin.priority - a.plugin.priority || (a.plugin.name < b.plugin.name ? 1 : a.plugin.name > b.plugin.name ? -1 : 0))
    this.rewrite = this.active.filter((p) => p.global !== undefined && typeof p.plugin.rewrite === 'function')
    this.globals = this.active.filter((p) => p.global !== undefined).map((p) => ({ plugin: p.plugin, instance: p.global as PluginInstance }))
  }

  /** Kong's lookup_cfg: the first existing config of route+service+consumer ... global. */
  static lookup (lp: LoadedPlugin, route: string, service: string, consumer: string): PluginInstance | undefined {
    const m = lp.instances
    if (consumer !== '' && lp.hasConsumerScoped && lp.plugin.noConsumer !== true) {
      const c = m.get(key(route, service, consumer)) ?? m.get(key(route, '', consumer)) ?? m.get(key('', service, consumer))
      if (c !== undefined) return c
    }
    const rs = m.get(key(route, service, ''))
    if (rs !== undefined) return rs
    if (consumer !== '' && lp.hasConsumerScoped && lp.plugin.noConsumer !== true) {
      const c = m.get(key('', '', consumer))
      if (c !== undefined) return c
    }
    return m.get(key(route, '', '')) ?? m.get(key('', service, '')) ?? lp.global
  }
}

/** Keeps a PluginSet for the store's current version, like LiveRouter does for routes. */
export class LivePlugins {
  readonly #store: Store
  readonly #registry: PluginRegistry
  #set: PluginSet | undefined
  #dirty = true

  constructor (store: Store, registry: PluginRegistry) {
    this.#store = store
    this.#registry = registry
    // Any write may touch plugins: deleting a route, service or consumer cascades to them.
    store.onChange(() => { this.#dirty = true })
  }

  get (): PluginSet {
    if (this.#dirty || this.#set === undefined) {
      this.#set = new PluginSet(this.#registry, this.#store.each('plugins'))
      this.#dirty = false
    }
    return this.#set
  }

  /** Marks the set stale, for writes made by another process. */
  invalidate (): void {
    this.#dirty = true
  }
}
