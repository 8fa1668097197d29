// Services balanced over an upstream's targets, end to end through the proxy: real
// upstreams on 127.0.0.1, Kong's Host rule, retries to the next target, the retry rule for
// non-idempotent methods, hashing, weights and Kong's 503 when no target is available.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { PassThrough, Readable } from 'node:stream'
import t from 'tap'
import { request } from 'undici'
import { closedPort, echo, startTestGateway, startUpstream, until, type Upstream } from '../../helpers/gateway.js'
import { RETRY_BODY_LIMIT } from '../../../core/proxy/pipeline.js'
import { Type } from '../../../core/store/schema.js'
import type { PluginDescriptor } from '../../../core/runtime/plugin.js'

const HostSchema = Type.Object({ host: Type.String() }, { additionalProperties: false })
/** Sets the upstream Host, as a plugin may (kong.service.request.set_header). */
const setHost: PluginDescriptor<typeof HostSchema> = {
  name: 'test-set-host',
  version: '1.0.0',
  priority: 800,
  schema: HostSchema,
  access (kong, conf) { kong.service.request.setHeader('host', conf.host) },
}

/** An upstream that says which one it is and what Host it got. */
function named (name: string) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = JSON.stringify({ name, host: req.headers.host, method: req.method, body: Buffer.concat(chunks).toString() })
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
      res.end(body)
    })
  }
}

async function get (url: string, init: Parameters<typeof request>[1] = {}): Promise<{ status: number, body: any, headers: Record<string, unknown> }> {
  const res = await request(url, init)
  const text = await res.body.text()
  let body: unknown = text
  try { body = JSON.parse(text) } catch {}
  return { status: res.statusCode, body, headers: res.headers }
}

t.test('a service whose host names an upstream is balanced over its targets', async (t) => {
  const gw = await startTestGateway(t)
  const a = await startUpstream(t, named('a'))
  const b = await startUpstream(t, named('b'))
  await gw.admin$('POST', '/upstreams', { name: 'lb.internal' })
  await gw.admin$('POST', '/upstreams/lb.internal/targets', { target: `127.0.0.1:${a.port}` })
  await gw.admin$('POST', '/upstreams/lb.internal/targets', { target: `127.0.0.1:${b.port}` })
  await gw.admin$('POST', '/services', { name: 's', host: 'lb.internal', port: 1 })
  await gw.admin$('POST', '/services/s/routes', { paths: ['/lb'] })

  const seen: string[] = []
  for (let i = 0; i < 10; i++) {
    const r = await get(`${gw.proxy}/lb`)
    t.equal(r.status, 200)
    seen.push(r.body.name)
    // Kong's Host for a balanced request: the target's host and port.
    t.equal(r.body.host, `127.0.0.1:${r.body.name === 'a' ? a.port : b.port}`)
  }
  // Equal weights in one process: smooth round-robin alternates.
  for (let i = 1; i < seen.length; i++) t.not(seen[i], seen[i - 1], `request ${i} went to the other target`)

  // Weight 0 takes a target out; the change applies to the next request.
  await gw.admin$('PATCH', `/upstreams/lb.internal/targets/127.0.0.1:${b.port}`, { weight: 0 })
  for (let i = 0; i < 4; i++) t.equal((await get(`${gw.proxy}/lb`)).body.name, 'a', 'only a with b at weight 0')

  // Every target out: Kong's 503.
  await gw.admin$('PATCH', `/upstreams/lb.internal/targets/127.0.0.1:${a.port}`, { weight: 0 })
  const r = await get(`${gw.proxy}/lb`, { headers: { accept: 'application/json' } })
  t.equal(r.status, 503)
  t.match(r.body, { message: 'failure to get a peer from the ring-balancer' })

  // An upstream without targets: the same 503.
  await gw.admin$('POST', '/upstreams', { name: 'empty.internal' })
  await gw.admin$('POST', '/services', { name: 'e', host: 'empty.internal' })
  await gw.admin$('POST', '/services/e/routes', { paths: ['/empty'] })
  t.equal((await get(`${gw.proxy}/empty`)).status, 503)

  // Deleting the upstream: the host is resolved as a name again (.internal does not resolve).
  await gw.admin$('DELETE', '/upstreams/empty.internal')
  const gone = await get(`${gw.proxy}/empty`, { headers: { accept: 'application/json' } })
  t.equal(gone.status, 503)
  t.match(gone.body, { message: 'name resolution failed' })
})

