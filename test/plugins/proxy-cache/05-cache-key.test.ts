// Kong's spec/03-plugins/31-proxy-cache/05-cache_key_spec.lua (3.2.2): the key's parts, as
// unit cases; then the whole key through a gateway, byte for byte against Kong's formula
// sha256_hex("<prefix>|<method>|<request line without query>|<args>|<headers>").
import { createHash, randomUUID } from 'node:crypto'
import t from 'tap'
import { startTestGateway } from '../../helpers/gateway.js'
import { headersKey, paramsKey, prefixOf, requestLine } from '../../../plugins/proxy-cache/cache-key.js'
import { send, startCountingUpstream } from './upstream.js'

const randomString = (): string => randomUUID().replace(/-/g, '')

t.test('describe("prefix_uuid")', async (t) => {
  const [c1, c2, r1, r2] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()]
  t.test('it("returns distinct prefixes for a consumer on different routes")', async (t) => {
    t.not(prefixOf(c1, r1), prefixOf(c1, r2))
    t.not(prefixOf(c1, r1), 'default')
  })
  t.test('it("returns distinct prefixes for different consumers on a route")', async (t) => {
    t.not(prefixOf(c1, r1), prefixOf(c2, r1))
  })
  t.test('it("returns the same prefix for a route with no consumer")', async (t) => {
    t.equal(prefixOf(undefined, r1), prefixOf(undefined, r1))
    t.not(prefixOf(undefined, r1), 'default')
  })
  t.test('it("returns a consumer-specific prefix for routes")', async (t) => {
    t.not(prefixOf(undefined, r1), prefixOf(c1, r1))
    t.equal(prefixOf(c1, r1), `${c1}:${r1}`)
  })
  t.test('describe("returns \'default\' if") it("no consumer_id, api_id, or route_id was given") / it("only consumer_id was given")', async (t) => {
    t.equal(prefixOf(undefined, undefined), 'default')
    t.equal(prefixOf(c1, undefined), 'default')
  })
  t.test('describe("does not return \'default\' if") it("route_id is non-nil")', async (t) => {
    t.not(prefixOf(undefined, r1), 'default')
  })
})

t.test('describe("params_key")', async (t) => {
  t.equal(paramsKey({ a: '1', b: '2' }, null), 'a=1:b=2', 'it("defaults to all")')
  t.equal(paramsKey({}, null), '', 'it("empty query_string returns empty")')
  t.equal(paramsKey({}, ['a']), '', 'it("empty query_string returns empty with vary query_params")')
  for (let i = 0; i < 100; i++) {
    const s1 = `a${randomString()}`
    const s2 = `b${randomString()}`
    if (paramsKey({ [s2]: '2', [s1]: '1' }, null) !== `${s1}=1:${s2}=2`) { t.fail('it("sorts the arguments")'); break }
  }
  t.pass('it("sorts the arguments")')
  t.equal(paramsKey({ a: '1', b: '2' }, ['a']), 'a=1', 'it("uses only params specified in vary")')
  t.equal(paramsKey({ a: ['1', '2'] }, ['a']), 'a=1,2', 'it("deals with multiple params with same name")')
  t.equal(paramsKey({ a: ['2', '1'] }, ['a']), 'a=1,2', 'it("deals with multiple params with same name and sorts")')
  t.equal(paramsKey({ a: ['1', '2'], b: '2' }, ['a', 'b', 'c']), 'a=1,2:b=2', 'it("discards params in config that are not in the request")')
  t.equal(paramsKey({ a: true, b: '' }, null), 'a:b=', 'a bare flag is its name; an empty value keeps its =')
})

t.test('describe("headers_key")', async (t) => {
  t.equal(headersKey({ a: '1', b: '2' }, null), '', 'it("defaults to none")')
  t.equal(headersKey({ a: '1', b: '2' }, ['a']), 'a=1', 'it("uses only params specified in vary")')
  t.equal(headersKey({ a: ['1', '2'] }, ['a']), 'a=1,2', 'it("deals with multiple params with same name")')
  t.equal(headersKey({ a: ['2', '1'] }, ['a']), 'a=1,2', 'it("deals with multiple params with same name and sorts")')
  t.equal(headersKey({ a: ['1', '2'], b: '2' }, ['a', 'b', 'c']), 'a=1,2:b=2', 'it("discards params in config that are not in the request")')
  t.equal(headersKey({ 'x-foo': 'v' }, ['X_Foo']), 'X_Foo=v', 'found case-insensitively, _ for -, named as configured')
})

t.test("the request line: nginx's $request without the query (and, with one, without the protocol)", async (t) => {
  t.equal(requestLine('GET', '/get', 1.1), 'GET /get HTTP/1.1')
  t.equal(requestLine('GET', '/get?a=1', 1.1), 'GET /get')
  t.equal(requestLine('GET', '/get', 1), 'GET /get HTTP/1.0')
  t.equal(requestLine('GET', '/Get%20x', 2), 'GET /Get%20x HTTP/2.0', 'the raw path')
})

t.test("X-Cache-Key is Kong's key, byte for byte", async (t) => {
  const gw = await startTestGateway(t)
  const up = await startCountingUpstream(t)
  await gw.admin$('POST', '/services', { name: 's', url: up.url })
  const route = await gw.admin$('POST', '/services/s/routes', { name: 'r', hosts: ['key.test'] })
  await gw.admin$('POST', '/routes/r/plugins', { name: 'proxy-cache', config: { strategy: 'memory', vary_headers: ['X-Tenant'] } })
  const sha = (s: string): string => createHash('sha256').update(s).digest('hex')
  const r1 = await send(gw.proxy, '/get', 'key.test')
  t.equal(r1.headers['x-cache-key'], sha(`${route.id as string}|GET|GET /get HTTP/1.1||`))
  const r2 = await send(gw.proxy, '/get?b=2&a=1&a=0&flag', 'key.test', { 'x-tenant': 't1' })
  t.equal(r2.headers['x-cache-key'], sha(`${route.id as string}|GET|GET /get|a=0,1:b=2:flag|X-Tenant=t1`))
})
