// skipWhen: a plugin names the handlers a config leaves with nothing to do; the iterator
// decides once per config, and the descriptor check rejects a malformed declaration.
import t from 'tap'
import { definePlugin } from '@tollgate/sdk'
import { Type } from 'typebox'
import { descriptorProblems, type AnyPlugin } from '../../../core/runtime/plugin.js'
import { PluginSet, runs } from '../../../core/runtime/plugins.js'
import { PluginRegistry } from '../../../core/runtime/registry.js'

const noop = (): void => {}
const plugin = definePlugin({
  name: 'skipper',
  version: '1.0.0',
  priority: 10,
  schema: Type.Object({ headers: Type.Array(Type.String()), boom: Type.Boolean() }),
  rewrite: noop,
  access: noop,
  headerFilter: noop,
  skipWhen: {
    rewrite: (conf) => conf.headers.length === 0,
    headerFilter: (conf) => { if (conf.boom) throw new Error('boom'); return conf.headers.length === 0 },
  },
}) as AnyPlugin

function setWith (config: Record<string, unknown>): PluginSet {
  const registry = new PluginRegistry()
  registry.register(plugin)
  return new PluginSet(registry, [{ id: 'p1', name: 'skipper', enabled: true, config, route: null, service: null, consumer: null }], () => ({ run: noop }))
}

t.test('a config that leaves a handler nothing to do skips it', async (t) => {
  const empty = setWith({ headers: [], boom: false })
  const item = empty.globals[0]
  t.ok(item, 'the global config is collected')
  if (item === undefined) return
  t.notOk(runs(item, 'rewrite'), 'rewrite skipped')
  t.notOk(runs(item, 'headerFilter'), 'headerFilter skipped')
  t.ok(runs(item, 'access'), 'access has no predicate: it runs')
  t.notOk(runs(item, 'log'), 'a handler the plugin lacks never runs')
  t.same(empty.rewrite, [], 'the rewrite chain leaves the skipped plugin out')

  const busy = setWith({ headers: ['x-a'], boom: false })
  t.ok(runs(busy.globals[0] as NonNullable<typeof item>, 'rewrite'))
  t.ok(runs(busy.globals[0] as NonNullable<typeof item>, 'headerFilter'))
  t.equal(busy.rewrite.length, 1)

  const throwing = setWith({ headers: [], boom: true })
  t.ok(runs(throwing.globals[0] as NonNullable<typeof item>, 'headerFilter'), 'a predicate that throws skips nothing')
})

t.test('the descriptor check rejects a malformed skipWhen', async (t) => {
  t.same(descriptorProblems(plugin), [])
  t.same(descriptorProblems({ ...plugin, skipWhen: 'no' }), ["'skipWhen' must be an object of handler names to functions"])
  t.same(descriptorProblems({ ...plugin, skipWhen: { acces: noop } }), ["'skipWhen' names 'acces', which is not a handler (rewrite, access, headerFilter, bodyFilter, log)"])
  t.same(descriptorProblems({ ...plugin, skipWhen: { access: true } }), ["'skipWhen.access' must be a function"])
})
