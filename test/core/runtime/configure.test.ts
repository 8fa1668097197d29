// Kong's configure phase: each plugin with the hook gets all its enabled configs at start
// and after every change, in the thread that runs its handlers; a failing hook is logged
// and the gateway goes on serving.
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { request } from 'undici'
import { Type } from 'typebox'
import { descriptorProblems, type ConfiguredPlugin, type PluginDescriptor } from '../../../core/runtime/plugin.js'
import { echo, memoryLogger, startTestGateway, startUpstream, until } from '../../helpers/gateway.js'

const Schema = Type.Object({ value: Type.Integer({ default: 0 }) }, { additionalProperties: false })
type Conf = { value: number }

function recorder (name: string, configure: (configs: ConfiguredPlugin<Conf>[]) => void | Promise<void> = () => {}) {
  const calls: ConfiguredPlugin<Conf>[][] = []
  const plugin: PluginDescriptor<typeof Schema> = {
    name,
    version: '1.0.0',
    priority: 100,
    schema: Schema,
    configure (configs) { calls.push(configs); return configure(configs) },
    access (kong) { kong.service.request.setHeader(`x-${name}-calls`, String(calls.length)) },
  }
  return { plugin, calls, last: () => calls[calls.length - 1] }
}

t.test('configure gets every enabled config with its scope, at start and after each change', async (t) => {
  const rec = recorder('recorder')
  const gw = await startTestGateway(t, { plugins: [rec.plugin] })
  t.same(rec.calls, [[]], 'called once at start, with no configs')

  const up = await startUpstream(t, echo)
  const service = await gw.admin$('POST', '/services', { name: 's', url: up.url })
  const route = await gw.admin$('POST', '/services/s/routes', { paths: ['/r'] })
  const global = await gw.admin$('POST', '/plugins', { name: 'recorder', config: { value: 1 } })
  await until(() => rec.last()?.length === 1, 'configure after POST')
  t.same(rec.last(), [{ id: global.id, route: null, service: null, consumer: null, config: { value: 1 } }])

  const scoped = await gw.admin$('POST', `/routes/${route.id as string}/plugins`, { config: { value: 2 }, name: 'recorder' })
  await until(() => rec.last()?.length === 2, 'configure after the second POST')
  t.same(rec.last()?.find((c) => c.id === scoped.id), { id: scoped.id, route: route.id, service: null, consumer: null, config: { value: 2 } })

  await gw.admin$('PATCH', `/plugins/${global.id as string}`, { config: { value: 3 } })
  await until(() => rec.last()?.find((c) => c.id === global.id)?.config.value === 3, 'configure after PATCH')

  await gw.admin$('PATCH', `/plugins/${global.id as string}`, { enabled: false })
  await until(() => rec.last()?.length === 1, 'configure after disabling')
  t.equal(rec.last()?.[0]?.id, scoped.id, 'a disabled config is not passed')

  await gw.admin$('DELETE', `/plugins/${scoped.id as string}`)
  await until(() => rec.last()?.length === 0, 'configure after DELETE')

  // A write to something else (a service) may cascade to plugins: it rebuilds too.
  await gw.admin$('POST', `/services/${service.id as string}/plugins`, { name: 'recorder' })
  await until(() => rec.last()?.[0]?.service === service.id, 'configure with a service-scoped config')
  const before = rec.calls.length
  const res = await request(`${gw.proxy}/r`)
  const seen = (await res.body.json() as { headers: Record<string, string> }).headers['x-recorder-calls']
  t.equal(seen, String(before), 'the request after the change ran with the configured set; serving it configured nothing')
})

t.test('a configure hook that throws or rejects is logged, and the gateway keeps serving', async (t) => {
  const { log, lines } = memoryLogger()
  const thrower = recorder('thrower', (configs) => { if (configs.length > 0) throw new Error('bad config') })
  const rejecter = recorder('rejecter', async (configs) => { if (configs.length > 0) throw new Error('rejected config') })
  const gw = await startTestGateway(t, { plugins: [thrower.plugin, rejecter.plugin], log })
  const up = await startUpstream(t, echo)
  await gw.admin$('POST', '/services', { name: 's', url: up.url })
  await gw.admin$('POST', '/services/s/routes', { paths: ['/'] })
  await gw.admin$('POST', '/plugins', { name: 'thrower' })
  await gw.admin$('POST', '/plugins', { name: 'rejecter' })
  await until(() => lines.some((l) => l.plugin === 'rejecter' && l.phase === 'configure'), 'the rejection logged')
  // Each rebuild configures every plugin: the thrower fails again after the second POST.
  const logged = [...new Set(lines.filter((l) => l.phase === 'configure').map((l) => JSON.stringify([l.plugin, l.msg, l.err?.message])))].sort().map((s) => JSON.parse(s))
  t.same(logged, [
    ['rejecter', 'plugin rejecter failed in configure', 'rejected config'],
    ['thrower', 'plugin thrower failed in configure', 'bad config'],
  ])
  const res = await request(`${gw.proxy}/x`)
  const body = await res.body.json() as { headers: Record<string, string> }
  t.equal(res.statusCode, 200, 'requests are still proxied')
  t.equal(body.headers['x-thrower-calls'], String(thrower.calls.length), 'and the failing plugin still runs')
})

