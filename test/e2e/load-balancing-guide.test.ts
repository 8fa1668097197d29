// Kong's "Load Balancing" getting-started guide, command for command (form bodies, as its
// curl commands send them), against `tollgate start` in a child process, with two local
// upstreams standing in for httpbin.org and mockbin.org. Then what the guide's promise
// rests on, under load: weights, and a target killed and restarted, with passive and
// active checks, with one process and with two worker processes sharing health.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { Agent, request } from 'undici'
import { form, startGateway, type Running } from '../helpers/process.js'
import { until } from '../helpers/gateway.js'
import { tempDir } from '../helpers/store.js'

async function json (url: string, method = 'GET', body?: unknown): Promise<any> {
  const res = await request(url, { method: method as 'GET', headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.body.text()
  if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${text}`)
  return text === '' ? undefined : JSON.parse(text)
}

/** A site that echoes its name and the Host it got (httpbin's /headers, more or less). */
interface Site { name: string, port: number, server: Server, start: () => Promise<void>, stop: () => Promise<void> }

async function site (t: Test, name: string, port = 0): Promise<Site> {
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    req.resume()
    const body = JSON.stringify({ site: name, headers: { Host: req.headers.host } })
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
    res.end(body)
  }
  const s: Site = {
    name,
    port,
    server: createServer(handler),
    async start () {
      s.server = createServer(handler)
      await new Promise<void>((resolve, reject) => { s.server.once('error', reject); s.server.listen(s.port, '127.0.0.1', resolve) })
      s.port = (s.server.address() as AddressInfo).port
    },
    stop: () => new Promise<void>((resolve) => { s.server.closeAllConnections(); s.server.close(() => resolve()) }),
  }
  await s.start()
  t.teardown(() => s.server.listening ? s.stop() : undefined)
  return s
}

/** Runs `clients` request loops against `url` until stopped; tallies sites and failures. */
function load (url: string, clients: number) {
  let running = true
  const bySite = new Map<string, number>()
  let failed = 0
  const agent = new Agent({ connections: clients, headersTimeout: 30_000, bodyTimeout: 30_000 })
  const loops = Array.from({ length: clients }, async () => {
    while (running) {
      try {
        const res = await request(url, { dispatcher: agent })
        const text = await res.body.text()
        if (res.statusCode !== 200) { failed++; continue }
        const name = (JSON.parse(text) as { site: string }).site
        bySite.set(name, (bySite.get(name) ?? 0) + 1)
      } catch {
        failed++
      }
    }
  })
  return {
    bySite,
    failed: () => failed,
    total: () => failed + [...bySite.values()].reduce((a, b) => a + b, 0),
    stop: async () => { running = false; await Promise.all(loops); await agent.close() },
  }
}

const hostOf = async (url: string): Promise<string> => {
  const res = await request(url)
  return ((await res.body.json()) as { headers: { Host: string } }).headers.Host
}

t.test('the Load Balancing guide', async (t) => {
  const httpbin = await site(t, 'httpbin')
  const mockbin = await site(t, 'mockbin')
  const gw = await startGateway(t, ['--prefix', tempDir(t)])
  const A = gw.admin

  // The Key Authentication chapter left a service and a route behind.
  t.equal((await form(`${A}/services`, 'POST', { name: 'example_service', url: `http://127.0.0.1:${httpbin.port}` })).status, 201)
  t.equal((await form(`${A}/services/example_service/routes`, 'POST', { name: 'example_route', 'paths[]': '/mock' })).status, 201)

  // 1. Create an upstream.
  let r = await form(`${A}/upstreams`, 'POST', { name: 'example_upstream' })
  t.same([r.status, r.body.name, r.body.algorithm], [201, 'example_upstream', 'round-robin'])
  // 2. Create upstream targets.
  r = await form(`${A}/upstreams/example_upstream/targets`, 'POST', { target: `127.0.0.1:${httpbin.port}` })
  t.same([r.status, r.body.weight], [201, 100])
  r = await form(`${A}/upstreams/example_upstream/targets`, 'POST', { target: `127.0.0.1:${mockbin.port}` })
  t.equal(r.status, 201)
  // 3. Update the service to use the upstream.
  r = await form(`${A}/services/example_service`, 'PATCH', { host: 'example_upstream' })
  t.same([r.status, r.body.host], [200, 'example_upstream'])
  // 4. Validate: `for i in {1..6}; do curl -s http://localhost:8000/mock/headers | grep -ia -m1 '"host"'; done`
  const hosts: string[] = []
  for (let i = 0; i < 6; i++) hosts.push(await hostOf(`${gw.proxy}/mock/headers`))
  t.same(hosts.sort(), [
    ...Array(3).fill(`127.0.0.1:${httpbin.port}`),
    ...Array(3).fill(`127.0.0.1:${mockbin.port}`),
  ].sort(), 'the Host header alternates between the two targets')

  // Weights 100/50: within 5% of 2:1 over 3,000 requests.
  r = await form(`${A}/upstreams/example_upstream/targets/127.0.0.1:${mockbin.port}`, 'PATCH', { weight: '50' })
  t.same([r.status, r.body.weight], [200, 50])
  const counts = new Map<string, number>()
  const agent = new Agent({ connections: 8 })
  t.teardown(() => agent.close())
  let next = 0
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next++ < 3000) {
      const res = await request(`${gw.proxy}/mock/headers`, { dispatcher: agent })
      const name = ((await res.body.json()) as { site: string }).site
      counts.set(name, (counts.get(name) ?? 0) + 1)
    }
  }))
  const ratio = (counts.get('httpbin') ?? 0) / (counts.get('mockbin') ?? 1)
  t.ok(ratio > 1.9 && ratio < 2.1, `httpbin:mockbin is ${ratio.toFixed(3)} (2 ± 5%) over 3,000 requests`)
})

