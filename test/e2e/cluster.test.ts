// worker_processes = 2, through `tollgate start` in a child process: config changes reach
// every worker, a killed worker is replaced, a reload fails no request, shutdown drains.
import t, { type Test } from 'tap'
import { Agent, request } from 'undici'
import { runCli, startGateway, type Running } from '../helpers/process.js'
import { startUpstream, echo } from '../helpers/gateway.js'
import { tempDir } from '../helpers/store.js'

const ENV = { TOLLGATE_WORKER_PROCESSES: '2', TOLLGATE_ALLOW_DEBUG_HEADER: 'on' }

async function admin (gw: Running, method: string, path: string, body?: unknown): Promise<any> {
  const res = await request(`${gw.admin}${path}`, { method: method as 'GET', headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.body.text()
  if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${text}`)
  return text === '' ? undefined : JSON.parse(text)
}

/** Which worker answered, and how. */
async function probe (gw: Running, path: string, agent?: Agent): Promise<{ status: number, worker: string | undefined }> {
  const res = await request(`${gw.proxy}${path}`, { headers: { 'kong-debug': '1' }, dispatcher: agent })
  await res.body.dump()
  return { status: res.statusCode, worker: res.headers['tollgate-worker'] as string | undefined }
}

/** Runs `clients` sequential request loops until stopped; counts outcomes. */
function load (gw: Running, path: string, clients: number): { stop: () => Promise<{ ok: number, failed: string[] }> } {
  let running = true
  const failed: string[] = []
  let ok = 0
  // Bounded: a request that is never answered counts as failed instead of stalling the test.
  const agent = new Agent({ connections: clients, headersTimeout: 10_000, bodyTimeout: 10_000 })
  const loops = Array.from({ length: clients }, async () => {
    while (running) {
      try {
        const res = await request(`${gw.proxy}${path}`, { dispatcher: agent })
        await res.body.dump()
        if (res.statusCode === 200) ok++
        else failed.push(`status ${res.statusCode}`)
      } catch (err) {
        failed.push((err as Error).message)
      }
    }
  })
  return {
    stop: async () => { running = false; await Promise.all(loops); await agent.close(); return { ok, failed } },
  }
}

async function setup (t: Test): Promise<Running> {
  const up = await startUpstream(t, echo)
  const gw = await startGateway(t, ['--prefix', tempDir(t)], ENV)
  await admin(gw, 'POST', '/services', { name: 's', url: up.url })
  await admin(gw, 'POST', '/services/s/routes', { name: 'r', paths: ['/ok'] })
  return gw
}

t.test('a change reaches every worker within a second', async (t) => {
  const gw = await setup(t)
  const root = await admin(gw, 'GET', '/')
  t.equal(root.pids.workers.length, 2, 'two worker processes')
  // Workers accept connections themselves, so the kernel decides who gets one: bursts of
  // fresh concurrent connections reach both.
  const burst = async (path: string): Promise<{ status: number, worker: string | undefined }[]> => {
    const agents = Array.from({ length: 20 }, () => new Agent())
    const results = await Promise.all(agents.map((a) => probe(gw, path, a)))
    await Promise.all(agents.map((a) => a.close()))
    return results
  }
  // Both workers have served before the change, so each holds a compiled router.
  const before = new Set<string>()
  for (let i = 0; i < 20 && before.size < 2; i++) for (const r of await burst('/ok')) before.add(r.worker as string)
  t.equal(before.size, 2, 'requests reach both workers')
  const t0 = Date.now()
  await admin(gw, 'POST', '/services/s/routes', { name: 'fresh', paths: ['/fresh'] })
  const served = new Set<string>()
  let elapsed = 0
  while (served.size < 2 && (elapsed = Date.now() - t0) < 5000) {
    for (const r of await burst('/fresh')) if (r.status === 200 && r.worker !== undefined) served.add(r.worker)
  }
  t.same([...served].sort(), [...before].sort(), 'both workers serve the new route')
  t.ok(elapsed < 1000, `within ${elapsed} ms of the write`)
})

t.test('a killed worker is replaced; only its in-flight requests may fail', async (t) => {
  const gw = await setup(t)
  const root = await admin(gw, 'GET', '/')
  const [victim] = root.pids.workers as number[]
  const run = load(gw, '/ok', 8)
  await new Promise((resolve) => setTimeout(resolve, 500))
  process.kill(victim as number, 'SIGKILL')
  await new Promise((resolve) => setTimeout(resolve, 1500))
  const { ok, failed } = await run.stop()
  t.ok(ok > 100, `${ok} requests succeeded`)
  t.ok(failed.length <= 8, `${failed.length} failed (at most the 8 that could be in flight on the killed worker)`)
  let after = await admin(gw, 'GET', '/')
  for (let i = 0; i < 100 && after.pids.workers.length < 2; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    after = await admin(gw, 'GET', '/')
  }
  t.equal(after.pids.workers.length, 2, 'back to two workers')
  t.notOk(after.pids.workers.includes(victim), 'the dead one was replaced')
})

t.test('reload replaces every worker and fails no request', async (t) => {
  const gw = await setup(t)
  const before = (await admin(gw, 'GET', '/')).pids.workers as number[]
  const run = load(gw, '/ok', 8)
  await new Promise((resolve) => setTimeout(resolve, 300))
  const r = await runCli(['reload', '--prefix', (await admin(gw, 'GET', '/')).configuration.prefix as string], ENV)
  t.equal(r.code, 0, r.stderr)
  const deadline = Date.now() + 20_000
  while (!gw.output().includes('workers replaced') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
  await new Promise((resolve) => setTimeout(resolve, 300))
  const { ok, failed } = await run.stop()
  t.ok(ok > 100, `${ok} requests succeeded`)
  t.same(failed, [], 'no request failed')
  const after = (await admin(gw, 'GET', '/')).pids.workers as number[]
  t.equal(after.length, 2)
  t.same(after.filter((p) => before.includes(p)), [], 'all workers are new')
})

t.test('SIGTERM drains in-flight requests on the workers', async (t) => {
  const up = await startUpstream(t, (req, res) => { setTimeout(() => echo(req, res), 800) })
  const gw = await startGateway(t, ['--prefix', tempDir(t)], ENV)
  await admin(gw, 'POST', '/services', { name: 'slow', url: up.url })
  await admin(gw, 'POST', '/services/slow/routes', { paths: ['/slow'] })
  const inflight = Promise.all(Array.from({ length: 4 }, () => request(`${gw.proxy}/slow`).then(async (res) => { await res.body.dump(); return res.statusCode })))
  await new Promise((resolve) => setTimeout(resolve, 200))
  gw.child.kill('SIGTERM')
  t.same(await inflight, [200, 200, 200, 200], 'requests in flight complete')
  const exit = await gw.exited
  t.equal(exit.code, 0)
  const health = await runCli(['health', '--prefix', (exit.stdout.match(/"prefix":"([^"]+)"/) as RegExpMatchArray)[1] as string])
  t.equal(health.code, 1, 'health says it is down')
  t.match(health.stderr, /tollgate is not running/)
})