t.test("Host: host_header, default ports left out, the route's preserve_host, a plugin's", async (t) => {
  const gw = await startTestGateway(t, { plugins: [setHost] })
  const a = await startUpstream(t, named('a'))
  await gw.admin$('POST', '/upstreams', { name: 'hh.internal' })
  await gw.admin$('POST', '/upstreams/hh.internal/targets', { target: `localhost:${a.port}` })
  await gw.admin$('POST', '/services', { name: 's', host: 'hh.internal' })
  await gw.admin$('POST', '/services/s/routes', { name: 'plain', paths: ['/plain'] })
  await gw.admin$('POST', '/services/s/routes', { name: 'kept', paths: ['/kept'], preserve_host: true })

  let r = await get(`${gw.proxy}/plain`)
  t.equal(r.status, 200)
  t.equal(r.body.host, `localhost:${a.port}`, 'a hostname target: its name (hosts file) and port')
  r = await get(`${gw.proxy}/kept`, { headers: { host: 'client.example' } })
  t.equal(r.body.host, 'client.example', 'preserve_host keeps the client Host')
  await gw.admin$('POST', '/services/s/routes', { name: 'set', paths: ['/set'] })
  await gw.admin$('POST', '/routes/set/plugins', { name: 'test-set-host', config: { host: 'from.plugin' } })
  r = await get(`${gw.proxy}/set`)
  t.equal(r.body.host, 'from.plugin', 'a Host a plugin set is kept, as Kong keeps var.upstream_host')

  await gw.admin$('PATCH', '/upstreams/hh.internal', { host_header: 'api.example' })
  r = await get(`${gw.proxy}/plain`)
  t.equal(r.body.host, `api.example:${a.port}`, "host_header, with the target's port as Kong appends it")
  await gw.admin$('PATCH', '/upstreams/hh.internal', { host_header: 'api.example:9999' })
  r = await get(`${gw.proxy}/plain`)
  t.equal(r.body.host, 'api.example:9999', 'a host_header with a port is the whole header')
})

t.test('retries go to the next target; a stopped target costs no client errors', async (t) => {
  const gw = await startTestGateway(t)
  const a = await startUpstream(t, named('a'))
  const dead = await closedPort()
  await gw.admin$('POST', '/upstreams', { name: 'rt.internal' })
  await gw.admin$('POST', '/upstreams/rt.internal/targets', { target: `127.0.0.1:${a.port}` })
  await gw.admin$('POST', '/upstreams/rt.internal/targets', { target: `127.0.0.1:${dead}` })
  await gw.admin$('POST', '/services', { name: 's', host: 'rt.internal' })
  await gw.admin$('POST', '/services/s/routes', { paths: ['/rt'] })
  for (let i = 0; i < 6; i++) {
    const r = await get(`${gw.proxy}/rt`, { method: i % 2 === 0 ? 'GET' : 'POST', body: i % 2 === 0 ? undefined : `order=${i}` })
    t.equal(r.status, 200, `request ${i}: refused connections are retried, a POST with its body too (nothing was sent)`)
    t.equal(r.body.name, 'a')
    t.equal(r.body.host, `127.0.0.1:${a.port}`, 'the Host follows the retry')
    if (i % 2 === 1) t.equal(r.body.body, `order=${i}`, 'the whole body reached the target the retry went to')
  }
  // retries = 0: the dead target's share fails.
  await gw.admin$('PATCH', '/services/s', { retries: 0 })
  const statuses = new Set<number>()
  for (let i = 0; i < 6; i++) statuses.add((await get(`${gw.proxy}/rt`)).status)
  t.same([...statuses].sort(), [200, 502], 'without retries half the requests meet the dead target')
})

