// worker_processes = 2, through `tollgate start` in a child process: config changes reach
// every worker, a killed worker is replaced, a reload fails no request, shutdown drains.
import t, { type Test } from 'tap'
import { Agent, request } from 'undici'
import { refused, runCli, startGateway, type Running } from '../helpers/process.js'
import { startUpstream, echo, until } from '../helpers/gateway.js'
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

interface Load {
  /** Requests answered 200 so far. */
  ok: () => number
  /** How many of those each worker (by pid) answered. */
  byWorker: Map<number, number>
  stop: () => Promise<{ ok: number, failed: string[] }>
}

/** Runs `clients` sequential request loops until stopped; counts outcomes, and who answered. */
function load (gw: Running, path: string, clients: number): Load {
  let running = true
  const failed: string[] = []
  const byWorker = new Map<number, number>()
  let ok = 0
  // Bounded: a request that is never answered counts as failed instead of stalling the test.
  const agent = new Agent({ connections: clients, headersTimeout: 30_000, bodyTimeout: 30_000 })
  const loops = Array.from({ length: clients }, async () => {
    while (running) {
      try {
        const res = await request(`${gw.proxy}${path}`, { dispatcher: agent, headers: { 'kong-debug': '1' } })
        await res.body.dump()
        if (res.statusCode === 200) {
          ok++
          const worker = Number(res.headers['tollgate-worker'])
          byWorker.set(worker, (byWorker.get(worker) ?? 0) + 1)
        } else failed.push(`status ${res.statusCode}`)
      } catch (err) {
        failed.push((err as Error).message)
      }
    }
  })
  return {
    ok: () => ok,
    byWorker,
    stop: async () => { running = false; await Promise.all(loops); await agent.close(); return { ok, failed } },
  }
}

/** The worker pids the primary reports. */
async function workers (gw: Running): Promise<number[]> {
  return (await admin(gw, 'GET', '/')).pids.workers as number[]
}

async function setup (t: Test): Promise<Running> {
  const up = await startUpstream(t, echo)
  const gw = await startGateway(t, ['--prefix', tempDir(t)], ENV)
  await admin(gw, 'POST', '/services', { name: 's', url: up.url })
  await admin(gw, 'POST', '/services/s/routes', { name: 'r', paths: ['/ok'] })
  return gw
}

// How soon is not asserted (a loaded machine is slow): the primary announces each write and
// workers also poll, and the test waits until both serve the change.
t.test('a change reaches every worker', async (t) => {
  const gw = await setup(t)
  t.equal((await workers(gw)).length, 2, 'two worker processes')
  // Workers accept connections themselves, so the kernel decides who gets one: bursts of
  // fresh concurrent connections reach both.
  let sent = 0
  const burst = async (path: string): Promise<{ status: number, worker: string | undefined }[]> => {
    sent += 20
    const agents = Array.from({ length: 20 }, () => new Agent())
    const results = await Promise.all(agents.map((a) => probe(gw, path, a)))
    await Promise.all(agents.map((a) => a.close()))
    return results
  }
  // Both workers have served before the change, so each holds a compiled router.
  const reached = async (path: string, into: Set<string>): Promise<boolean> => {
    for (const r of await burst(path)) if (r.status === 200 && r.worker !== undefined) into.add(r.worker)
    return into.size >= 2
  }
  const before = new Set<string>()
  await until(() => reached('/ok', before), 'requests reaching both workers')
  t.equal(before.size, 2, 'requests reach both workers')
  await admin(gw, 'POST', '/services/s/routes', { name: 'fresh', paths: ['/fresh'] })
  const served = new Set<string>()
  await until(() => reached('/fresh', served), 'both workers serving the new route')
  t.same([...served].sort(), [...before].sort(), 'both workers serve the new route')
  // Each worker sends the primary its completed seconds: the node's live view counts both.
  let counted = 0
  await until(async () => {
    counted = (await admin(gw, 'GET', '/status/traffic')).data.reduce((n: number, r: { requests: number }) => n + r.requests, 0)
    return counted === sent
  }, "every worker's requests in /status/traffic")
  t.equal(counted, sent, "/status/traffic counts both workers' requests")
})

