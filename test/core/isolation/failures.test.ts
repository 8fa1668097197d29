// Worker isolation contains a plugin's failures: the request gets Kong's 500, a log line
// names the plugin, the pool replaces the worker, and other requests keep being served.
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Writable } from 'node:stream'
import { BroadcastChannel } from 'node:worker_threads'
import t from 'tap'
import { request } from 'undici'
import { Type, definePlugin } from '@tollgate/sdk'
import { loadConfig } from '../../../core/config/index.js'
import { startGateway } from '../../../core/gateway.js'
import { createLogger } from '../../../core/log.js'
import { echo, startUpstream, until } from '../../helpers/gateway.js'
import { tempDir } from '../../helpers/store.js'

/** What requests (by x-do) have begun their access phase: in process, before misbehave's. */
const reached: string[] = []
const spy = definePlugin({
  name: 'reached',
  version: '1.0.0',
  priority: 1000,
  schema: Type.Object({}, { additionalProperties: false }),
  access (kong) { reached.push(kong.request.getHeader('x-do') ?? '') },
})

t.test('timeouts, throws, exits and memory blow-ups fail only their request', async (t) => {
  const lines: string[] = []
  const sink = new Writable({ write (chunk: Buffer, _enc, cb) { lines.push(chunk.toString()); cb() } })
  const config = loadConfig({
    env: {},
    overrides: {
      prefix: tempDir(t), proxy_listen: '127.0.0.1:0', admin_listen: '127.0.0.1:0', admin_gui_listen: 'off',
      plugins: `bundled,${fileURLToPath(new URL('../../../dist/test/fixtures/plugins/isolated/misbehave.js', import.meta.url))},${fileURLToPath(new URL('../../../dist/test/fixtures/plugins/isolated/first.js', import.meta.url))}`,
      // The timeout is what 'hang' and 'slow' wait for, and a bound on every other phase:
      // generous for a loaded machine, short enough for the two cases that wait it out.
      // The heap limit is the default: with 64 MB a thread loading every bundled plugin ran
      // out of heap at start-up under the CI run's coverage ("JS heap out of memory", four
      // threads in a row). 'oom' outgrows any limit.
      isolated_plugins: 'misbehave', isolation_timeout: '5000', isolation_max_memory: '128', isolation_pool_size: '2',
    },
  })
  const gw = await startGateway(config, createLogger('error', sink), { plugins: [spy] })
  t.teardown(() => gw.stop())
  const up = await startUpstream(t, echo)
  const admin = `http://127.0.0.1:${gw.admin[0]?.port as number}`
  const proxy = `http://127.0.0.1:${gw.proxy[0]?.port as number}`
  const post = (path: string, body: unknown) => request(`${admin}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.body.json())
  await post('/services', { name: 's', url: up.url })
  await post('/services/s/routes', { paths: ['/'] })
  await post('/plugins', { name: 'misbehave' })
  await post('/plugins', { name: 'first' })
  await post('/plugins', { name: 'reached' })
  const call = async (what: string) => {
    const res = await request(`${proxy}/x`, { headers: { 'x-do': what, accept: 'application/json' } })
    return { status: res.statusCode, body: await res.body.text() }
  }

  let r = await call('nothing')
  t.equal(r.status, 200, 'an isolated plugin that behaves lets requests through')
  if (process.platform === 'linux') {
    // The isolation threads run below the event loop's priority (worker.ts): nice +10.
    const nice = readdirSync('/proc/self/task').map((tid) => {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])
    })
    t.equal(nice.filter((n) => n === 10).length, 2, 'both isolation threads run at nice 10')
    t.ok(nice.includes(0), 'the event loop at 0')
  }
  t.equal(JSON.parse(r.body).headers['x-misbehave'], 'fine', 'its change reached the upstream')
  // A handler awaiting I/O answers on its own, after its batch: batch-mates do not wait.
  // The waiting one is held until the other has its answer (and says it is waiting).
  const channel = new BroadcastChannel('misbehave-wait')
  t.teardown(() => channel.close())
  const holding = new Promise<void>((resolve) => { channel.onmessage = (event) => { if ((event as MessageEvent).data === 'waiting') resolve() } })
  const done: string[] = []
  const slow = call('wait').then((r) => { done.push('wait'); return r })
  const quick = await call('nothing').then((r) => { done.push('nothing'); return r })
  await holding
  channel.postMessage('go')
  const waited = await slow
  t.equal(waited.status, 200)
  t.equal(JSON.parse(waited.body).headers['x-misbehave'], 'waited', 'a change made after an await reaches the upstream')
  t.equal(quick.status, 200)
  t.same(done, ['nothing', 'wait'], 'the quick request did not wait for the slow one')

  // A request whose state cannot be sent to a worker (an in-process plugin put a BigInt in
  // ctx.shared) fails alone; the gateway process and its batch-mates go on.
  const [unsent, beside] = await Promise.all([call('unsendable-shared'), call('nothing')])
  t.equal(unsent.status, 500)
  t.equal(beside.status, 200, 'the request beside it is served')

  // A phase whose changes cannot be sent back fails alone, not the batch it travelled in.
  const [unsendable, mate] = await Promise.all([call('unsendable'), call('nothing')])
  t.equal(unsendable.status, 500)
  t.equal(mate.status, 200, 'its batch-mate is served')

  for (const what of ['throw', 'unsendable', 'hang', 'slow', 'exit', 'oom']) {
    lines.length = 0
    reached.length = 0
    // The request alongside is sent once the bad one is in its access phase: the batch that
    // carries the bad one leaves for a worker in that event-loop turn, so the two never
    // share a batch (a batch stuck in a thread, or in a thread that dies, fails whole).
    const failing = call(what)
    await until(() => reached.includes(what), `${what}: the request in its access phase`)
    const [bad, good] = await Promise.all([failing, call('nothing')])
    t.equal(bad.status, 500, `${what}: 500`)
    t.match(JSON.parse(bad.body), { message: 'An unexpected error occurred' })
    t.equal(good.status, 200, `${what}: a request alongside is served`)
    if (good.status !== 200) console.error(lines.filter((l) => l.includes(JSON.parse(good.body).request_id as string)).join(""))
    t.ok(lines.some((l) => l.includes('misbehave')), `${what}: the log line names the plugin`)
    t.equal((await call('nothing')).status, 200, `${what}: and so is the next one`)
  }
})

t.test('a plugin that cannot load in an isolation thread stops the start with its error', async (t) => {
  const config = loadConfig({
    env: {},
    overrides: {
      prefix: tempDir(t), proxy_listen: '127.0.0.1:0', admin_listen: '127.0.0.1:0', admin_gui_listen: 'off',
      plugins: `bundled,${fileURLToPath(new URL('../../../dist/test/fixtures/plugins/isolated/worker-fails.js', import.meta.url))}`,
      isolated_plugins: 'worker-fails', isolation_pool_size: '2',
    },
  })
  await t.rejects(startGateway(config, createLogger('emerg')), /worker-fails cannot load in a worker thread/)
})