t.test('a request already sent with a non-idempotent method is not sent again', async (t) => {
  const gw = await startTestGateway(t)
  // Both targets read the whole request and reset the connection without answering.
  const hits: string[] = []
  const reset = (name: string) => (req: IncomingMessage) => {
    let bytes = 0
    req.on('data', (c: Buffer) => { bytes += c.length })
    req.on('end', () => { hits.push(`${name} ${req.method} ${bytes}`); req.socket.destroy() })
  }
  const a = await startUpstream(t, reset('a'))
  const b = await startUpstream(t, reset('b'))
  await gw.admin$('POST', '/upstreams', { name: 'ni.internal' })
  await gw.admin$('POST', '/upstreams/ni.internal/targets', { target: `127.0.0.1:${a.port}` })
  await gw.admin$('POST', '/upstreams/ni.internal/targets', { target: `127.0.0.1:${b.port}` })
  await gw.admin$('POST', '/services', { name: 's', host: 'ni.internal', retries: 3 })
  await gw.admin$('POST', '/services/s/routes', { paths: ['/ni'] })

  let r = await get(`${gw.proxy}/ni`, { method: 'POST' })
  t.equal(r.status, 502)
  t.equal(hits.length, 1, 'the POST reached one target once')
  hits.length = 0
  r = await get(`${gw.proxy}/ni`, { method: 'PUT' })
  t.equal(r.status, 502)
  t.equal(hits.length, 4, 'an idempotent PUT is tried 1 + retries times')
  t.ok(hits.some((h) => h.startsWith('a')) && hits.some((h) => h.startsWith('b')), 'on both targets')
  hits.length = 0
  r = await get(`${gw.proxy}/ni`, { method: 'PUT', body: 'y'.repeat(1000) })
  t.equal(r.status, 502)
  t.same(hits.map((h) => h.split(' ')[2]), ['1000', '1000', '1000', '1000'], 'a streamed body is sent whole on every retry')
  hits.length = 0
  r = await get(`${gw.proxy}/ni`, { method: 'PUT', body: 'z'.repeat(RETRY_BODY_LIMIT + 1) })
  t.equal(r.status, 502)
  t.equal(hits.length, 1, 'a body over RETRY_BODY_LIMIT, already sent, is not kept to send again')
})

t.test('consistent hashing: the same header value sticks to one target; a cookie is made when absent', async (t) => {
  const gw = await startTestGateway(t)
  const ups: Upstream[] = []
  for (const n of ['a', 'b', 'c']) ups.push(await startUpstream(t, named(n)))
  await gw.admin$('POST', '/upstreams', { name: 'ch.internal', hash_on: 'header', hash_on_header: 'x-user' })
  for (const u of ups) await gw.admin$('POST', '/upstreams/ch.internal/targets', { target: `127.0.0.1:${u.port}` })
  await gw.admin$('POST', '/services', { name: 's', host: 'ch.internal' })
  await gw.admin$('POST', '/services/s/routes', { paths: ['/ch'] })
  const where = new Map<string, Set<string>>()
  for (let i = 0; i < 60; i++) {
    const user = `user-${i % 12}`
    const r = await get(`${gw.proxy}/ch`, { headers: { 'x-user': user } })
    let s = where.get(user)
    if (s === undefined) where.set(user, s = new Set())
    s.add(r.body.name)
  }
  for (const [user, s] of where) t.equal(s.size, 1, `${user} always lands on one target`)
  const used = new Set([...where.values()].map((s) => [...s][0]))
  t.ok(used.size >= 2, `12 users spread over more than one target (${[...used].join(',')})`)

  await gw.admin$('PATCH', '/upstreams/ch.internal', { hash_on: 'cookie', hash_on_cookie: 'lb', hash_on_cookie_path: '/ch' })
  const first = await get(`${gw.proxy}/ch`)
  const cookie = first.headers['set-cookie'] as string
  t.match(cookie, /^lb=[0-9a-f-]{36}; Path=\/ch; Same-Site=Lax; HttpOnly$/, "Kong's Set-Cookie when the client sent none")
  const value = cookie.split(';')[0] as string
  for (let i = 0; i < 5; i++) {
    const r = await get(`${gw.proxy}/ch`, { headers: { cookie: value } })
    t.equal(r.body.name, first.body.name, 'the cookie keeps the client on its target')
    t.notOk('set-cookie' in r.headers, 'no new cookie once the client has one')
  }
})

