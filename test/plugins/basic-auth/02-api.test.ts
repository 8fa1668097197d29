// Kong's spec/03-plugins/10-basic-auth/02-api_spec.lua, against Tollgate's Admin API.
import { createHash } from 'node:crypto'
import t from 'tap'
import { startAdmin } from '../../helpers/admin.js'
import { basicauthCredentials } from '../../../plugins/basic-auth/entities.js'
import { PluginRegistry } from '../../../core/runtime/registry.js'
import { basicAuth } from '../../../plugins/basic-auth/index.js'

const registry = new PluginRegistry()
registry.register(basicAuth)
const hash = (consumerId: string, password: string): string => createHash('sha1').update(password + consumerId).digest('hex')

t.test('/consumers/:consumer/basic-auth/', async (t) => {
  const api = await startAdmin(t, { entities: [basicauthCredentials], plugins: registry })
  const bob = (await api.call('POST', '/consumers', { json: { username: 'bob' } })).body
  // POST: creates a basic-auth credential
  let r = await api.call('POST', '/consumers/bob/basic-auth', { json: { username: 'bob', password: 'kong' } })
  t.equal(r.status, 201)
  t.equal(r.body.consumer.id, bob.id)
  t.equal(r.body.username, 'bob')
  // POST: hashes the password
  t.not(r.body.password, 'kong')
  t.equal(r.body.password, hash(bob.id, 'kong'), 'SHA-1 of the password and the consumer id; never the cleartext')
  const first = r.body
  // POST: creates a basic-auth credential with tags
  r = await api.call('POST', '/consumers/bob/basic-auth', { json: { username: 'bob-tags', password: 'kong', tags: ['tag1', 'tag2'] } })
  t.same([r.status, r.body.tags], [201, ['tag1', 'tag2']])
  // POST: hashes the password without trimming whitespace
  r = await api.call('POST', '/consumers/bob/basic-auth', { json: { username: 'bob-ws', password: ' kong ' } })
  t.equal(r.body.password, hash(bob.id, ' kong '))
  // POST errors: returns bad request
  r = await api.call('POST', '/consumers/bob/basic-auth', { json: {} })
  t.same([r.status, r.body.fields], [400, { username: 'required field missing', password: 'required field missing' }])
  // POST errors: cannot create two identical usernames
  r = await api.call('POST', '/consumers/bob/basic-auth', { json: { username: 'bob', password: 'other' } })
  t.same([r.status, r.body.message], [409, `UNIQUE violation detected on '{username="bob"}'`])
  // GET: retrieves the first page
  r = await api.call('GET', '/consumers/bob/basic-auth')
  t.equal(r.body.data.length, 3)
  t.ok(r.body.data.every((c: { password: string }) => /^[0-9a-f]{40}$/.test(c.password)), 'listed passwords are hashes')

  // /consumers/:consumer/basic-auth/:id GET
  t.equal((await api.call('GET', `/consumers/bob/basic-auth/${first.id as string}`)).body.id, first.id, 'by id')
  t.equal((await api.call('GET', '/consumers/bob/basic-auth/bob')).body.id, first.id, 'by username')
  await api.call('POST', '/consumers', { json: { username: 'alice' } })
  t.equal((await api.call('GET', `/consumers/alice/basic-auth/${first.id as string}`)).status, 404, 'only if the credential belongs to the specified consumer')

  // PUT: creates a basic-auth credential; errors: returns bad request
  r = await api.call('PUT', '/consumers/bob/basic-auth/robert', { json: { password: 'kong' } })
  t.same([r.status, r.body.username, r.body.password], [200, 'robert', hash(bob.id, 'kong')])
  r = await api.call('PUT', '/consumers/bob/basic-auth/b59d82f6-c839-4a60-b491-c6cdff4cd5d3', { json: { username: 123 } })
  t.same([r.status, r.body.fields], [400, { username: 'expected a string', password: 'required field missing' }])

  // PATCH: updates a credential by id / ignores a nil password / by username
  r = await api.call('PATCH', `/consumers/bob/basic-auth/${first.id as string}`, { json: { password: '4321' } })
  t.same([r.status, r.body.password], [200, hash(bob.id, '4321')])
  const previous = r.body.password
  r = await api.call('PATCH', `/consumers/bob/basic-auth/${first.id as string}`, { json: { username: 'Tyrion Lannister' } })
  t.same([r.status, r.body.username, r.body.password], [200, 'Tyrion Lannister', previous], 'a patch without a password keeps the hash')
  r = await api.call('PATCH', '/consumers/bob/basic-auth/Tyrion%20Lannister', { json: { password: 'upd4321' } })
  t.same([r.status, r.body.password], [200, hash(bob.id, 'upd4321')])
  r = await api.call('PATCH', '/consumers/bob/basic-auth/Tyrion%20Lannister', { json: { username: 'Tyrion' } })
  t.equal(r.body.password, hash(bob.id, 'upd4321'))
  // PATCH errors: handles invalid input
  r = await api.call('PATCH', `/consumers/bob/basic-auth/${first.id as string}`, { json: { username: 123 } })
  t.same([r.status, r.body.fields], [400, { username: 'expected a string' }])

  // DELETE: deletes a credential; errors: 404 on missing username, 404 if not found
  t.equal((await api.call('DELETE', `/consumers/bob/basic-auth/${first.id as string}`)).status, 204)
  t.equal((await api.call('DELETE', '/consumers/bob/basic-auth/blah')).status, 404)
  t.equal((await api.call('DELETE', '/consumers/bob/basic-auth/00000000-0000-0000-0000-000000000000')).status, 404)
})

