// Kong's spec/03-plugins/36-request-transformer/01-schema_spec.lua and 03-api_spec.lua
// (3.2.2), through the Admin API: Kong's defaults and Kong's messages.
import t from 'tap'
import { request } from 'undici'
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js'

let gw: TestGateway
t.before(async () => { gw = await startTestGateway(t) })

async function post (config: unknown): Promise<{ status: number, body: any }> {
  const res = await request(`${gw.admin}/plugins`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'request-transformer', config }) })
  const body = await res.body.json() as any
  if (res.statusCode === 201) await gw.admin$('DELETE', `/plugins/${body.id as string}`)
  return { status: res.statusCode, body }
}

const empty = { body: [], headers: [], querystring: [] }

t.test('defaults (schema.lua)', async (t) => {
  const r = await post({})
  t.equal(r.status, 201)
  t.same(r.body.config, { http_method: null, remove: empty, rename: empty, replace: { ...empty, uri: null }, add: empty, append: empty })
})

t.test('01-schema: it("validates http_method") / it("errors invalid http_method")', async (t) => {
  t.equal((await post({ http_method: 'GET' })).status, 201)
  const r = await post({ http_method: 'HELLO!' })
  t.equal(r.status, 400)
  t.equal(r.body.fields.config.http_method, 'invalid value: HELLO!')
})

t.test('01-schema: it("validate regex pattern as value") / it("validate string as value")', async (t) => {
  t.equal((await post({ add: { querystring: ['uri_param1:$(uri_captures.user1)', 'uri_param2:$(uri_captures.user2)'] } })).status, 201)
  t.equal((await post({ add: { querystring: ['uri_param1:$(uri_captures.user1)', 'uri_param2:value'] } })).status, 201)
})

t.test('01-schema: it("error for missing value")', async (t) => {
  const r = await post({ add: { querystring: ['uri_param2:'] } })
  t.equal(r.status, 400)
  t.same(r.body.fields.config.add.querystring, ["key 'uri_param2' has no value"])
})

t.test('01-schema: it("error for malformed regex pattern in value")', async (t) => {
  const r = await post({ add: { querystring: ['uri_param2:$(uri_captures user2)'] } })
  t.equal(r.status, 400)
  t.match(r.body.fields.config.add.querystring[0], /^value '\$\(uri_captures user2\)' is not in supported format, error:/)
})

t.test('03-api: it("remove succeeds without colons")', async (t) => {
  const r = await post({ remove: { headers: ['just_a_key'], body: ['just_a_key'], querystring: ['just_a_key'] } })
  t.equal(r.status, 201)
  t.same([r.body.config.remove.headers, r.body.config.remove.body, r.body.config.remove.querystring], [['just_a_key'], ['just_a_key'], ['just_a_key']])
})

t.test('03-api: it("add / replace / append fails with missing colons for key/value separation")', async (t) => {
  for (const verb of ['add', 'replace', 'append']) {
    const r = await post({ [verb]: { headers: ['just_a_key'] } })
    t.equal(r.status, 400, verb)
    t.same(r.body.fields, { config: { [verb]: { headers: ['invalid value: just_a_key'] } } }, verb)
  }
})

t.test('03-api: it("it does not allow null value for arrays")', async (t) => {
  const nulls = { body: null, headers: null, querystring: null }
  const r = await post({ remove: nulls, rename: nulls, replace: nulls, add: nulls, append: nulls })
  t.equal(r.status, 400)
  const missing = { body: 'required field missing', headers: 'required field missing', querystring: 'required field missing' }
  t.same(r.body.fields.config, { remove: missing, rename: missing, replace: missing, add: missing, append: missing })
})

t.test('header names (validate_headers) and templates Tollgate cannot evaluate', async (t) => {
  let r = await post({ add: { headers: ['bad header:v'] } })
  t.same(r.body.fields?.config?.add?.headers, ["'bad header' is not a valid header"])
  r = await post({ rename: { headers: ['x-a:bad header'] } })
  t.same(r.body.fields?.config?.rename?.headers, ["'bad header' is not a valid header"])
  // Kong's test28 (an assignment) and test24 (a table constructor) are refused when written.
  r = await post({ add: { headers: ['X-Write-Attempt:$(shared.written = true)'] } })
  t.equal(r.status, 400)
  r = await post({ add: { headers: ['x-a:$({})'] } })
  t.equal(r.status, 400)
})

t.test('GET /schemas/plugins/request-transformer', async (t) => {
  const s = await gw.admin$('GET', '/schemas/plugins/request-transformer')
  t.ok(Array.isArray(s.fields), 'Kong-style field list')
})