t.test('weights 100/50: two to one', async (t) => {
  const gw = await startTestGateway(t)
  const a = await startUpstream(t, named('a'))
  const b = await startUpstream(t, named('b'))
  await gw.admin$('POST', '/upstreams', { name: 'w.internal' })
  await gw.admin$('POST', '/upstreams/w.internal/targets', { target: `127.0.0.1:${a.port}`, weight: 100 })
  await gw.admin$('POST', '/upstreams/w.internal/targets', { target: `127.0.0.1:${b.port}`, weight: 50 })
  await gw.admin$('POST', '/services', { name: 's', host: 'w.internal' })
  await gw.admin$('POST', '/services/s/routes', { paths: ['/w'] })
  const counts = { a: 0, b: 0 } as Record<string, number>
  for (let i = 0; i < 300; i++) {
    const name = (await get(`${gw.proxy}/w`)).body.name as string
    counts[name] = (counts[name] ?? 0) + 1
  }
  t.equal(counts.a, 200)
  t.equal(counts.b, 100)
})

t.test('passive checks: a failing target is taken out after unhealthy.tcp_failures', async (t) => {
  const gw = await startTestGateway(t)
  const a = await startUpstream(t, named('a'))
  let broken = 0
  let breaking = true
  const b = await startUpstream(t, named('b'))
  b.server.prependListener('connection', (s) => { if (breaking) { broken++; s.destroy() } })
  await gw.admin$('POST', '/upstreams', {
    name: 'pc.internal',
    healthchecks: { passive: { unhealthy: { tcp_failures: 2, http_failures: 1, http_statuses: [500] } } },
  })
  await gw.admin$('POST', '/upstreams/pc.internal/targets', { target: `127.0.0.1:${a.port}` })
  await gw.admin$('POST', '/upstreams/pc.internal/targets', { target: `127.0.0.1:${b.port}` })
  await gw.admin$('POST', '/services', { name: 's', host: 'pc.internal', retries: 0 })
  await gw.admin$('POST', '/services/s/routes', { paths: ['/pc'] })
  let failed = 0
  for (let i = 0; i < 20; i++) if ((await get(`${gw.proxy}/pc`)).status !== 200) failed++
  t.equal(failed, 2, 'exactly tcp_failures requests failed before b was avoided')
  t.equal(broken, 2)
  const health = await gw.admin$('GET', '/upstreams/pc.internal/health')
  const byTarget = Object.fromEntries(health.data.map((d: any) => [d.target, d.health]))
  t.same(byTarget, { [`127.0.0.1:${a.port}`]: 'HEALTHY', [`127.0.0.1:${b.port}`]: 'UNHEALTHY' })

  // Passive checks alone never bring it back; an operator does.
  breaking = false
  await gw.admin$('PUT', `/upstreams/pc.internal/targets/127.0.0.1:${b.port}/healthy`)
  const names = new Set<string>()
  for (let i = 0; i < 4; i++) names.add((await get(`${gw.proxy}/pc`)).body.name)
  t.same([...names].sort(), ['a', 'b'], 'b is back after PUT .../healthy')

  // An HTTP status in passive.unhealthy.http_statuses counts too (http_failures 1).
  const c = await startUpstream(t, (_req, res) => { res.writeHead(500); res.end() })
  await gw.admin$('POST', '/upstreams/pc.internal/targets', { target: `127.0.0.1:${c.port}` })
  let fives = 0
  for (let i = 0; i < 12; i++) if ((await get(`${gw.proxy}/pc`)).status === 500) fives++
  t.equal(fives, 1, 'one 500 from c, then c is avoided')
})

