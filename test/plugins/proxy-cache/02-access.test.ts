// Kong's spec/03-plugins/31-proxy-cache/02-access_spec.lua (3.2.2), memory strategy,
// through a real gateway to a real upstream on 127.0.0.1. Each test names the `it(...)`
// it mirrors; the routes are Kong's route-1.com ... route-16.com with Kong's configs.
// Where Tollgate differs the test says so. TTL cases need real seconds to pass: they use
// Kong's short ttls and poll until the entry turns, checking it stayed a hit before.
import t from 'tap'
import { request } from 'undici'
import { startTestGateway, until, type TestGateway } from '../../helpers/gateway.js'
import { send, startCountingUpstream, type Answer, type CountingUpstream } from './upstream.js'

let gw: TestGateway
let up: CountingUpstream
const CT = ['text/plain', 'application/json']

t.before(async () => {
  gw = await startTestGateway(t)
  up = await startCountingUpstream(t)
  await gw.admin$('POST', '/services', { name: 's', url: up.url })
  const route = async (n: number): Promise<string> => (await gw.admin$('POST', '/services/s/routes', { name: `route-${n}`, hosts: [`route-${n}.com`] })).id
  const ids: Record<number, string> = {}
  for (let n = 1; n <= 17; n++) ids[n] = await route(n)
  const plugin = (n: number | undefined, config: Record<string, unknown>): Promise<unknown> =>
    gw.admin$('POST', '/plugins', { name: 'proxy-cache', ...(n === undefined ? {} : { route: { id: ids[n] } }), config: { strategy: 'memory', content_type: CT, ...config } })
  await plugin(1, {})
  await plugin(2, {})
  await plugin(undefined, {}) // global: routes 3 and 4
  await plugin(5, {})
  await plugin(6, { cache_ttl: 2 })
  await plugin(7, { cache_control: true })
  await plugin(8, { cache_control: true, storage_ttl: 600 })
  await plugin(9, { cache_ttl: 2, storage_ttl: 60 })
  await plugin(10, { content_type: ['text/html; charset=utf-8', 'application/json'], response_code: [200, 417], request_method: ['GET', 'HEAD', 'POST'] })
  await plugin(11, { response_code: [200], request_method: ['GET', 'HEAD', 'POST'], vary_headers: ['foo'] })
  await plugin(12, { response_code: [200], request_method: ['GET', 'HEAD', 'POST'], vary_query_params: ['foo'] })
  for (const n of [13, 14, 15, 16]) await plugin(n, {})
  await plugin(17, { cache_control: true })
  const bob = await gw.admin$('POST', '/consumers', { username: 'bob' })
  const alice = await gw.admin$('POST', '/consumers', { username: 'alice' })
  await gw.admin$('POST', `/consumers/${bob.id as string}/key-auth`, { key: 'bob' })
  await gw.admin$('POST', `/consumers/${alice.id as string}/key-auth`, { key: 'alice' })
  for (const n of [5, 13, 14, 15, 16]) await gw.admin$('POST', `/routes/${ids[n] as string}/plugins`, { name: 'key-auth' })
})

const get = (path: string, host: string, headers: Record<string, string> = {}): Promise<Answer> => send(gw.proxy, path, host, headers)
const status = (r: Answer): string | undefined => r.headers['x-cache-status']

/** Sends until the cache status is no longer `was`; every answer before must have been `was`. */
async function untilTurns (path: string, host: string, was: string, headers: Record<string, string> = {}): Promise<Answer> {
  let last: Answer | undefined
  await until(async () => {
    last = await get(path, host, headers)
    if (status(last) !== was) return true
    await new Promise((resolve) => setTimeout(resolve, 100))
    return false
  }, `${host}${path} to stop being a ${was}`, 10_000)
  return last as Answer
}

t.test('it("caches a simple request"); a hit does not reach the upstream', async (t) => {
  const before = up.calls()
  const r1 = await get('/get', 'route-1.com')
  t.equal(r1.status, 200)
  t.equal(status(r1), 'Miss')
  const key = r1.headers['x-cache-key'] as string
  t.match(key, /^[0-9a-f]{64}$/, 'the key is a SHA-256 in lower-case hex')
  const r2 = await get('/get', 'route-1.com')
  t.equal(status(r2), 'Hit')
  t.equal(r2.headers['x-cache-key'], key)
  t.equal(r2.text, r1.text, 'the same body')
  t.equal(up.calls() - before, 1, 'the hit was answered without calling the upstream')
  t.equal(r2.headers['content-type'], 'application/json')
  t.equal(r2.headers['content-length'], String(Buffer.byteLength(r1.text)))
  t.match(r2.headers.age, /^\d+$/, 'Age in whole seconds')
})

