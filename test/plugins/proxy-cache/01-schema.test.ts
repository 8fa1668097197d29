// Kong's spec/03-plugins/31-proxy-cache/01-schema_spec.lua and the (schema) block of
// 03-api_spec.lua (3.2.2), through the Admin API: Kong's messages, Kong's defaults, and the
// check that the memory strategy's dictionary exists on the node.
import t from 'tap'
import { request } from 'undici'
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js'

let gw: TestGateway

t.before(async () => {
  gw = await startTestGateway(t, { config: { nginx_http_lua_shared_dict: 'my_cache 1m; lua_shared_dict other_cache 64k' } })
})

async function post (config: unknown, form?: string): Promise<{ status: number, body: any }> {
  const res = form === undefined
    ? await request(`${gw.admin}/plugins`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'proxy-cache', config }) })
    : await request(`${gw.admin}/plugins`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form })
  const body = await res.body.json() as any
  if (res.statusCode === 201) await gw.admin$('DELETE', `/plugins/${body.id as string}`)
  return { status: res.statusCode, body }
}

t.test('it("accepts a minimal config") / it("defines default content-type values"): every default, Kong 3.2 order', async (t) => {
  const r = await post({ strategy: 'memory' })
  t.equal(r.status, 201)
  t.same(r.body.config, {
    response_code: [200, 301, 404],
    request_method: ['GET', 'HEAD'],
    content_type: ['text/plain', 'application/json'],
    cache_ttl: 300,
    strategy: 'memory',
    cache_control: false,
    storage_ttl: null,
    memory: { dictionary_name: 'kong_db_cache' },
    vary_query_params: null,
    vary_headers: null,
    // Kong 3.3+ and 3.4+ fields; their defaults are Kong 3.2's behaviour.
    ignore_uri_case: false,
    response_headers: { age: true, 'X-Cache-Status': true, 'X-Cache-Key': true },
  })
})

t.test('it("accepts a config with custom values")', async (t) => {
  const r = await post({ strategy: 'memory', response_code: [200, 301], request_method: ['GET'], content_type: ['application/json'] })
  t.equal(r.status, 201)
})

t.test('it("accepts an array of numbers as strings") (01-schema and 03-api (schema)); it("casts an array of response_code values to number types")', async (t) => {
  t.equal((await post({ strategy: 'memory', response_code: [123, 200] })).status, 201)
  const r = await post(undefined, 'name=proxy-cache&config.strategy=memory&config.response_code=123&config.response_code=200&config.cache_ttl=600&config.request_method=GET&config.content_type=text/json')
  t.equal(r.status, 201)
  t.same(r.body.config.response_code, [123, 200], 'form values typed by the schema')
  t.same(r.body.config.request_method, ['GET'], 'a single value for an array field is a one-element array')
})

t.test('it("errors with invalid response_code")', async (t) => {
  const r = await post({ strategy: 'memory', response_code: [99] })
  t.equal(r.status, 400)
  t.same(r.body.fields.config.response_code, ['value should be between 100 and 900'])
})

t.test('it("errors if response_code is an empty array")', async (t) => {
  t.same((await post({ strategy: 'memory', response_code: [] })).body.fields.config.response_code, 'length must be at least 1')
})

t.test('it("errors if response_code is a string")', async (t) => {
  t.same((await post({ strategy: 'memory', response_code: '' })).body.fields.config.response_code, 'expected an array')
})

t.test('it("errors if response_code has non-numeric values")', async (t) => {
  const r = await post({ strategy: 'memory', response_code: [true, 'alo', 123] })
  t.same(r.body.fields.config.response_code, ['expected an integer', 'expected an integer'])
})

t.test('it("errors if response_code has float value")', async (t) => {
  t.same((await post({ strategy: 'memory', response_code: [123.5] })).body.fields.config.response_code, ['expected an integer'])
})

t.test('it("errors with invalid ttl")', async (t) => {
  t.same((await post({ strategy: 'memory', cache_ttl: -1 })).body.fields.config.cache_ttl, 'value must be greater than 0')
  t.same((await post({ strategy: 'memory', cache_ttl: 0 })).body.fields.config.cache_ttl, 'value must be greater than 0')
})

t.test('it("supports vary_query_params values") / it("supports vary_headers values")', async (t) => {
  const r = await post({ strategy: 'memory', vary_query_params: ['foo'], vary_headers: ['foo'] })
  t.equal(r.status, 201)
  t.same([r.body.config.vary_query_params, r.body.config.vary_headers], [['foo'], ['foo']])
})

t.test('strategy is required and one of memory; request_method one of Kong\'s five', async (t) => {
  t.same((await post({})).body.fields.config, { strategy: 'required field missing' })
  t.same((await post({ strategy: 'redis' })).body.fields.config.strategy, 'expected one of: memory')
  t.same((await post({ strategy: 'memory', request_method: ['GET', 'DELETE'] })).body.fields.config.request_method, [null, 'expected one of: HEAD, GET, POST, PATCH, PUT'])
})

t.test("memory.dictionary_name must be a dictionary the node declares: Kong's missing shared dict", async (t) => {
  const r = await post({ strategy: 'memory', memory: { dictionary_name: 'kong' } })
  t.equal(r.status, 400)
  t.same(r.body.fields['@entity'], ["missing shared dict 'kong'"])
  t.equal((await post({ strategy: 'memory', memory: { dictionary_name: 'my_cache' } })).status, 201, 'declared with nginx_http_lua_shared_dict')
  t.equal((await post({ strategy: 'memory', memory: { dictionary_name: 'other_cache' } })).status, 201, "the second, after Kong's '; lua_shared_dict' injection")
})
