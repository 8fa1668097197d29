// Kong's `configure` phase (kong/runloop/plugins_iterator.lua, `configure`): every loaded
// plugin that has the hook gets all of its enabled configs each time the plugins iterator
// is built, an empty list when it has none (Kong passes nil). Used by LivePlugins in each
// proxy process and by the isolation workers for the plugins they run.

import type { AnyPlugin, ConfiguredPlugin } from './plugin.js'
import type { PluginSet } from './plugins.js'

type Configs = ConfiguredPlugin<Record<string, unknown>>[]

const ref = (e: Record<string, unknown>, f: string): string | null => (e[f] as { id: string } | null | undefined)?.id ?? null

/** The enabled configs in stored plugin entities, by plugin name (for a process without a PluginSet). */
export function configsFromEntities (entities: Iterable<Record<string, unknown>>): Map<string, Configs> {
  const out = new Map<string, Configs>()
  for (const e of entities) {
    if (e.enabled !== true) continue
    const name = e.name as string
    let list = out.get(name)
    if (list === undefined) out.set(name, list = [])
    list.push({ id: e.id as string, route: ref(e, 'route'), service: ref(e, 'service'), consumer: ref(e, 'consumer'), config: e.config as Record<string, unknown> })
  }
  return out
}

/** The enabled configs a PluginSet holds, by plugin name: it has read them already. */
export function configsFromSet (set: PluginSet): Map<string, Configs> {
  const out = new Map<string, Configs>()
  for (const lp of set.active) {
    const list: Configs = []
    for (const i of lp.instances.values()) {
      list.push({ id: i.id, route: i.route === '' ? null : i.route, service: i.service === '' ? null : i.service, consumer: i.consumer === '' ? null : i.consumer, config: i.config })
    }
    out.set(lp.plugin.name, list)
  }
  return out
}

/**
 * Calls plugins' configure hooks. A hook that throws or rejects is reported to `failed`
 * and nothing else happens: like Kong, which pcalls it and logs, the gateway keeps serving
 * with whatever state the plugin has. Calls to one plugin never overlap: while a promise
 * from it is pending, the next call waits for it, so an async hook sees changes in order.
 */
export class Configurer {
  readonly #plugins: AnyPlugin[]
  readonly #failed: (plugin: string, err: unknown) => void
  readonly #pending = new Map<string, Promise<void>>()

  constructor (plugins: Iterable<AnyPlugin>, failed: (plugin: string, err: unknown) => void) {
    this.#plugins = [...plugins].filter((p) => typeof p.configure === 'function')
    this.#failed = failed
  }

  /** Whether any plugin has a configure hook (else nothing here ever runs). */
  get any (): boolean { return this.#plugins.length > 0 }

  /** Configures every plugin with its configs in `byName`; settles (never rejects) once all hooks have. */
  run (byName: Map<string, Configs>): Promise<void> {
    const waits: Promise<void>[] = []
    for (const p of this.#plugins) {
      const configs = byName.get(p.name) ?? []
      const prev = this.#pending.get(p.name)
      const call = prev === undefined ? this.#call(p, configs) : prev.then(() => this.#call(p, configs))
      if (call === undefined) continue
      const tracked = call.finally(() => { if (this.#pending.get(p.name) === tracked) this.#pending.delete(p.name) })
      this.#pending.set(p.name, tracked)
      waits.push(tracked)
    }
    return Promise.all(waits).then(() => {})
  }

  /** One hook call; a promise only when the hook made one (a synchronous hook runs now, before the new set serves). */
  #call (p: AnyPlugin, configs: Configs): Promise<void> | undefined {
    let r: unknown
    try {
      r = (p.configure as NonNullable<AnyPlugin['configure']>)(configs)
    } catch (err) {
      this.#failed(p.name, err)
      return undefined
    }
    if (typeof (r as Promise<void> | undefined)?.then !== 'function') return undefined
    return (r as Promise<void>).then(() => {}, (err: unknown) => this.#failed(p.name, err))
  }
}
