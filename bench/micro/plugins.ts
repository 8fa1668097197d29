// The plugin iterator's per-request work: one config per active plugin by Kong's precedence.
// Run: npm run bench:micro -- plugins
import { randomUUID } from 'node:crypto'
import type { AnyPlugin } from '../../core/runtime/plugin.js'
import { PluginSet } from '../../core/runtime/plugins.js'
import { PluginRegistry } from '../../core/runtime/registry.js'
import { Type } from '../../core/store/schema.js'
import { compare, table } from './measure.js'

function setWith (plugins: number, routes: number): { set: PluginSet, routes: string[], consumer: string } {
  const registry = new PluginRegistry()
  const routeIds = Array.from({ length: routes }, () => randomUUID())
  const consumer = randomUUID()
  const entities: Record<string, unknown>[] = []
  for (let p = 0; p < plugins; p++) {
    const name = `p${p}`
    registry.register({ name, version: '1.0.0', priority: 1000 - p, schema: Type.Object({}), access: () => {} } as AnyPlugin)
    entities.push({ id: randomUUID(), name, enabled: true, config: {}, route: null, service: null, consumer: null })
    // Every other plugin is also configured on every route, and for one consumer.
    if (p % 2 === 0) for (const r of routeIds) entities.push({ id: randomUUID(), name, enabled: true, config: {}, route: { id: r }, service: null, consumer: null })
    if (p % 3 === 0) entities.push({ id: randomUUID(), name, enabled: true, config: {}, route: null, service: null, consumer: { id: consumer } })
  }
  return { set: new PluginSet(registry, entities, () => ({ run: () => {} })), routes: routeIds, consumer }
}

const cases = [[3, 10], [10, 10], [10, 10_000]].map(([plugins, routes]) => {
  const { set, routes: ids, consumer } = setWith(plugins as number, routes as number)
  return {
    name: `${plugins} plugins, ${routes} routes`,
    fn: (i: number) => {
      const route = ids[i % ids.length] as string
      let n = 0
      const c = i % 2 === 0 ? consumer : ''
      for (const p of set.plan(route, '')) if (PluginSet.choose(p, route, '', c) !== undefined) n++
      return n
    },
  }
})
console.log(table(compare(cases, 500_000), 'requests/s'))