t.test('a killed worker is replaced; only its in-flight requests may fail', async (t) => {
  const gw = await setup(t)
  const run = load(gw, '/ok', 8)
  await until(() => run.ok() >= 50, 'the load to be served')
  // The victim is the worker that has answered the most: the load holds connections to it.
  const [victim] = [...run.byWorker].sort((a, b) => b[1] - a[1])[0] as [number, number]
  t.ok((await workers(gw)).includes(victim), 'the victim is one of the workers')
  const atKill = run.ok()
  process.kill(victim, 'SIGKILL')
  await until(async () => { const w = await workers(gw); return w.length === 2 && !w.includes(victim) }, 'a replacement worker')
  // The load goes on: the survivor (and the replacement) answer what the victim did.
  await until(() => run.ok() >= atKill + 100, '100 more requests answered after the kill')
  const { ok, failed } = await run.stop()
  t.ok(ok - atKill >= 100, `${ok - atKill} requests succeeded after the kill`)
  t.ok(failed.length <= 8, `${failed.length} failed (at most the 8 that could be in flight on the killed worker)`)
  const after = await workers(gw)
  t.equal(after.length, 2, 'back to two workers')
  t.notOk(after.includes(victim), 'the dead one was replaced')
})

t.test('reload replaces every worker and fails no request', async (t) => {
  const gw = await setup(t)
  const before = await workers(gw)
  const run = load(gw, '/ok', 8)
  await until(() => run.ok() >= 50, 'the load to be served')
  const r = await runCli(['reload', '--prefix', (await admin(gw, 'GET', '/')).configuration.prefix as string], ENV)
  t.equal(r.code, 0, r.stderr)
  await until(() => gw.output().includes('workers replaced'), 'the reload to finish', 60_000)
  // The load goes on after the switch, on the new workers only (the old ones have exited).
  const atReplaced = run.ok()
  await until(() => run.ok() >= atReplaced + 100, '100 more requests answered after the reload')
  const { ok, failed } = await run.stop()
  t.ok(ok > 100, `${ok} requests succeeded`)
  t.same(failed, [], 'no request failed')
  const after = await workers(gw)
  t.equal(after.length, 2)
  t.same(after.filter((p) => before.includes(p)), [], 'all workers are new')
  t.ok([...run.byWorker.keys()].some((p) => after.includes(p)), 'the new workers answered some of the load')
})

t.test('SIGTERM drains in-flight requests on the workers', async (t) => {
  // The upstream holds every request until the test lets it answer.
  const held: Array<() => void> = []
  const up = await startUpstream(t, (req, res) => { held.push(() => echo(req, res)) })
  const gw = await startGateway(t, ['--prefix', tempDir(t)], ENV)
  await admin(gw, 'POST', '/services', { name: 'slow', url: up.url })
  await admin(gw, 'POST', '/services/slow/routes', { paths: ['/slow'] })
  const inflight = Promise.all(Array.from({ length: 4 }, () => request(`${gw.proxy}/slow`).then(async (res) => { await res.body.dump(); return res.statusCode })))
  await until(() => held.length === 4, 'the four requests at the upstream')
  gw.child.kill('SIGTERM')
  // Every worker has stopped accepting (the shared listening socket is gone), so shutdown is
  // under way, while the four are still held: only now may they be answered.
  await until(() => refused(gw.proxy), 'the workers to stop accepting connections')
  t.equal(gw.child.exitCode, null, 'still running while requests are in flight')
  for (const answer of held) answer()
  t.same(await inflight, [200, 200, 200, 200], 'requests in flight complete')
  const exit = await gw.exited
  t.equal(exit.code, 0)
  const health = await runCli(['health', '--prefix', (exit.stdout.match(/"prefix":"([^"]+)"/) as RegExpMatchArray)[1] as string])
  t.equal(health.code, 1, 'health says it is down')
  t.match(health.stderr, /tollgate is not running/)
})