t.test('active checks: a target restarted is back after healthy.successes probes', async (t) => {
  const gw = await startTestGateway(t)
  const a = await startUpstream(t, named('a'))
  let probes = 0
  let down = false
  const b = await startUpstream(t, (req, res) => {
    if (req.url === '/status') {
      probes++
      res.writeHead(down ? 503 : 200)
      res.end()
      return
    }
    named('b')(req, res)
  })
  await gw.admin$('POST', '/upstreams', {
    name: 'ac.internal',
    healthchecks: {
      active: {
        http_path: '/status',
        timeout: 1,
        healthy: { interval: 0.05, successes: 2 },
        unhealthy: { interval: 0.05, http_failures: 2, http_statuses: [503] },
      },
    },
  })
  await gw.admin$('POST', '/upstreams/ac.internal/targets', { target: `127.0.0.1:${a.port}` })
  await gw.admin$('POST', '/upstreams/ac.internal/targets', { target: `127.0.0.1:${b.port}` })
  await gw.admin$('POST', '/services', { name: 's', host: 'ac.internal' })
  await gw.admin$('POST', '/services/s/routes', { paths: ['/ac'] })
  const healthOf = async (): Promise<string> => {
    const h = await gw.admin$('GET', '/upstreams/ac.internal/health')
    return h.data.find((d: any) => d.target === `127.0.0.1:${b.port}`).health
  }
  await until(() => probes >= 2, 'probes reaching b')
  t.equal(await healthOf(), 'HEALTHY')
  down = true
  await until(async () => (await healthOf()) === 'UNHEALTHY', 'b unhealthy by probes')
  for (let i = 0; i < 4; i++) t.equal((await get(`${gw.proxy}/ac`)).body.name, 'a', 'b is avoided')
  const balancer = await gw.admin$('GET', '/upstreams/ac.internal/health?balancer_health=1')
  t.match(balancer.data, { health: 'HEALTHY', details: { healthy: true, weight: { total: 200, available: 100, unavailable: 100 } } })
  down = false
  await until(async () => (await healthOf()) === 'HEALTHY', 'b healthy again by probes')
  const names = new Set<string>()
  for (let i = 0; i < 4; i++) names.add((await get(`${gw.proxy}/ac`)).body.name)
  t.same([...names].sort(), ['a', 'b'], 'b is back in rotation')
})

t.test('the health endpoints: Kong\'s shapes and errors', async (t) => {
  const gw = await startTestGateway(t)
  const a = await startUpstream(t, echo)
  await gw.admin$('POST', '/upstreams', { name: 'he.internal' })
  await gw.admin$('POST', '/upstreams/he.internal/targets', { target: `127.0.0.1:${a.port}`, weight: 10 })
  await gw.admin$('POST', '/upstreams/he.internal/targets', { target: 'does-not-resolve.invalid:80' })
  const h = await gw.admin$('GET', '/upstreams/he.internal/health')
  t.equal(h.next, null)
  t.match(h.node_id, /^[0-9a-f-]{36}$/)
  const [bad, good] = h.data
  t.equal(bad.target, 'does-not-resolve.invalid:80', 'newest first')
  await until(async () => (await gw.admin$('GET', '/upstreams/he.internal/health')).data[0].health === 'DNS_ERROR', 'the name to fail')
  t.same(good.data, {
    host: '127.0.0.1',
    port: a.port,
    nodeWeight: 10,
    weight: { total: 10, available: 10, unavailable: 0 },
    addresses: [{ ip: '127.0.0.1', port: a.port, weight: 10, health: 'HEALTHCHECKS_OFF' }],
    dns: 'A',
  })
  t.equal(good.health, 'HEALTHCHECKS_OFF')
  const bh = await gw.admin$('GET', '/upstreams/he.internal/health?balancer_health=1')
  t.same(bh.data, { health: 'HEALTHCHECKS_OFF', id: h.data[0].upstream.id })

  const put = async (path: string) => {
    const res = await request(`${gw.admin}${path}`, { method: 'PUT' })
    const text = await res.body.text()
    return { status: res.statusCode, body: text === '' ? undefined : JSON.parse(text) }
  }
  t.same(await put(`/upstreams/he.internal/targets/127.0.0.1:${a.port}/unhealthy`), { status: 400, body: { message: 'no healthchecker found for he.internal' } })
  t.same(await put('/upstreams/nope/targets/127.0.0.1:1/unhealthy'), { status: 404, body: { message: 'Not found' } })
  t.same(await put('/upstreams/he.internal/targets/127.0.0.1:1/unhealthy'), { status: 404, body: { message: 'Not found' } })
  t.equal((await get(`${gw.admin}/upstreams/nope/health`)).status, 404)

  await gw.admin$('PATCH', '/upstreams/he.internal', { healthchecks: { passive: { unhealthy: { tcp_failures: 3 } } } })
  t.equal((await put(`/upstreams/he.internal/targets/127.0.0.1:${a.port}/127.0.0.1:${a.port}/unhealthy`)).status, 204, 'one address')
  let now = await gw.admin$('GET', '/upstreams/he.internal/health')
  t.equal(now.data[1].health, 'UNHEALTHY')
  t.equal(now.data[1].data.addresses[0].health, 'UNHEALTHY')
  t.same(await put(`/upstreams/he.internal/targets/127.0.0.1:${a.port}/127.0.0.2:${a.port}/healthy`), { status: 400, body: { message: 'target not found' } })
  t.equal((await put(`/upstreams/he.internal/targets/127.0.0.1:${a.port}/healthy`)).status, 204, 'the whole target')
  now = await gw.admin$('GET', '/upstreams/he.internal/health')
  t.equal(now.data[1].health, 'HEALTHY')
  const paged = await gw.admin$('GET', '/upstreams/he.internal/health?size=1')
  t.equal(paged.data.length, 1)
  t.equal(paged.next, '/upstreams/he.internal/health?offset=1')
})