t.test('it("respects cache ttl"): an entry gone after cache_ttl is a Miss; with storage_ttl a Refresh', async (t) => {
  t.equal(status(await get('/get', 'route-6.com')), 'Miss')
  t.equal(status(await get('/get', 'route-6.com')), 'Hit')
  t.equal(status(await untilTurns('/get', 'route-6.com', 'Hit')), 'Miss', 'cache_ttl = 2 and no storage_ttl: the entry expired')
  t.equal(status(await get('/get', 'route-6.com')), 'Hit')

  t.equal(status(await get('/get', 'route-9.com')), 'Miss')
  t.equal(status(await get('/get', 'route-9.com')), 'Hit')
  t.equal(status(await untilTurns('/get', 'route-9.com', 'Hit')), 'Refresh', 'storage_ttl = 60 keeps it: stale, refreshed')
  t.equal(status(await get('/get', 'route-9.com')), 'Hit')
})

t.test('it("respects cache ttl via cache control")', async (t) => {
  t.equal(status(await get('/cache/2', 'route-7.com')), 'Miss')
  t.equal(status(await get('/cache/2', 'route-7.com')), 'Hit')
  t.equal(status(await untilTurns('/cache/2', 'route-7.com', 'Hit')), 'Miss', 'stored for max-age = 2')
  t.equal(status(await get('/cache/2', 'route-7.com')), 'Hit')
  t.equal(status(await get('/cache/0', 'route-7.com')), 'Bypass', 'max-age = 0: not storable')
  t.equal(status(await get('/cache/0', 'route-7.com')), 'Bypass')
})

t.test('it("public not present in Cache-Control, but max-age is")', async (t) => {
  t.equal(status(await get('/response-headers?Cache-Control=max-age%3D604800', 'route-7.com')), 'Miss')
  t.equal(status(await get('/response-headers?Cache-Control=max-age%3D604800', 'route-7.com')), 'Hit')
})

t.test('it("Cache-Control contains s-maxage only")', async (t) => {
  t.equal(status(await get('/response-headers?Cache-Control=s-maxage%3D604800', 'route-7.com')), 'Miss')
  t.equal(status(await get('/response-headers?Cache-Control=s-maxage%3D604800', 'route-7.com')), 'Hit')
})

t.test('it("Expires present, Cache-Control absent")', async (t) => {
  const date = encodeURIComponent(new Date(Date.now() + 5_000_000).toUTCString())
  t.equal(status(await get(`/response-headers?Expires=${date}`, 'route-7.com')), 'Miss')
  t.equal(status(await get(`/response-headers?Expires=${date}`, 'route-7.com')), 'Hit')
  const past = encodeURIComponent(new Date(Date.now() - 5_000_000).toUTCString())
  t.equal(status(await get(`/response-headers?Expires=${past}`, 'route-7.com')), 'Bypass', 'an Expires in the past: not storable')
})

t.test('cache_control = true: private, no-store and no-cache responses are not stored', async (t) => {
  for (const cc of ['private, max-age=60', 'no-store', 'no-cache, max-age=60']) {
    const path = `/response-headers?Cache-Control=${encodeURIComponent(cc)}`
    t.equal(status(await get(path, 'route-7.com')), 'Bypass', cc)
    t.equal(status(await get(path, 'route-7.com')), 'Bypass', `${cc}, again`)
  }
})

t.test('it("respects cache-control") min-fresh, max-age, max-stale, only-if-cached', async (t) => {
  t.test('it("min-fresh")', async (t) => {
    // Stored by the ttl test above with max-age = 2: less than 30 s of freshness left.
    await get('/cache/2', 'route-7.com')
    t.equal(status(await get('/cache/2', 'route-7.com', { 'cache-control': 'min-fresh=30' })), 'Refresh')
  })
  t.test('it("max-age")', async (t) => {
    const cc = { 'cache-control': 'max-age=2' }
    t.equal(status(await get('/cache/10', 'route-7.com', cc)), 'Miss')
    t.equal(status(await get('/cache/10', 'route-7.com', cc)), 'Hit')
    t.equal(status(await untilTurns('/cache/10', 'route-7.com', 'Hit', cc)), 'Refresh', "older than the request's max-age")
  })
  t.test('it("max-stale")', async (t) => {
    t.equal(status(await get('/cache/2', 'route-8.com')), 'Miss')
    t.equal(status(await get('/cache/2', 'route-8.com')), 'Hit')
    // storage_ttl keeps it past its max-age = 2; max-stale = 1 refuses it 1 s after that.
    t.equal(status(await untilTurns('/cache/2', 'route-8.com', 'Hit', { 'cache-control': 'max-stale=1' })), 'Refresh')
  })
  t.test('it("only-if-cached")', async (t) => {
    const before = up.calls()
    const r = await get('/get?not=here', 'route-8.com', { 'cache-control': 'only-if-cached' })
    t.equal(r.status, 504)
    t.equal(r.text, '', 'an empty body')
    t.equal(up.calls(), before, 'the upstream was not called')
  })
  t.test('no-store, no-cache and Authorization requests bypass the cache (cache_control = true)', async (t) => {
    for (const h of [{ 'cache-control': 'no-store' }, { 'cache-control': 'no-cache' }, { authorization: 'Basic Ym9iOg==' }] as Array<Record<string, string>>) {
      const r = await get('/get?auth-test', 'route-17.com', h)
      t.equal(status(r), 'Bypass', JSON.stringify(h))
      t.notOk('x-cache-key' in r.headers, 'no key for a request that is not cacheable')
    }
    const res = await request(`${gw.proxy}/get?two-headers`, { headers: { host: 'route-17.com', 'cache-control': ['max-age=100', 'no-store'] } })
    await res.body.dump()
    t.equal(res.headers['x-cache-status'], 'Bypass', 'two Cache-Control headers read as one, as Kong joins them')
  })
})

