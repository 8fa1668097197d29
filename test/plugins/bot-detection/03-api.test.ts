// Kong's spec/03-plugins/21-bot-detection/03-api_spec.lua (3.2.2): Kong's 400 bodies.
import t from 'tap'
import { request } from 'undici'
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js'

const BAD_REGEX = '(https?:\\/\\/.*'

let gw: TestGateway
t.before(async () => { gw = await startTestGateway(t) })

async function post (config: unknown): Promise<{ status: number, body: any }> {
  const res = await request(`${gw.admin}/plugins`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bot-detection', config }) })
  const body = await res.body.json() as any
  if (res.statusCode === 201) await gw.admin$('DELETE', `/plugins/${body.id as string}`)
  return { status: res.statusCode, body }
}

t.test('it("fails when using a bad regex in allow")', async (t) => {
  const r = await post({ allow: [BAD_REGEX] })
  t.equal(r.status, 400)
  t.same(r.body.fields.config.allow, [`not a valid regex: ${BAD_REGEX}`])
})

t.test('it("fails when using a bad regex in deny")', async (t) => {
  const r = await post({ deny: [BAD_REGEX] })
  t.equal(r.status, 400)
  t.same(r.body.fields.config.deny, [`not a valid regex: ${BAD_REGEX}`])
})

t.test('defaults', async (t) => {
  const r = await post({})
  t.equal(r.status, 201)
  t.same(r.body.config, { allow: [], deny: [] })
})
