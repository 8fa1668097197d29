// PluginRunner.expect: the phase runner tells a runner that announces its calls (the
// isolation pool, which rouses a thread) that a phase of its plugin is coming, once per
// phase and before the plugins ahead of it run; and with `expects: false`, as a gateway
// without isolated plugins builds it, never looks.
import type { IncomingMessage, ServerResponse } from 'node:http'
import t from 'tap'
import { definePlugin, Type } from '@tollgate/sdk'
import { Routing } from '../../../core/proxy/upstream-request.js'
import { Router } from '../../../core/router/index.js'
import { RequestContext } from '../../../core/runtime/context.js'
import { DataRequest, DetachedResponse } from '../../../core/runtime/data-request.js'
import { PhaseRunner } from '../../../core/runtime/phase-runner.js'
import type { AnyPlugin, HandlerName } from '../../../core/runtime/plugin.js'
import type { PluginRunner } from '../../../core/runtime/plugin-runner.js'
import { PluginSet } from '../../../core/runtime/plugins.js'
import { PluginRegistry } from '../../../core/runtime/registry.js'
import { createLogger } from '../../../core/log.js'
import { validateRecord } from '../../../core/store/schema.js'
import { RouteSchema } from '../../../core/store/entities/routes.js'
import { ServiceSchema } from '../../../core/store/entities/services.js'
import type { Route, Service } from '../../../core/store/index.js'

const noop = (): void => {}
// `ahead` runs first (higher priority) in this thread; `away` after it, on the announcing runner.
const ahead = definePlugin({ name: 'ahead', version: '1.0.0', priority: 20, schema: Type.Object({}), access: noop, headerFilter: noop, log: noop })
const away = definePlugin({ name: 'away', version: '1.0.0', priority: 10, schema: Type.Object({}), access: noop, log: noop })

function setup (expects: boolean | undefined): { phases: PhaseRunner, events: string[], ctx: () => RequestContext, set: PluginSet } {
  const events: string[] = []
  const here: PluginRunner = { run: (_ctx, plugin, handler) => { events.push(`${plugin.name}.${handler}`) } }
  const announcing: PluginRunner = {
    run: (_ctx, plugin: AnyPlugin, handler: HandlerName) => { events.push(`${plugin.name}.${handler}`) },
    expect: () => { events.push('expect') },
  }
  const registry = new PluginRegistry()
  registry.register(ahead as unknown as AnyPlugin)
  registry.register(away as unknown as AnyPlugin)
  const set = new PluginSet(registry, [
    { id: 'p1', name: 'ahead', enabled: true, config: {}, route: null, service: null, consumer: null },
    { id: 'p2', name: 'away', enabled: true, config: {}, route: null, service: null, consumer: null },
  ], (p) => p.name === 'away' ? announcing : here)
  const service = { ...validateRecord(ServiceSchema, { host: 'upstream.test' }).value, id: 'aaaaaaaa-0000-4000-8000-000000000000' } as unknown as Service
  const route = { ...validateRecord(RouteSchema, { paths: ['/'] }).value, id: 'bbbbbbbb-0000-4000-8000-000000000000', created_at: 0, updated_at: 0, service: { id: service.id } } as unknown as Route
  const router = new Router([route], new Map([[service.id, service]]))
  const phases = new PhaseRunner({
    plugins: { get: () => set },
    routing: new Routing({ get: () => router }, false),
    readBody: async () => Buffer.alloc(0),
    log: createLogger('emerg'),
    ...(expects === undefined ? {} : { expects }),
  })
  const ctx = (): RequestContext => new RequestContext(
    new DataRequest({ method: 'GET', url: '/x', httpVersion: '1.1', rawHeaders: ['host', 'gw.test'], clientIp: '127.0.0.1', clientPort: 40000, localPort: 8000 }) as unknown as IncomingMessage,
    new DetachedResponse() as unknown as ServerResponse, 'r1')
  return { phases, events, ctx, set }
}

t.test('the announcing runner hears of its phase before the plugins ahead of it run, once a phase', async (t) => {
  for (const expects of [undefined, true]) {
    const { phases, events, ctx } = setup(expects)
    const c = ctx()
    const collected = await phases.access(c)
    t.equal(c.exit, undefined, 'the request was routed')
    t.same(collected.map((x) => x.plugin.name), ['ahead', 'away'])
    await phases.headerFilter(c, collected)
    await phases.log(c, collected)
    t.same(events, [
      'expect', 'ahead.access', 'away.access',
      // away has no header_filter: nothing to announce
      'ahead.headerFilter',
      'expect', 'ahead.log', 'away.log',
    ], `expects: ${String(expects)}`)
  }
})

t.test('expects: false never announces, and runs the same handlers', async (t) => {
  const { phases, events, ctx } = setup(false)
  const c = ctx()
  const collected = await phases.access(c)
  await phases.headerFilter(c, collected)
  await phases.log(c, collected)
  t.same(events, ['ahead.access', 'away.access', 'ahead.headerFilter', 'ahead.log', 'away.log'])
})