async function killedUnderLoad (t: Test, env: Record<string, string>, clients: number, slack: number): Promise<void> {
  const a = await site(t, 'a')
  const b = await site(t, 'b')
  const gw: Running = await startGateway(t, ['--prefix', tempDir(t)], env)
  const A = gw.admin
  const TCP_FAILURES = 3
  await json(`${A}/upstreams`, 'POST', {
    name: 'kill.internal',
    healthchecks: {
      passive: { unhealthy: { tcp_failures: TCP_FAILURES } },
      active: { http_path: '/', timeout: 1, healthy: { interval: 0.1, successes: 2 }, unhealthy: { interval: 0.1, tcp_failures: 1 } },
    },
  })
  await json(`${A}/upstreams/kill.internal/targets`, 'POST', { target: `127.0.0.1:${a.port}` })
  await json(`${A}/upstreams/kill.internal/targets`, 'POST', { target: `127.0.0.1:${b.port}` })
  // retries = 0, so that every attempt on the dead target is a failed request to count.
  await json(`${A}/services`, 'POST', { name: 'k', host: 'kill.internal', retries: 0 })
  await json(`${A}/services/k/routes`, 'POST', { paths: ['/k'] })
  const bHealth = async (): Promise<string> => {
    const h = await json(`${A}/upstreams/kill.internal/health`)
    return h.data.find((d: { target: string }) => d.target === `127.0.0.1:${b.port}`).health
  }

  const l = load(`${gw.proxy}/k`, clients)
  await until(() => (l.bySite.get('b') ?? 0) >= 20, 'traffic on b')
  await b.stop()
  await until(async () => (await bHealth()) === 'UNHEALTHY', 'b marked unhealthy')
  const total = l.total()
  await until(() => l.total() >= total + 200, '200 more requests')
  const failed = l.failed()
  // Passive checks take b out after TCP_FAILURES failures (active probes may do it first).
  // Requests already on their way to b when it is taken out fail too: `slack` of them.
  t.ok(failed <= TCP_FAILURES + slack, `${failed} requests failed (at most unhealthy.tcp_failures = ${TCP_FAILURES}, + ${slack} in flight)`)
  // (The request whose failure marked b may be counted here just after the mark is seen.)
  const settled = l.total()
  await until(() => l.total() >= settled + 200, '200 requests more')
  t.equal(l.failed(), failed, 'none failed once b was out of rotation')

  const bBefore = l.bySite.get('b') ?? 0
  await b.start()
  await until(async () => (await bHealth()) === 'HEALTHY', 'b healthy again after healthy.successes probes')
  await until(() => (l.bySite.get('b') ?? 0) > bBefore + 20, 'traffic on b again')
  const result = { failed: l.failed(), a: l.bySite.get('a'), b: l.bySite.get('b') }
  await l.stop()
  t.equal(result.failed, failed, 'no failure while b came back')
  t.ok((result.a ?? 0) > 0 && (result.b ?? 0) > 0, `both served (a ${result.a}, b ${result.b})`)
}

t.test('a target killed under load, one process: passive checks take it out, active checks bring it back', async (t) => {
  // One client: the bound is exact.
  await killedUnderLoad(t, { TOLLGATE_WORKER_PROCESSES: '1' }, 1, 0)
})

t.test('the same with two worker processes sharing the node\'s health', async (t) => {
  // Four clients over two workers. A worker learns b's new state from the primary one IPC
  // message after the third failure; a refused connection fails in well under a millisecond,
  // so on a busy machine each client can fail a few times while that message is on its way
  // (CI once saw 9). The bound says the failures stop within a few rounds per client; the
  // exact count is the one-process test's job, and 'none failed once b was out' still holds.
  await killedUnderLoad(t, { TOLLGATE_WORKER_PROCESSES: '2' }, 4, 4 * 4)
})