t.test('it("caches a streaming request")', async (t) => {
  const r1 = await get('/stream/3', 'route-1.com')
  t.equal(status(r1), 'Miss')
  // Kong streams the Miss (no Content-Length); Tollgate holds a response it stores whole
  // for body_filter, so the Miss carries one. The hit has one in both.
  const r2 = await get('/stream/3', 'route-1.com')
  t.equal(status(r2), 'Hit')
  t.equal(r2.text, r1.text)
  t.equal(r2.headers['content-length'], String(Buffer.byteLength(r1.text)))
  t.notOk('transfer-encoding' in r2.headers)
})

t.test('it("uses a separate cache key for the same consumer between routes")', async (t) => {
  const a = await get('/get', 'route-13.com', { apikey: 'bob' })
  const b = await get('/get', 'route-14.com', { apikey: 'bob' })
  t.not(a.headers['x-cache-key'], b.headers['x-cache-key'])
})

t.test('it("uses a separate cache key for the same consumer between routes/services")', async (t) => {
  const a = await get('/get', 'route-15.com', { apikey: 'bob' })
  const b = await get('/get', 'route-16.com', { apikey: 'bob' })
  t.not(a.headers['x-cache-key'], b.headers['x-cache-key'])
})

t.test('it("uses an separate cache key between routes-specific and a global plugin")', async (t) => {
  const a = await get('/get', 'route-3.com')
  t.equal(status(a), 'Miss')
  t.match(a.headers['x-cache-key'], /^[0-9a-f]{64}$/)
  const b = await get('/get', 'route-4.com')
  t.equal(status(b), 'Miss')
  t.not(a.headers['x-cache-key'], b.headers['x-cache-key'])
})

t.test('it("differentiates caches between instances")', async (t) => {
  const a = await get('/get', 'route-2.com')
  t.equal(status(a), 'Miss')
  const b = await get('/get', 'route-2.com')
  t.equal(status(b), 'Hit')
  t.equal(a.headers['x-cache-key'], b.headers['x-cache-key'])
})

t.test('it("uses request params as part of the cache key")', async (t) => {
  t.equal(status(await get('/get?a=b&b=c', 'route-1.com')), 'Miss')
  t.equal(status(await get('/get?a=c', 'route-1.com')), 'Miss')
  t.equal(status(await get('/get?b=c&a=b', 'route-1.com')), 'Hit', 'the same arguments in another order')
  t.equal(status(await get('/get?a&b', 'route-1.com')), 'Miss')
  t.equal(status(await get('/get?a&b', 'route-1.com')), 'Hit')
})

t.test('it("can focus only in a subset of the query arguments")', async (t) => {
  t.equal(status(await get('/get?foo=b&b=c', 'route-12.com')), 'Miss')
  t.equal(status(await get('/get?b=d&foo=b', 'route-12.com')), 'Hit')
})

t.test('it("uses headers if instructed to do so")', async (t) => {
  t.equal(status(await get('/get', 'route-11.com', { foo: 'bar' })), 'Miss')
  t.equal(status(await get('/get', 'route-11.com', { foo: 'bar' })), 'Hit')
  t.equal(status(await get('/get', 'route-11.com', { foo: 'baz' })), 'Miss')
})

t.test('describe("handles authenticated routes")', async (t) => {
  t.test('it("by ignoring cache if the request is unauthenticated")', async (t) => {
    const r = await get('/get', 'route-5.com')
    t.equal(r.status, 401)
    t.notOk('x-cache-status' in r.headers)
  })
  t.test('it("by maintaining a separate cache per consumer")', async (t) => {
    t.equal(status(await get('/get', 'route-5.com', { apikey: 'bob' })), 'Miss')
    t.equal(status(await get('/get', 'route-5.com', { apikey: 'bob' })), 'Hit')
    t.equal(status(await get('/get', 'route-5.com', { apikey: 'alice' })), 'Miss')
    t.equal(status(await get('/get', 'route-5.com', { apikey: 'alice' })), 'Hit')
  })
})

