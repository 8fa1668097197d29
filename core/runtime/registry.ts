// The plugins this node has loaded. The store asks it for config schemas (a plugin entity
// naming a plugin that is not loaded is refused), the Admin API lists it, and the plugin
// set (plugins.ts) runs what it holds.

import type { TObject } from 'typebox'
import type { EntityDef, PluginSchemas } from '../store/entity.js'
import type { FieldErrors } from '../errors.js'
import type { AnyPlugin, CheckEnv } from './plugin.js'

/** A loaded plugin: its descriptor (see plugin.ts). */
export type PluginInfo = AnyPlugin

/** Kong's default zones a plugin config may name, for a registry not told of the node's. */
const DEFAULT_ENV: CheckEnv = { sharedDictDeclared: (name) => name === 'kong_db_cache' }

export class PluginRegistry implements PluginSchemas {
  readonly #plugins = new Map<string, PluginInfo>()
  #env: CheckEnv = DEFAULT_ENV
  /**
   * The `plugins` setting this registry was loaded from, when nothing else was added to
   * it: another thread can then load the same plugins by name (declarative loads).
   */
  loadedByName: string[] | undefined

  /** What plugins' checkConfig learns of the node (its declared shared dictionaries). */
  useEnv (env: CheckEnv): void {
    this.#env = env
  }

  register (plugin: PluginInfo): void {
    if (this.#plugins.has(plugin.name)) throw new Error(`plugin '${plugin.name}' is loaded twice`)
    this.#plugins.set(plugin.name, plugin)
  }

  get (name: string): PluginInfo | undefined {
    return this.#plugins.get(name)
  }

  /** Loaded plugin names, sorted. */
  names (): string[] {
    return [...this.#plugins.keys()].sort()
  }

  all (): PluginInfo[] {
    return this.names().map((n) => this.#plugins.get(n) as PluginInfo)
  }

  configSchema (name: string): TObject | undefined {
    return this.#plugins.get(name)?.schema
  }

  noConsumer (name: string): boolean {
    return this.#plugins.get(name)?.noConsumer === true
  }

  configErrors (name: string, config: Record<string, unknown>): FieldErrors | undefined {
    const check = this.#plugins.get(name)?.checkConfig as ((c: Record<string, unknown>, env: CheckEnv) => FieldErrors | undefined) | undefined
    return check?.(config, this.#env)
  }

  /** Entities owned by loaded plugins, for the store. */
  entities (): EntityDef[] {
    return this.all().flatMap((p) => p.entities ?? [])
  }
}
