// What the Admin API gives Tollgate Manager beyond Kong's: the live traffic view, a search
// over lists, and CORS locked to the Manager's origin with admin_gui_url.
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { request } from 'undici'
import { startAdmin } from '../../helpers/admin.js'
import { h2Get } from '../../helpers/tls.js'
import { echo, startTestGateway, startUpstream, until } from '../../helpers/gateway.js'

t.test('GET /status/traffic: the proxy\'s requests per second, status classes and latency', async (t) => {
  const up = await startUpstream(t, echo)
  const g = await startTestGateway(t, { config: { status_listen: '127.0.0.1:0' } })
  await g.admin$('POST', '/services', { name: 's', url: up.url })
  await g.admin$('POST', '/services/s/routes', { name: 'r', paths: ['/ok'] })
  const before = await g.admin$('GET', '/status/traffic')
  t.same(before.data, [], 'no traffic yet')
  t.equal(before.interval_seconds, 1)
  t.ok(Math.abs(before.now - Date.now() / 1000) < 5)
  for (let i = 0; i < 20; i++) await (await request(`${g.proxy}/ok`)).body.dump()
  for (let i = 0; i < 5; i++) await (await request(`${g.proxy}/nowhere`)).body.dump()
  let rows: any[] = []
  // A second shows once it is over.
  await until(async () => {
    rows = (await g.admin$('GET', '/status/traffic?seconds=60')).data
    return rows.reduce((n, r) => n + r.requests, 0) === 25
  }, 'the 25 requests show')
  const sum = (k: string): number => rows.reduce((n, r) => n + r.status[k], 0)
  t.equal(sum('2xx'), 20)
  t.equal(sum('4xx'), 5)
  for (const r of rows) {
    t.ok(Number.isInteger(r.time) && r.latency_ms.p50 > 0 && r.latency_ms.p50 <= r.latency_ms.p95 && r.latency_ms.p95 <= r.latency_ms.p99, 'a row with ordered percentiles')
  }
  const status = await request(`http://127.0.0.1:${(g.gateway.status[0] as AddressInfo).port}/status/traffic?seconds=60`)
  t.equal(status.statusCode, 200, 'the Status API serves it too')
  t.equal(((await status.body.json()) as { data: unknown[] }).data.length, rows.length)
  for (const bad of ['0', '301', 'ten', '1.5', '-1']) {
    const r = await request(`${g.admin}/status/traffic?seconds=${bad}`)
    t.equal(r.statusCode, 400, bad)
    t.same(await r.body.json(), { message: 'seconds: expected an integer from 1 to 300' })
  }
})

t.test('HTTP/2 requests are counted too, and a client that leaves before its answer is a 499', async (t) => {
  const up = await startUpstream(t, (req, res) => { if (req.url === '/slow') return; echo(req, res) })
  const g = await startTestGateway(t, { config: { proxy_listen: '127.0.0.1:0, 127.0.0.1:0 http2 ssl' } })
  await g.admin$('POST', '/services', { name: 's', url: up.url })
  await g.admin$('POST', '/services/s/routes', { name: 'r', paths: ['/'] })
  const r = await h2Get((g.gateway.proxy[1] as AddressInfo).port, { path: '/ok' })
  t.equal(r.status, 200)
  t.equal(r.alpn, 'h2')
  const gone = request(`${g.proxy}/slow`, { signal: AbortSignal.timeout(300) }).catch(() => 'aborted')
  t.equal(await gone, 'aborted')
  let rows: any[] = []
  await until(async () => {
    rows = (await g.admin$('GET', '/status/traffic')).data
    return rows.reduce((n, r) => n + r.requests, 0) === 2
  }, 'both requests counted')
  t.equal(rows.reduce((n, r) => n + r.status['2xx'], 0), 1, 'the HTTP/2 one')
  t.equal(rows.reduce((n, r) => n + r.status['4xx'], 0), 1, 'the abandoned one, as 499')
})

t.test('?search= finds rows by id, name, username or custom_id, page by page', async (t) => {
  const api = await startAdmin(t)
  for (let i = 0; i < 30; i++) {
    const r = await api.call('POST', '/consumers', { json: { username: `user-${i}`, custom_id: `cust-${i % 3 === 0 ? 'gold' : 'std'}-${i}`, tags: [i % 2 === 0 ? 'even' : 'odd'] } })
    t.equal(r.status, 201)
  }
  let r = await api.call('GET', '/consumers?search=USER-1')
  t.same(r.body.data.map((c: any) => c.username).sort(), ['user-1', ...Array.from({ length: 10 }, (_, i) => `user-1${i}`)].sort(), 'case-insensitive substring')
  r = await api.call('GET', '/consumers?search=gold&size=4')
  t.equal(r.body.data.length, 4)
  t.match(r.body.next, /^\/consumers\?offset=[^&]+&size=4&search=gold$/, 'next keeps the search')
  const names = r.body.data.map((c: any) => c.username)
  while (r.body.next !== null) {
    r = await api.call('GET', r.body.next)
    names.push(...r.body.data.map((c: any) => c.username))
  }
  t.equal(names.length, 10, 'every gold consumer, once')
  t.equal(new Set(names).size, 10)
  r = await api.call('GET', '/consumers?search=gold&tags=even')
  t.ok(r.body.data.length > 0 && r.body.data.every((c: any) => c.tags.includes('even') && c.custom_id.includes('gold')), 'with tags, both must hold')
  const one = r.body.data[0]
  r = await api.call('GET', `/consumers?search=${one.id.slice(4, 14)}`)
  t.same(r.body.data.map((c: any) => c.id), [one.id], 'by a piece of the id')
  r = await api.call('GET', '/consumers?search=nobody')
  t.same(r.body, { data: [], next: null })
  r = await api.call('GET', '/consumers?search=')
  t.equal(r.body.data.length, 30, 'an empty search is no search')
  r = await api.call('GET', '/status/entities')
  t.equal(r.body.counts.consumers, 30, 'GET /status/entities counts rows')
  t.equal(r.body.counts.services, 0)
  t.equal(r.body.counts.test_credentials, 0, "plugins' entities too")
})

t.test('admin_gui_url: CORS allows the Manager\'s origin only', async (t) => {
  const api = await startAdmin(t, { config: { admin_gui_url: 'http://manager.test:8002' } })
  let r = await api.call('GET', '/', { headers: { origin: 'http://evil.test' } })
  t.equal(r.headers['access-control-allow-origin'], 'http://manager.test:8002')
  t.equal(r.headers.vary, 'Origin')
  r = await api.call('OPTIONS', '/services', { headers: { origin: 'http://manager.test:8002', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,kong-admin-token' } })
  t.equal(r.status, 204)
  t.equal(r.headers['access-control-allow-origin'], 'http://manager.test:8002')
  t.equal(r.headers['access-control-allow-headers'], 'content-type,kong-admin-token')
})