t.test('describe("bypasses cache for uncacheable requests: ") it("request method")', async (t) => {
  const r = await send(gw.proxy, '/post', 'route-1.com', { 'content-type': 'application/json' }, 'POST', '{"foo":"bar"}')
  t.equal(r.status, 200)
  t.equal(status(r), 'Bypass')
  t.equal(r.json.body, '{"foo":"bar"}', 'the body reached the upstream')
})

t.test('describe("bypasses cache for uncacheable responses:")', async (t) => {
  t.test('it("response status")', async (t) => {
    const r = await get('/status/418', 'route-1.com')
    t.equal(r.status, 418)
    t.equal(status(r), 'Bypass')
    t.match(r.headers['x-cache-key'], /^[0-9a-f]{64}$/, 'the key header stays')
  })
  t.test('it("response content type")', async (t) => {
    t.equal(status(await get('/xml', 'route-1.com')), 'Bypass')
  })
  t.test('Kong 3.2 compares Content-Type whole: application/json; charset=utf-8 is not application/json', async (t) => {
    const path = `/response-headers?Content-Type=${encodeURIComponent('application/json; charset=utf-8')}`
    t.equal(status(await get(path, 'route-1.com')), 'Bypass')
  })
})

t.test('describe("caches non-default")', async (t) => {
  t.test('it("request methods")', async (t) => {
    const post = (): Promise<Answer> => send(gw.proxy, '/post', 'route-10.com', { 'content-type': 'application/json' }, 'POST', '{"foo":"bar"}')
    t.equal(status(await post()), 'Miss')
    const hit = await post()
    t.equal(status(hit), 'Hit')
    const key = hit.headers['x-cache-key'] as string
    const stored = await gw.admin$('GET', `/proxy-cache/${key}`)
    t.equal(stored.req_body, '{"foo":"bar"}', "the request's body is kept with the entry, as Kong keeps it")
  })
  t.test('it("response status")', async (t) => {
    t.equal(status(await get('/status/417', 'route-10.com')), 'Miss')
    t.equal(status(await get('/status/417', 'route-10.com')), 'Hit')
  })
})

t.test('describe("displays Kong core headers:")', async (t) => {
  t.test('it("X-Kong-Proxy-Latency") / it("X-Kong-Upstream-Latency")', async (t) => {
    const miss = await get('/get?show-me=proxy-latency', 'route-1.com')
    t.equal(status(miss), 'Miss')
    t.match(miss.headers['x-kong-proxy-latency'], /^\d+$/)
    t.match(miss.headers['x-kong-upstream-latency'], /^\d+$/)
    const hit = await get('/get?show-me=proxy-latency', 'route-1.com')
    t.equal(status(hit), 'Hit')
    // Differs from Kong, which marks a hit as proxied: Tollgate answers it as any plugin's
    // short-circuit, with X-Kong-Response-Latency.
    t.match(hit.headers['x-kong-response-latency'], /^\d+$/)
  })
})

t.test('a hit replays the stored headers but hop-by-hop ones, and a fresh rate-limit count wins', async (t) => {
  await gw.admin$('POST', '/routes/route-2/plugins', { name: 'rate-limiting', config: { year: 1000 } })
  await until(async () => (await get('/get?rl', 'route-2.com')).headers['x-ratelimit-remaining-year'] !== undefined, 'rate-limiting on route-2')
  const first = await get('/get?rl=1', 'route-2.com')
  t.equal(status(first), 'Miss')
  const hit = await get('/get?rl=1', 'route-2.com')
  t.equal(status(hit), 'Hit')
  t.equal(Number(hit.headers['x-ratelimit-remaining-year']), Number(first.headers['x-ratelimit-remaining-year']) - 1, 'the count of this request, not the stored one')
  t.equal(hit.headers['x-cache-key'], first.headers['x-cache-key'])
  t.notOk('connection' in hit.headers && hit.headers.connection !== 'keep-alive')
})

t.test('a Bypass decided in header_filter streams the response (it is not held for body_filter)', async (t) => {
  const res = await request(`${gw.proxy}/hold?status=418`, { headers: { host: 'route-1.com' } })
  t.equal(res.statusCode, 418)
  t.equal(res.headers['x-cache-status'], 'Bypass')
  const it = res.body[Symbol.asyncIterator]()
  const first = await it.next()
  t.equal(Buffer.from(first.value as Buffer).toString(), 'first,', 'the first chunk arrives while the upstream holds the rest')
  up.release()
  let rest = ''
  for (let c = await it.next(); c.done !== true; c = await it.next()) rest += Buffer.from(c.value as Buffer).toString()
  t.equal(rest, 'last')
})