t.test('when the proxy stops, configure gets an empty list once more (to release connections and timers)', async (t) => {
  const rec = recorder('recorder')
  const gw = await startTestGateway(t, { plugins: [rec.plugin] })
  await gw.admin$('POST', '/plugins', { name: 'recorder', config: { value: 1 } })
  await until(() => rec.last()?.length === 1, 'configure after POST')
  const before = rec.calls.length
  await gw.gateway.stop()
  t.equal(rec.calls.length, before + 1)
  t.same(rec.last(), [])
})

t.test('async configure calls for one plugin do not overlap', async (t) => {
  let running = 0
  let overlapped = false
  const release: Array<() => void> = []
  const slow = recorder('slow', async () => {
    running++
    if (running > 1) overlapped = true
    await new Promise<void>((resolve) => release.push(resolve))
    running--
  })
  const started = startTestGateway(t, { plugins: [slow.plugin] })
  await until(() => release.length === 1, 'the start call')
  release.shift()?.()
  const gw = await started
  const p = await gw.admin$('POST', '/plugins', { name: 'slow', config: { value: 1 } })
  await until(() => release.length === 1, 'the call after POST')
  await gw.admin$('PATCH', `/plugins/${p.id as string}`, { config: { value: 2 } })
  t.equal(slow.calls.length, 2, 'the call for the PATCH waits while the one before it is pending')
  release.shift()?.()
  await until(() => slow.calls.length === 3 && release.length === 1, 'the queued call')
  t.equal(slow.last()?.[0]?.config.value, 2, 'in order, with the latest configs')
  release.shift()?.()
  t.notOk(overlapped)
})

t.test('an isolated plugin is configured in its worker threads, not in the gateway thread', async (t) => {
  const fixture = fileURLToPath(new URL('../../../dist/test/fixtures/plugins/isolated/configured.js', import.meta.url))
  const gw = await startTestGateway(t, { config: { plugins: `bundled,${fixture}`, isolated_plugins: 'configured', isolation_pool_size: '2', isolation_timeout: '30000' } })
  const up = await startUpstream(t, echo)
  await gw.admin$('POST', '/services', { name: 's', url: up.url })
  await gw.admin$('POST', '/services/s/routes', { paths: ['/'] })
  const p = await gw.admin$('POST', '/plugins', { name: 'configured', config: { tag: 'a' } })
  const seen = async (): Promise<string> => {
    const res = await request(`${gw.proxy}/x`)
    return (await res.body.json() as { headers: Record<string, string> }).headers['x-configured'] as string
  }
  // Whichever thread serves it has configured itself for this version before the handler ran.
  for (let i = 0; i < 4; i++) t.equal(await seen(), 'a')
  await gw.admin$('PATCH', `/plugins/${p.id as string}`, { config: { tag: 'b' } })
  for (let i = 0; i < 4; i++) t.equal(await seen(), 'b')
  const mod = await import(fixture) as { calls: { host: number } }
  t.equal(mod.calls.host, 0, 'the gateway thread never called it')
})

t.test('descriptorProblems checks configure; a plugin with only configure is valid', async (t) => {
  const base = { name: 'p', version: '1.0.0', priority: 1, schema: Schema }
  t.same(descriptorProblems({ ...base, configure: () => {} }), [])
  t.same(descriptorProblems({ ...base, access: () => {}, configure: 'yes' }), ["'configure' must be a function"])
  t.same(descriptorProblems({ ...base, access: () => {}, checkConfig: 'yes' }), ["'checkConfig' must be a function"])
  t.same(descriptorProblems(base), ['it implements no phase (rewrite, access, headerFilter, bodyFilter, log), no configure and no admin routes'])
})

t.test("the SDK's test kit calls configure too, before the request, with the config it was given", async (t) => {
  const { definePlugin, runPlugin, Type: T } = await import('@tollgate/sdk')
  const got: unknown[] = []
  const counting = definePlugin({
    name: 'counting',
    version: '1.0.0',
    priority: 10,
    schema: T.Object({ limit: T.Integer({ default: 3 }) }),
    configure (configs) { got.push(...configs.map((c) => ({ route: c.route, limit: c.config.limit }))) },
    access (kong) { kong.service.request.setHeader('x-configured', String(got.length)) },
  })
  const r = await runPlugin(counting, { config: { limit: 7 }, scope: 'route' })
  t.same(got, [{ route: '00000000-0000-4000-8000-000000000001', limit: 7 }])
  t.equal(r.upstream?.headers['x-configured'], '1', 'configured before access ran')
  t.equal(r.error, undefined)
})
