// Kong's spec/03-plugins/15-response-transformer/03-api_spec.lua (3.2.2), through the
// Admin API: Kong's messages, plus Kong 3.2's defaults (schema.lua).
import t from 'tap'
import { request } from 'undici'
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js'

let gw: TestGateway
t.before(async () => { gw = await startTestGateway(t) })

async function post (config: unknown): Promise<{ status: number, body: any }> {
  const res = await request(`${gw.admin}/plugins`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'response-transformer', config }) })
  const body = await res.body.json() as any
  if (res.statusCode === 201) await gw.admin$('DELETE', `/plugins/${body.id as string}`)
  return { status: res.statusCode, body }
}

t.test('defaults (schema.lua)', async (t) => {
  const r = await post({})
  t.equal(r.status, 201)
  const values = { json: [], json_types: [], headers: [] }
  t.same(r.body.config, { remove: { json: [], headers: [] }, rename: { headers: [] }, replace: values, add: values, append: values })
})

t.test('it("remove succeeds without colons")', async (t) => {
  const r = await post({ remove: { headers: ['just_a_key'], json: ['just_a_key'] } })
  t.equal(r.status, 201)
  t.same([r.body.config.remove.headers, r.body.config.remove.json], [['just_a_key'], ['just_a_key']])
})

t.test('it("rename succeeds with colons")', async (t) => {
  const r = await post({ rename: { headers: ['x-request-id:x-custom-request-id'] } })
  t.equal(r.status, 201)
  t.same(r.body.config.rename.headers, ['x-request-id:x-custom-request-id'])
})

t.test('it("rename fails with missing colons for header old_name/new_name separation")', async (t) => {
  const r = await post({ rename: { headers: ['x-request-idx-custom-request-id'] } })
  t.equal(r.status, 400)
  t.equal(r.body.name, 'schema violation')
  t.same(r.body.fields.config.rename.headers, ['invalid value: x-request-idx-custom-request-id'])
})

t.test('it("rename fails with invalid header name for old_name or new_name separation")', async (t) => {
  const r = await post({ rename: { headers: ['x-requ,est-id:x-custom-request-id'] } })
  t.equal(r.status, 400)
  t.equal(r.body.name, 'schema violation')
  t.same(r.body.fields.config.rename.headers, ["'x-requ,est-id' is not a valid header"])
})

t.test('it("add / replace / append fails with missing colons for key/value separation")', async (t) => {
  for (const verb of ['add', 'replace', 'append']) {
    const r = await post({ [verb]: { headers: ['just_a_key'] } })
    t.equal(r.status, 400, verb)
    t.same(r.body.fields, { config: { [verb]: { headers: ['invalid value: just_a_key'] } } }, verb)
  }
})

t.test('it("it does not allow null value for arrays")', async (t) => {
  const r = await post({
    remove: { json: null, headers: null },
    rename: { headers: null },
    replace: { json: null, json_types: null, headers: null },
    add: { json: null, json_types: null, headers: null },
    append: { json: null, json_types: null, headers: null },
  })
  t.equal(r.status, 400)
  const m = 'required field missing'
  const values = { json: m, json_types: m, headers: m }
  t.same(r.body.fields.config, { remove: { json: m, headers: m }, rename: { headers: m }, replace: values, add: values, append: values })
})

t.test('json_types: one of boolean, number, string', async (t) => {
  const r = await post({ add: { json: ['a:1'], json_types: ['integer'] } })
  t.equal(r.status, 400)
  t.same(r.body.fields.config.add.json_types, ['expected one of: boolean, number, string'])
})

t.test('GET /schemas/plugins/response-transformer', async (t) => {
  const s = await gw.admin$('GET', '/schemas/plugins/response-transformer')
  t.ok(Array.isArray(s.fields), 'Kong-style field list')
})
