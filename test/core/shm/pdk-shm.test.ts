// kong.shm(name): the node's shared dictionaries from plugins, the same entries whether
// the plugin runs in-process, in an isolation thread, or in any of several worker
// processes, and emptied when the node starts again.
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { Agent, request } from 'undici'
import { loadConfig } from '../../../core/config/index.js'
import { startGateway as startInProcess } from '../../../core/gateway.js'
import { createLogger } from '../../../core/log.js'
import { startGateway } from '../../helpers/process.js'
import { echo, startUpstream } from '../../helpers/gateway.js'
import { tempDir } from '../../helpers/store.js'

const PLUGIN = fileURLToPath(new URL('../../../dist/test/fixtures/plugins/isolated/shm-counter.js', import.meta.url))

async function admin (base: string, path: string, body: unknown): Promise<any> {
  const res = await request(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const text = await res.body.text()
  if (res.statusCode >= 300) throw new Error(`${path}: ${res.statusCode} ${text}`)
  return JSON.parse(text)
}

/** `n` requests, each on a new connection (so cluster workers take turns); the x-hits values. */
async function hits (proxy: string, n: number): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) {
    const agent = new Agent({ pipelining: 0 })
    const res = await request(`${proxy}/`, { dispatcher: agent })
    await res.body.dump()
    await agent.close()
    out.push(Number(res.headers['x-hits']))
  }
  return out
}

for (const isolated of [false, true]) {
  t.test(`in one process, ${isolated ? 'isolated' : 'in-process'}: one counter`, async (t) => {
    const prefix = tempDir(t)
    const start = async () => {
      const config = loadConfig({ env: {}, overrides: { prefix, proxy_listen: '127.0.0.1:0', admin_listen: '127.0.0.1:0', admin_gui_listen: 'off', plugins: `bundled,${PLUGIN}`, isolated_plugins: isolated ? 'shm-counter' : '' } })
      return startInProcess(config, createLogger('error'))
    }
    const up = await startUpstream(t, echo)
    let gw = await start()
    const A = `http://127.0.0.1:${gw.admin[0]?.port as number}`
    await admin(A, '/services', { name: 's', url: up.url })
    await admin(A, '/services/s/routes', { paths: ['/'] })
    const plugin = await admin(A, '/plugins', { name: 'shm-counter' })
    const proxy = (): string => `http://127.0.0.1:${gw.proxy[0]?.port as number}`
    const one = await request(`${proxy()}/`)
    await one.body.dump()
    t.equal(one.headers['x-plugin-id'], plugin.id, 'kong.plugin.getId() is the plugin entity\'s id')
    t.same(await hits(proxy(), 5), [2, 3, 4, 5, 6])
    await gw.stop()
    gw = await start()
    t.teardown(() => gw.stop())
    t.same(await hits(proxy(), 2), [1, 2], 'a restarted node starts with empty dictionaries')
  })
}

t.test('worker_processes = 2: the count is the node\'s, not each worker\'s', async (t) => {
  const up = await startUpstream(t, echo)
  const gw = await startGateway(t, ['--prefix', tempDir(t)], { TOLLGATE_WORKER_PROCESSES: '2', TOLLGATE_PLUGINS: `bundled,${PLUGIN}`, TOLLGATE_ALLOW_DEBUG_HEADER: 'on' })
  await admin(gw.admin, '/services', { name: 's', url: up.url })
  await admin(gw.admin, '/services/s/routes', { paths: ['/'] })
  await admin(gw.admin, '/plugins', { name: 'shm-counter' })
  // Both workers must be answering with the plugin before counting: wait until one answer
  // has x-hits (config reaches workers within a poll).
  let seen: number[] = []
  for (let i = 0; i < 200 && seen.length === 0; i++) {
    const res = await request(`${gw.proxy}/`)
    await res.body.dump()
    if (res.headers['x-hits'] !== undefined) seen = [Number(res.headers['x-hits'])]
  }
  const workers = new Set<string>()
  const values: number[] = []
  for (let i = 0; i < 40; i++) {
    const agent = new Agent({ pipelining: 0 })
    const res = await request(`${gw.proxy}/`, { dispatcher: agent, headers: { 'kong-debug': '1' } })
    await res.body.dump()
    await agent.close()
    workers.add(String(res.headers['tollgate-worker']))
    values.push(Number(res.headers['x-hits']))
  }
  t.ok(workers.size === 2, `both workers answered (${[...workers].join(', ')})`)
  const first = values[0] as number
  t.same(values, values.map((_, i) => first + i), 'consecutive counts across both workers: one counter for the node')
})

t.test("the SDK's test kit gives each run fresh dictionaries", async (t) => {
  const { definePlugin, runPlugin, Type } = await import('@tollgate/sdk')
  const counter = definePlugin({
    name: 'kit-counter',
    version: '1.0.0',
    priority: 900,
    schema: Type.Object({}, { additionalProperties: false }),
    access (kong) {
      const d = kong.shm('kit')
      d.incr('n', 1, 0)
      kong.response.exit(200, { n: d.incr('n', 1, 0), keys: d.keys() })
    },
  })
  const first = await runPlugin(counter, {})
  t.same(JSON.parse(String(first.response.body)), { n: 2, keys: ['n'] })
  const second = await runPlugin(counter, {})
  t.same(JSON.parse(String(second.response.body)), { n: 2, keys: ['n'] }, 'nothing left from the run before')
})
