// Stores and configs for the declarative tests: a real LMDB store that knows the bundled
// plugins (so key-auth's credentials), and configs built the way the parser builds them
// (every default filled in), without needing the parser.

import type { Test } from 'tap'
import { bundledPlugins } from '../../plugins/index.js'
import { PluginRegistry } from '../../core/runtime/registry.js'
import type { DeclarativeConfig } from '../../core/declarative/types.js'
import type { Entity, LmdbStore } from '../../core/store/index.js'
import { tempStore } from '../helpers/store.js'

export function bundledRegistry (): PluginRegistry {
  const registry = new PluginRegistry()
  for (const p of bundledPlugins) registry.register(p)
  return registry
}

/** A fresh store with the bundled plugins, closed when the test ends. */
export function bundledStore (t: Test): LmdbStore {
  const registry = bundledRegistry()
  return tempStore(t, { plugins: registry, entities: registry.entities() })
}

/**
 * Entities with their defaults filled in, as the parser gives them: written to a scratch
 * store and read back, timestamps dropped (a file without timestamps) and `ttl` turned
 * into Kong's absolute expiry.
 */
export async function filled (t: Test, entities: Array<[string, Record<string, unknown>]>): Promise<Map<string, Entity[]>> {
  const scratch = bundledStore(t)
  const out = new Map<string, Entity[]>()
  const order = ['services', 'routes', 'consumers', 'plugins', 'upstreams', 'targets', 'keyauth_credentials']
  for (const name of order) {
    for (const [entity, input] of entities) {
      if (entity !== name) continue
      const { ttl, ...rest } = input
      const row = await scratch.insert(entity, rest, typeof ttl === 'number' ? { ttl } : {})
      const { created_at: _c, updated_at: _u, ttl: left, ...fields } = row
      const e: Entity = { ...fields }
      if (typeof left === 'number') e.ttl = Math.floor(Date.now() / 1000) + left
      const list = out.get(entity) ?? []
      list.push(e)
      out.set(entity, list)
    }
  }
  return out
}

export function config (entities: Map<string, Entity[]>): DeclarativeConfig {
  return { hash: '0'.repeat(32), transform: false, entities }
}
