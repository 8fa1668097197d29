// Kong's "Key Authentication" getting-started guide, command for command (form bodies, as
// the guide's curl commands send them), against `tollgate start` run the way the README
// runs it, in a child process with its own prefix.
import t from 'tap'
import { request } from 'undici'
import { form, startGateway } from '../helpers/process.js'
import { startMockUpstream } from '../helpers/mock-upstream.js'
import { tempDir } from '../helpers/store.js'

async function proxied (url: string, headers: Record<string, string> = {}) {
  const res = await request(url, { headers })
  const text = await res.body.text()
  return { status: res.statusCode, body: JSON.parse(text) as Record<string, any> }
}

t.test('the Key Authentication guide', async (t) => {
  const up = await startMockUpstream(t)
  const gw = await startGateway(t, ['--prefix', tempDir(t)])
  const A = gw.admin
  const mock = `${gw.proxy}/mock/request`

  let r = await form(`${A}/services`, 'POST', { name: 'example_service', url: up.url })
  t.equal(r.status, 201)
  r = await form(`${A}/services/example_service/routes`, 'POST', { name: 'example_route', 'paths[]': '/mock' })
  t.equal(r.status, 201)
  t.equal((await proxied(mock)).status, 200, 'proxied before any plugin')

  r = await form(`${A}/consumers/`, 'POST', { username: 'luka' })
  t.same([r.status, r.body.username], [201, 'luka'])
  r = await form(`${A}/consumers/luka/key-auth`, 'POST', { key: 'top-secret-key' })
  t.same([r.status, r.body.key], [201, 'top-secret-key'])
  r = await form(`${A}/consumers/luka/key-auth`, 'POST')
  t.equal(r.status, 201)
  t.match(r.body.key, /^[A-Za-z0-9]{32}$/, 'a generated key')
  const generated = r.body.key as string

  r = await form(`${A}/plugins/`, 'POST', { name: 'key-auth', 'config.key_names': 'apikey' })
  t.equal(r.status, 201)
  const globalId = r.body.id as string

  const check = async (scope: string): Promise<void> => {
    let p = await proxied(mock)
    t.same([p.status, p.body.message], [401, 'No API key found in request'], `${scope}: no key`)
    p = await proxied(mock, { apikey: 'bad-key' })
    t.same([p.status, p.body.message], [401, 'Invalid authentication credentials'], `${scope}: bad key`)
    p = await proxied(mock, { apikey: 'top-secret-key' })
    t.equal(p.status, 200, `${scope}: good key`)
    t.equal(p.body.headers['x-consumer-username'], 'luka')
    t.equal((await proxied(mock, { apikey: generated })).status, 200, `${scope}: generated key`)
  }
  await check('global')

  r = await form(`${A}/plugins/${globalId}`, 'DELETE')
  t.equal(r.status, 204)
  t.equal((await proxied(mock)).status, 200, 'plugin removed')
  r = await form(`${A}/services/example_service/plugins`, 'POST', { name: 'key-auth', 'config.key_names': 'apikey' })
  t.equal(r.status, 201)
  await check('service')
  await form(`${A}/plugins/${r.body.id as string}`, 'DELETE')
  r = await form(`${A}/routes/example_route/plugins`, 'POST', { name: 'key-auth', 'config.key_names': 'apikey' })
  t.equal(r.status, 201)
  await check('route')

  const list = await request(`${A}/plugins/`)
  const plugins = await list.body.json() as { data: { id: string }[] }
  t.same(plugins.data.map((p) => p.id), [r.body.id], 'GET /plugins/ lists the plugin ids')
  r = await form(`${A}/plugins/${r.body.id as string}`, 'PATCH', { enabled: 'false' })
  t.same([r.status, r.body.enabled], [200, false])
  t.equal((await proxied(mock)).status, 200, 'enabled=false turns it off')

  gw.child.kill('SIGTERM')
  t.equal((await gw.exited).code, 0)
})
