// Kong's spec/03-plugins/09-key-auth/01-api_spec.lua, against Tollgate's Admin API.
import t from 'tap'
import { startAdmin } from '../../helpers/admin.js'
import { until } from '../../helpers/gateway.js'
import { keyauthCredentials } from '../../../plugins/key-auth/entities.js'
import { PluginRegistry } from '../../../core/runtime/registry.js'
import { keyAuth } from '../../../plugins/key-auth/index.js'

const registry = new PluginRegistry()
registry.register(keyAuth)

t.test('credentials under a consumer', async (t) => {
  const api = await startAdmin(t, { entities: [keyauthCredentials], plugins: registry })
  const bob = (await api.call('POST', '/consumers', { json: { username: 'bob' } })).body
  let r = await api.call('POST', '/consumers/bob/key-auth', { json: { key: '1234' } })
  t.equal(r.status, 201)
  t.equal(r.body.consumer.id, bob.id)
  t.equal(r.body.key, '1234')
  const a = (await api.call('POST', '/consumers/bob/key-auth', { json: {} })).body
  const b = (await api.call('POST', '/consumers/bob/key-auth', { json: {} })).body
  t.match(a.key, /^[A-Za-z0-9]{32}$/, 'a generated key is 32 alphanumerics')
  t.not(a.key, b.key, 'generated keys differ')
  r = await api.call('POST', '/consumers/bob/key-auth', { json: { key: 'keyauth-with-tags', tags: ['tag1', 'tag2'] } })
  t.same(r.body.tags, ['tag1', 'tag2'])
  t.equal((await api.call('GET', '/consumers/bob/key-auth')).body.data.length, 4)
  r = await api.call('POST', '/consumers/bob/key-auth', { json: { ttl: 1 } })
  t.equal(r.status, 201)
  const short = r.body
  const lookup = async (): Promise<number> => (await api.call('GET', `/consumers/bob/key-auth/${short.id as string}`)).status
  await until(async () => await lookup() === 404, 'the credential to expire')
  t.equal(await lookup(), 404, 'expired with its ttl')

  const cred = (await api.call('POST', '/consumers/bob/key-auth', { json: { key: 'fresh' }, form: undefined })).body
  t.equal((await api.call('GET', `/consumers/bob/key-auth/${cred.id as string}`)).body.id, cred.id)
  t.equal((await api.call('GET', '/consumers/bob/key-auth/fresh')).body.id, cred.id, 'by key')
  await api.call('POST', '/consumers', { json: { username: 'alice' } })
  t.equal((await api.call('GET', `/consumers/alice/key-auth/${cred.id as string}`)).status, 404, 'wrong owner')
  r = await api.call('PUT', '/consumers/bob/key-auth/1234', { json: {} })
  t.equal(r.status, 200)
  t.match(r.body, { key: '1234', consumer: { id: bob.id } })
  r = await api.call('PUT', '/consumers/bob/key-auth/c16bbff7-5d0d-4a28-8127-1ee581898f11', { json: {} })
  t.equal(r.status, 200)
  t.match(r.body.key, /^[A-Za-z0-9]{32}$/, 'PUT by a new uuid generates the key')
  r = await api.call('PATCH', `/consumers/bob/key-auth/${cred.id as string}`, { json: { key: '4321' } })
  t.equal(r.body.key, '4321')
  r = await api.call('PATCH', '/consumers/bob/key-auth/4321', { json: { key: '4321UPD' } })
  t.equal(r.body.key, '4321UPD')
  r = await api.call('PATCH', `/consumers/bob/key-auth/${cred.id as string}`, { json: { key: 123 } })
  t.same([r.status, r.body.fields], [400, { key: 'expected a string' }])
  t.equal((await api.call('DELETE', `/consumers/bob/key-auth/${cred.id as string}`)).status, 204)
  t.equal((await api.call('DELETE', '/consumers/bob/key-auth/blah')).status, 404)
  t.equal((await api.call('DELETE', '/consumers/bob/key-auth/00000000-0000-0000-0000-000000000000')).status, 404)
  r = await api.call('POST', '/consumers/bob/key-auth', { json: { key: '1234' } })
  t.same([r.status, r.body.message], [409, `UNIQUE violation detected on '{key="1234"}'`])
  r = await api.call('POST', '/consumers/bob/key-auth', { json: { ttl: 10 } })
  t.ok(r.body.ttl > 0 && r.body.ttl <= 10, 'ttl shown')
})

