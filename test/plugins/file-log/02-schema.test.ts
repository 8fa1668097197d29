// Kong's spec/03-plugins/04-file-log/02-schema_spec.lua (3.2.2) through the Admin API, with
// Kong's 400 bodies. "accepts custom fields set by lua code" is inverted: Tollgate runs no
// Lua, so a non-empty custom_fields_by_lua is refused rather than silently ignored.
import t from 'tap'
import { request } from 'undici'
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js'
import { LUA_NOT_SUPPORTED } from '@tollgate/sdk'

let gw: TestGateway
t.before(async () => { gw = await startTestGateway(t) })

async function post (config: unknown): Promise<{ status: number, body: any }> {
  const res = await request(`${gw.admin}/plugins`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'file-log', config }) })
  const body = await res.body.json() as any
  if (res.statusCode === 201) await gw.admin$('DELETE', `/plugins/${body.id as string}`)
  return { status: res.statusCode, body }
}

t.test('"path is required"', async (t) => {
  const r = await post({ reopen: true })
  t.equal(r.status, 400)
  t.equal(r.body.name, 'schema violation')
  t.same(r.body.fields, { config: { path: 'required field missing' } })
})

t.test('"rejects invalid filename"', async (t) => {
  const r = await post({ path: '/ovo*', reopen: true })
  t.equal(r.status, 400)
  t.same(r.body.fields, { config: { path: 'not a valid filename' } })
})

t.test('"accepts valid filename"', async (t) => {
  const r = await post({ path: '/tmp/log.txt', reopen: true })
  t.equal(r.status, 201)
  t.same(r.body.config, { path: '/tmp/log.txt', reopen: true, custom_fields_by_lua: null })
})

t.test('defaults', async (t) => {
  const r = await post({ path: '/tmp/log.txt' })
  t.equal(r.status, 201)
  t.equal(r.body.config.reopen, false)
})

t.test('"accepts custom fields set by lua code": refused (no Lua)', async (t) => {
  const r = await post({ path: '/tmp/log.txt', custom_fields_by_lua: { foo: "return 'bar'" } })
  t.equal(r.status, 400)
  t.equal(r.body.name, 'schema violation')
  t.equal(r.body.fields.config.custom_fields_by_lua, LUA_NOT_SUPPORTED)
  t.match(r.body.message, /Lua is not supported/, 'the message says why')
})

t.test('custom_fields_by_lua: null and an empty map, what Kong does without Lua, are accepted', async (t) => {
  t.equal((await post({ path: '/tmp/log.txt', custom_fields_by_lua: null })).status, 201)
  t.equal((await post({ path: '/tmp/log.txt', custom_fields_by_lua: {} })).status, 201)
})