t.test('/basic-auths', async (t) => {
  const api = await startAdmin(t, { entities: [basicauthCredentials], plugins: registry })
  const bob = (await api.call('POST', '/consumers', { json: { username: 'bob' } })).body
  const john = (await api.call('POST', '/consumers', { json: { username: 'john' } })).body
  await api.call('POST', '/consumers', { json: { username: 'bob-the-buidler' } })
  for (let i = 0; i < 3; i++) {
    await api.call('POST', '/consumers/bob/basic-auth', { json: { username: `bob${i}`, password: 'kong' } })
    await api.call('POST', '/consumers/bob-the-buidler/basic-auth', { json: { username: `builder${i}`, password: 'kong' } })
  }
  // GET: with and without trailing slash; paginates
  t.equal((await api.call('GET', '/basic-auths/')).body.data.length, 6)
  t.equal((await api.call('GET', '/basic-auths')).body.data.length, 6)
  const p1 = (await api.call('GET', '/basic-auths?size=3')).body
  t.equal(p1.data.length, 3)
  const p2 = (await api.call('GET', `/basic-auths?size=3&offset=${encodeURIComponent(p1.offset as string)}`)).body
  t.equal(p2.data.length, 3)
  t.notOk('offset' in p2)
  // POST: does not create basic-auth credential when missing consumer; creates one
  let r = await api.call('POST', '/basic-auths', { json: { username: 'bob', password: 'kong' } })
  t.same([r.status, r.body.message], [400, 'schema violation (consumer: required field missing)'])
  r = await api.call('POST', '/basic-auths', { json: {} })
  t.same([r.status, r.body.message], [400, '3 schema violations (consumer: required field missing; password: required field missing; username: required field missing)'])
  r = await api.call('POST', '/basic-auths', { json: { username: 'bob', password: 'kong', consumer: { id: bob.id } } })
  t.same([r.status, r.body.username, r.body.password], [201, 'bob', hash(bob.id, 'kong')])

  // /basic-auths/:username_or_id PATCH: does not allow updating consumer as it would invalidate the password
  r = await api.call('PATCH', '/basic-auths/bob', { json: { consumer: { id: john.id } } })
  t.same([r.status, r.body.message], [400, "schema violation (all or none of these fields must be set: 'password', 'consumer.id')"])
  r = await api.call('PATCH', '/basic-auths/bob', { json: { consumer: { id: john.id }, password: 'new' } })
  t.same([r.status, r.body.consumer.id, r.body.password], [200, john.id, hash(john.id, 'new')], 'with a new password it may move')
  r = await api.call('PATCH', '/basic-auths/bob', { json: { password: 'newer' } })
  t.same([r.status, r.body.password], [200, hash(john.id, 'newer')], 'a password alone is salted with the stored consumer')

  // PUT: does not create basic-auth credential when missing consumer; creates one
  r = await api.call('PUT', '/basic-auths/alice', { json: {} })
  t.same([r.status, r.body.message], [400, '2 schema violations (consumer: required field missing; password: required field missing)'])
  r = await api.call('PUT', '/basic-auths/alice', { json: { password: 'kong', consumer: { id: bob.id } } })
  t.same([r.status, r.body.username, r.body.password], [200, 'alice', hash(bob.id, 'kong')])

  // /basic-auths/:credential_username_or_id/consumer GET
  t.same((await api.call('GET', `/basic-auths/${r.body.id as string}/consumer`)).body, bob)
  t.same((await api.call('GET', '/basic-auths/alice/consumer')).body, bob)
  t.equal((await api.call('GET', '/basic-auths/c16bbff7-5d0d-4a28-8127-1ee581898f11/consumer')).status, 404)
  t.equal((await api.call('GET', '/basic-auths/no-such-user/consumer')).status, 404)
})

t.test('the basic-auth plugin entity', async (t) => {
  const api = await startAdmin(t, { entities: [basicauthCredentials], plugins: registry })
  let r = await api.call('POST', '/plugins', { json: { name: 'basic-auth' } })
  t.equal(r.status, 201)
  t.same(r.body.config, { anonymous: null, hide_credentials: false, realm: null })
  const c = (await api.call('POST', '/consumers', { json: { username: 'x' } })).body
  r = await api.call('POST', '/plugins', { json: { name: 'basic-auth', consumer: { id: c.id } } })
  t.same([r.status, r.body.fields], [400, { consumer: 'value must be null' }], 'basic-auth cannot be scoped to a consumer')
})
