// Kong's spec/03-plugins/31-proxy-cache/03-api_spec.lua (3.2.2), the (API) block: the
// plugin's Admin API endpoints over a real gateway. Kong answers a missing entry 404 with
// an empty body. (The (schema) block is in 01-schema.test.ts.)
import t from 'tap'
import { request } from 'undici'
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js'
import { send, startCountingUpstream } from './upstream.js'

let gw: TestGateway
let plugin1: string
let route1: string

async function admin (method: string, path: string): Promise<{ status: number, text: string, json: any, headers: Record<string, unknown> }> {
  const res = await request(`${gw.admin}${path}`, { method: method as 'GET' })
  const text = await res.body.text()
  let json: unknown
  try { json = JSON.parse(text) } catch {}
  return { status: res.statusCode, text, json, headers: res.headers }
}

const get = (host: string, path = '/get'): ReturnType<typeof send> => send(gw.proxy, path, host)

t.before(async () => {
  gw = await startTestGateway(t)
  const up = await startCountingUpstream(t)
  await gw.admin$('POST', '/services', { name: 's', url: up.url })
  route1 = (await gw.admin$('POST', '/services/s/routes', { name: 'route-1', hosts: ['route-1.com'] })).id
  await gw.admin$('POST', '/services/s/routes', { name: 'route-2', hosts: ['route-2.com'] })
  plugin1 = (await gw.admin$('POST', '/routes/route-1/plugins', { name: 'proxy-cache', config: { strategy: 'memory', content_type: ['text/plain', 'application/json'] } })).id
  await gw.admin$('POST', '/routes/route-2/plugins', { name: 'proxy-cache', config: { strategy: 'memory', content_type: ['text/plain', 'application/json'] } })
})

t.test('it("delete a cache entry")', async (t) => {
  const miss = await get('route-1.com')
  t.equal(miss.headers['x-cache-status'], 'Miss')
  const key = miss.headers['x-cache-key'] as string
  t.match(key, /^[0-9a-f]{64}$/)
  t.equal((await get('route-1.com')).headers['x-cache-status'], 'Hit')
  const del = await admin('DELETE', `/proxy-cache/${plugin1}/caches/${key}`)
  t.equal(del.status, 204)
  t.equal((await get('route-1.com')).headers['x-cache-status'], 'Miss', 'purged: the next request is a miss')
  const del2 = await admin('DELETE', `/proxy-cache/${key}`)
  t.equal(del2.status, 204, 'found in any proxy-cache plugin\'s store')
  t.equal((await get('route-1.com')).headers['x-cache-status'], 'Miss')
})

t.test('it("purge all the cache entries")', async (t) => {
  t.equal((await get('route-1.com')).headers['x-cache-status'], 'Hit')
  t.equal((await get('route-2.com')).headers['x-cache-status'], 'Miss')
  t.equal((await get('route-2.com')).headers['x-cache-status'], 'Hit')
  t.equal((await admin('DELETE', '/proxy-cache')).status, 204)
  t.equal((await get('route-1.com')).headers['x-cache-status'], 'Miss')
  t.equal((await get('route-2.com')).headers['x-cache-status'], 'Miss')
})

t.test('it("delete a non-existing cache key")', async (t) => {
  t.equal((await admin('DELETE', '/proxy-cache')).status, 204)
  const r = await admin('DELETE', `/proxy-cache/${plugin1}/caches/123`)
  t.equal(r.status, 404)
  t.equal(r.text, '', 'an empty body, as Kong')
  t.equal((await admin('DELETE', '/proxy-cache/123')).status, 404)
})

t.test('it("delete a non-existing plugins\'s cache key")', async (t) => {
  t.equal((await admin('DELETE', '/proxy-cache')).status, 204)
  t.equal((await admin('DELETE', `/proxy-cache/${route1}/caches/123`)).status, 404, 'a route id is no plugin id')
})

t.test('it("get a non-existing cache")', async (t) => {
  const key = (await get('route-1.com')).headers['x-cache-key'] as string
  t.equal((await admin('DELETE', '/proxy-cache')).status, 204)
  const a = await admin('GET', `/proxy-cache/${plugin1}/caches/${key}`)
  t.equal(a.status, 404)
  t.equal(a.text, '')
  t.equal((await admin('GET', `/proxy-cache/${key}`)).status, 404)
})

t.test('it("get a existing cache")', async (t) => {
  const miss = await get('route-1.com')
  const key = miss.headers['x-cache-key'] as string
  const a = await admin('GET', `/proxy-cache/${plugin1}/caches/${key}`)
  t.equal(a.status, 200)
  // Kong keeps the headers' case (`X-Cache-Key`); Tollgate's names are lower-case.
  t.equal(a.json.headers['x-cache-key'], key)
  t.equal(a.json.headers['x-cache-status'], 'Miss', 'the headers as the Miss sent them')
  t.same(Object.keys(a.json).sort(), ['body', 'body_len', 'headers', 'req_body', 'status', 'timestamp', 'ttl', 'version'])
  t.match(a.json, { status: 200, body: miss.text, body_len: Buffer.byteLength(miss.text), ttl: 300, version: 1, req_body: '' })
  t.ok(Math.abs(a.json.timestamp - Date.now() / 1000) < 5, 'stored now, in seconds')
  const b = await admin('GET', `/proxy-cache/${key}`)
  t.equal(b.status, 200)
  t.equal(b.json.headers['x-cache-key'], key)
})
