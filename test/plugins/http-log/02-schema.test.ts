// Kong's spec/03-plugins/03-http-log/02-schema_spec.lua (3.2.2) through the Admin API, with
// Kong's 400 bodies. "accepts custom fields by lua" is inverted: Tollgate runs no Lua, so a
// non-empty custom_fields_by_lua is refused rather than silently ignored.
import t from 'tap'
import { request } from 'undici'
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js'
import { LUA_NOT_SUPPORTED } from '@tollgate/sdk'

let gw: TestGateway
t.before(async () => { gw = await startTestGateway(t) })

async function post (config: unknown): Promise<{ status: number, body: any }> {
  const res = await request(`${gw.admin}/plugins`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'http-log', config }) })
  const body = await res.body.json() as any
  if (res.statusCode === 201) await gw.admin$('DELETE', `/plugins/${body.id as string}`)
  return { status: res.statusCode, body }
}

t.test('it("accepts minimal config with defaults")', async (t) => {
  const r = await post({ http_endpoint: 'http://myservice.com/path' })
  t.equal(r.status, 201)
  t.same(r.body.config, { http_endpoint: 'http://myservice.com/path', method: 'POST', content_type: 'application/json', timeout: 10000, keepalive: 60000, retry_count: 10, queue_size: 1, flush_timeout: 2, headers: null, queue: null, custom_fields_by_lua: null })
})

t.test("Kong 3.3's queue record: filled with Kong's defaults, its bounds checked", async (t) => {
  let r = await post({ http_endpoint: 'http://myservice.com/path', queue: { max_batch_size: 50 } })
  t.equal(r.status, 201)
  t.same(r.body.config.queue, { max_batch_size: 50, max_coalescing_delay: 1, max_entries: 10000, max_bytes: null, max_retry_time: 60, initial_retry_delay: 0.01, max_retry_delay: 60 })
  t.equal((await post({ http_endpoint: 'http://myservice.com/path', queue: {} })).status, 201, 'an empty record takes every default')
  t.equal((await post({ http_endpoint: 'http://myservice.com/path', queue: { max_retry_time: -1, max_bytes: 4096 } })).status, 201, 'a negative max_retry_time: no retries')
  for (const queue of [{ max_batch_size: 0 }, { max_coalescing_delay: 3601 }, { max_entries: 0 }, { initial_retry_delay: 0 }, { max_retry_delay: 0 }, { max_batch_size: 1.5 }, { name: 'shared' }]) {
    r = await post({ http_endpoint: 'http://myservice.com/path', queue })
    t.equal(r.status, 400, JSON.stringify(queue))
    t.ok(r.body.fields?.config?.queue !== undefined, `${JSON.stringify(queue)}: the error is on config.queue`)
  }
})

t.test('it("accepts empty headers with username/password in the http_endpoint")', async (t) => {
  t.equal((await post({ http_endpoint: 'http://bob:password@myservice.com/path', headers: {} })).status, 201)
})

t.test('it("accepts custom fields by lua"): refused (no Lua)', async (t) => {
  const r = await post({ http_endpoint: 'http://myservice.com/path', custom_fields_by_lua: { foo: "return 'bar'" } })
  t.equal(r.status, 400)
  t.equal(r.body.name, 'schema violation')
  t.equal(r.body.fields.config.custom_fields_by_lua, LUA_NOT_SUPPORTED)
  t.match(r.body.message, /Lua is not supported/, 'the message says why')
})

t.test('custom_fields_by_lua: null and an empty map, what Kong does without Lua, are accepted', async (t) => {
  t.equal((await post({ http_endpoint: 'http://myservice.com/path', custom_fields_by_lua: null })).status, 201)
  t.equal((await post({ http_endpoint: 'http://myservice.com/path', custom_fields_by_lua: {} })).status, 201)
})

t.test('it("does accept allowed headers")', async (t) => {
  t.equal((await post({ http_endpoint: 'http://myservice.com/path', headers: { 'X-My-Header': '123', 'X-Your-Header': 'abc' } })).status, 201)
})

t.test('the charset content type of the 3.2 docs', async (t) => {
  t.equal((await post({ http_endpoint: 'http://myservice.com/path', content_type: 'application/json; charset=utf-8' })).status, 201)
  const r = await post({ http_endpoint: 'http://myservice.com/path', content_type: 'text/plain' })
  t.equal(r.status, 400)
  t.same(r.body.fields, { config: { content_type: 'expected one of: application/json, application/json; charset=utf-8' } })
})

const bad: Array<[string, Record<string, unknown>, unknown]> = [
  ['it("does not accept empty header values")', { headers: { 'X-My-Header': '' } }, { config: { headers: 'length must be at least 1' } }],
  ['it("does not accept Host header")', { headers: { 'X-My-Header': '123', Host: 'MyHost' } }, { config: { headers: "cannot contain 'Host' header" } }],
  ['it("does not accept Content-Length header")', { headers: { 'coNTEnt-Length': '123' } }, { config: { headers: "cannot contain 'Content-Length' header" } }],
  ['it("does not accept Content-Type header")', { headers: { 'coNTEnt-Type': 'bad' } }, { config: { headers: "cannot contain 'Content-Type' header" } }],
  ['a method other than POST, PUT or PATCH', { method: 'GET' }, { config: { method: 'expected one of: POST, PUT, PATCH' } }],
]
for (const [name, extra, fields] of bad) {
  t.test(name, async (t) => {
    const r = await post({ http_endpoint: 'http://myservice.com/path', ...extra })
    t.equal(r.status, 400)
    t.equal(r.body.name, 'schema violation')
    t.same(r.body.fields, fields)
  })
}

t.test('it("does not accept userinfo in URL and \'Authorization\' header")', async (t) => {
  const r = await post({ http_endpoint: 'http://hi:there@myservice.com/path', headers: { AuthoRIZATion: 'bad' } })
  t.equal(r.status, 400)
  t.same(r.body.fields, { config: "specifying both an 'Authorization' header and user info in 'http_endpoint' is not allowed" })
})

t.test('http_endpoint is required', async (t) => {
  const r = await post({})
  t.equal(r.status, 400)
  t.same(r.body.fields, { config: { http_endpoint: 'required field missing' } })
})
