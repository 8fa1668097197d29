// A plugin's own rules across its config fields (PluginDescriptor.checkConfig): Kong's
// entity_checks and custom_validator, answered with Kong's 400 schema violation, on POST,
// PATCH and /schemas/plugins/validate alike, and nothing stored.
import t from 'tap'
import { request } from 'undici'
import { Type, nullable } from '../../../core/store/schema.js'
import type { PluginDescriptor } from '../../../core/runtime/plugin.js'
import { startTestGateway } from '../../helpers/gateway.js'

const Schema = Type.Object({
  low: nullable(Type.Number()),
  high: nullable(Type.Number()),
  mode: Type.String({ default: 'plain' }),
  name: nullable(Type.String()),
}, { additionalProperties: false })

const checked: PluginDescriptor<typeof Schema> = {
  name: 'test-checked',
  version: '1.0.0',
  priority: 10,
  schema: Schema,
  access () {},
  checkConfig (conf) {
    if (conf.low === null && conf.high === null) return { '@entity': ["at least one of these fields must be non-empty: 'config.low', 'config.high'"] }
    if (conf.mode === 'named' && conf.name === null) return { '@entity': ["failed conditional validation given value of field 'config.mode'"], config: { name: 'required field missing' } }
    if (conf.low !== null && conf.high !== null && conf.high < conf.low) return { config: `high(${conf.high.toFixed(1)}) cannot be lower than low(${conf.low.toFixed(1)})` }
    return undefined
  },
}

async function call (base: string, method: string, path: string, body?: unknown): Promise<{ status: number, body: any }> {
  const res = await request(`${base}${path}`, { method: method as 'POST', headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.body.text()
  return { status: res.statusCode, body: text === '' ? undefined : JSON.parse(text) }
}

t.test('checkConfig errors are Kong schema violations; valid configs pass', async (t) => {
  const gw = await startTestGateway(t, { plugins: [checked] })
  let r = await call(gw.admin, 'POST', '/plugins', { name: 'test-checked', config: {} })
  t.equal(r.status, 400)
  t.same(r.body, {
    code: 2,
    name: 'schema violation',
    message: "schema violation (at least one of these fields must be non-empty: 'config.low', 'config.high')",
    fields: { '@entity': ["at least one of these fields must be non-empty: 'config.low', 'config.high'"] },
  })
  r = await call(gw.admin, 'POST', '/plugins', { name: 'test-checked', config: { low: 1, mode: 'named' } })
  t.equal(r.status, 400)
  t.same(r.body.fields, { '@entity': ["failed conditional validation given value of field 'config.mode'"], config: { name: 'required field missing' } })
  r = await call(gw.admin, 'POST', '/plugins', { name: 'test-checked', config: { low: 20, high: 10 } })
  t.same([r.status, r.body.fields], [400, { config: 'high(10.0) cannot be lower than low(20.0)' }])
  r = await call(gw.admin, 'POST', '/schemas/plugins/validate', { name: 'test-checked', config: { low: 20, high: 10 } })
  t.equal(r.status, 400, '/schemas/plugins/validate says the same')
  t.equal((await call(gw.admin, 'GET', '/plugins')).body.data.length, 0, 'nothing stored')

  r = await call(gw.admin, 'POST', '/plugins', { name: 'test-checked', config: { low: 1, high: 2 } })
  t.equal(r.status, 201)
  const id = r.body.id as string
  r = await call(gw.admin, 'PATCH', `/plugins/${id}`, { config: { high: 0.5 } })
  t.same([r.status, r.body.fields], [400, { config: 'high(0.5) cannot be lower than low(1.0)' }], 'a PATCH is checked merged')
  t.equal((await call(gw.admin, 'GET', `/plugins/${id}`)).body.config.high, 2, 'the stored config is unchanged')
})