t.test('the key-auth plugin entity', async (t) => {
  const api = await startAdmin(t, { entities: [keyauthCredentials], plugins: registry })
  const svc = (await api.call('POST', '/services', { json: { host: 'x.test' } })).body
  const route = (await api.call('POST', '/routes', { json: { hosts: ['keyauth1.test'], service: { id: svc.id } } })).body
  let r = await api.call('POST', '/plugins', { json: { name: 'key-auth', route: { id: route.id }, config: { key_names: ['hello\\world'] } } })
  t.equal(r.status, 400)
  t.equal(r.body.fields.config.key_names[0], "bad header name 'hello\\world', allowed characters are A-Z, a-z, 0-9, '_', and '-'")
  r = await api.call('POST', '/plugins', { json: { name: 'key-auth', route: { id: route.id }, config: { key_names: ['hello-world'] } } })
  t.equal(r.status, 201)
  t.same(r.body.config, { key_names: ['hello-world'], hide_credentials: false, anonymous: null, key_in_header: true, key_in_query: true, key_in_body: false, run_on_preflight: true, realm: null })
  r = await api.call('POST', '/plugins', { form: { name: 'key-auth', 'config.key_names': 'apikey' } })
  t.same(r.body.config.key_names, ['apikey'], 'the guide\'s form body')
  const c = (await api.call('POST', '/consumers', { json: { username: 'x' } })).body
  r = await api.call('POST', '/plugins', { json: { name: 'key-auth', consumer: { id: c.id } } })
  t.same([r.status, r.body.fields], [400, { consumer: 'value must be null' }], 'key-auth cannot be scoped to a consumer')
  r = await api.call('GET', '/schemas/plugins/key-auth')
  t.match(r.body.fields[2].config.fields[0], { key_names: { type: 'array', default: ['apikey'] } })
})

t.test('/key-auths', async (t) => {
  const api = await startAdmin(t, { entities: [keyauthCredentials], plugins: registry })
  const bob = (await api.call('POST', '/consumers', { json: { username: 'bob' } })).body
  await api.call('POST', '/consumers', { json: { username: 'bob-the-buidler' } })
  for (let i = 0; i < 3; i++) {
    await api.call('POST', '/consumers/bob/key-auth', { json: {} })
    await api.call('POST', '/consumers/bob-the-buidler/key-auth', { json: {} })
  }
  t.equal((await api.call('GET', '/key-auths/')).body.data.length, 6)
  t.equal((await api.call('GET', '/key-auths')).body.data.length, 6)
  const p1 = (await api.call('GET', '/key-auths?size=3')).body
  t.equal(p1.data.length, 3)
  const p2 = (await api.call('GET', `/key-auths?size=3&offset=${encodeURIComponent(p1.offset as string)}`)).body
  t.equal(p2.data.length, 3)
  t.notOk('offset' in p2)
  t.same(p1.data.filter((x: { id: string }) => p2.data.some((y: { id: string }) => y.id === x.id)), [], 'different items')
  let r = await api.call('POST', '/key-auths', { json: { key: '1234' } })
  t.same([r.status, r.body.message], [400, 'schema violation (consumer: required field missing)'])
  r = await api.call('POST', '/key-auths', { json: { key: '1234', consumer: { id: bob.id } } })
  t.same([r.status, r.body.key], [201, '1234'])
  r = await api.call('PUT', '/key-auths/5678', { json: {} })
  t.same([r.status, r.body.message], [400, 'schema violation (consumer: required field missing)'])
  r = await api.call('PUT', '/key-auths/5678', { json: { consumer: { id: bob.id } } })
  t.same([r.status, r.body.key], [200, '5678'])
  t.same((await api.call('GET', `/key-auths/${r.body.id as string}/consumer`)).body, bob)
  t.same((await api.call('GET', '/key-auths/5678/consumer')).body, bob)
  t.equal((await api.call('GET', '/key-auths/c16bbff7-5d0d-4a28-8127-1ee581898f11/consumer')).status, 404)
  t.equal((await api.call('GET', '/key-auths/no-such-key/consumer')).status, 404)
})
