// The correlation-id schema through the Admin API: Kong 3.2's defaults
// (kong/plugins/correlation-id/schema.lua) and its one_of message. Kong 3.2.2 has no
// 02-schema_spec.lua for this plugin; these cases are ours.
import t from 'tap'
import { request } from 'undici'
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js'

let gw: TestGateway
t.before(async () => { gw = await startTestGateway(t) })

async function post (config: unknown): Promise<{ status: number, body: any }> {
  const res = await request(`${gw.admin}/plugins`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'correlation-id', config }) })
  const body = await res.body.json() as any
  if (res.statusCode === 201) await gw.admin$('DELETE', `/plugins/${body.id as string}`)
  return { status: res.statusCode, body }
}

t.test('defaults', async (t) => {
  const r = await post({})
  t.equal(r.status, 201)
  t.same(r.body.config, { header_name: 'Kong-Request-ID', generator: 'uuid#counter', echo_downstream: false })
})

t.test('an unknown generator', async (t) => {
  const r = await post({ generator: 'snowflake' })
  t.equal(r.status, 400)
  t.same(r.body.fields.config.generator, 'expected one of: uuid, uuid#counter, tracker')
})

t.test('GET /schemas/plugins/correlation-id', async (t) => {
  const s = await gw.admin$('GET', '/schemas/plugins/correlation-id')
  t.ok(Array.isArray(s.fields), 'Kong-style field list')
})