t.test('a retry with no peer left answers 503 at once, its half-read body left unread', async (t) => {
  const gw = await startTestGateway(t)
  const dead = await closedPort()
  await gw.admin$('POST', '/upstreams', { name: 'np.internal', healthchecks: { passive: { unhealthy: { tcp_failures: 1 } } } })
  await gw.admin$('POST', '/upstreams/np.internal/targets', { target: `127.0.0.1:${dead}` })
  await gw.admin$('POST', '/services', { name: 's', host: 'np.internal', retries: 2 })
  await gw.admin$('POST', '/services/s/routes', { paths: ['/np'] })
  // The first attempt is refused and takes the only target out (tcp_failures 1): the retry
  // finds no peer while the client is still sending its body.
  const body = new PassThrough()
  body.write(Buffer.alloc(40_000, 'a'))
  const res = await request(`${gw.proxy}/np`, { method: 'PUT', body, headersTimeout: 20_000, headers: { accept: 'application/json' } })
  t.equal(res.statusCode, 503)
  t.match(await res.body.json(), { message: 'failure to get a peer from the ring-balancer' })
  t.equal(res.headers.connection, 'close', 'the connection closes: the rest of the body is not read')
  body.destroy()
})

t.test('a client error found while connecting is the answer, not a retry to the next target', async (t) => {
  const gw = await startTestGateway(t, { config: { nginx_http_client_max_body_size: '8k' } })
  let reached = 0
  const live = await startUpstream(t, (req, res) => { reached++; req.resume(); req.on('end', () => res.end('ok')) })
  const dead = await closedPort()
  await gw.admin$('POST', '/upstreams', { name: 'ce.internal' })
  await gw.admin$('POST', '/upstreams/ce.internal/targets', { target: `127.0.0.1:${dead}`, weight: 100 })
  await gw.admin$('POST', '/upstreams/ce.internal/targets', { target: `127.0.0.1:${live.port}`, weight: 100 })
  await gw.admin$('POST', '/services', { name: 's', host: 'ce.internal', retries: 3 })
  await gw.admin$('POST', '/services/s/routes', { paths: ['/ce'] })
  const statuses: number[] = []
  for (let i = 0; i < 4; i++) {
    // Chunked (no Content-Length), so only the streamed count can find it too large.
    const body = Readable.from([Buffer.alloc(20_000, 'b')])
    const res = await request(`${gw.proxy}/ce`, { method: 'POST', body })
    await res.body.dump()
    statuses.push(res.statusCode)
  }
  t.same(statuses, [413, 413, 413, 413], 'every oversized body is refused, whichever target was tried first')
  t.equal(reached, 0, 'no target got a request')
})
