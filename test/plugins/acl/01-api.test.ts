// Kong's spec/03-plugins/18-acl/01-api_spec.lua, against Tollgate's Admin API.
import t from 'tap'
import { startAdmin } from '../../helpers/admin.js'
import { acls } from '../../../plugins/acl/entities.js'
import { PluginRegistry } from '../../../core/runtime/registry.js'
import { acl } from '../../../plugins/acl/index.js'

const registry = new PluginRegistry()
registry.register(acl)

t.test('/consumers/:consumer/acls/', async (t) => {
  const api = await startAdmin(t, { entities: [acls], plugins: registry })
  const bob = (await api.call('POST', '/consumers', { json: { username: 'bob' } })).body
  // POST: creates an ACL association; with tags
  let r = await api.call('POST', '/consumers/bob/acls', { json: { group: 'admin' } })
  t.same([r.status, r.body.consumer.id, r.body.group], [201, bob.id, 'admin'])
  const admin = r.body
  r = await api.call('POST', '/consumers/bob/acls/', { json: { group: 'tagged', tags: ['tag1', 'tag2'] } })
  t.same([r.status, r.body.tags], [201, ['tag1', 'tag2']])
  // POST errors: returns bad request
  r = await api.call('POST', '/consumers/bob/acls', { json: {} })
  t.same([r.status, r.body.fields], [400, { group: 'required field missing' }])
  r = await api.call('POST', '/consumers/bob/acls', { json: { group: 'admin' } })
  t.equal(r.status, 409, 'a consumer is in a group once')
  t.match(r.body, { code: 5, name: 'unique constraint violation' })
  // GET: retrieves the first page
  t.equal((await api.call('GET', '/consumers/bob/acls')).body.data.length, 2)

  // /consumers/:consumer/acls/:id GET: by id; by group; only if the ACL belongs to the consumer
  t.equal((await api.call('GET', `/consumers/bob/acls/${admin.id as string}`)).body.id, admin.id)
  t.equal((await api.call('GET', '/consumers/bob/acls/admin')).body.id, admin.id)
  await api.call('POST', '/consumers', { json: { username: 'alice' } })
  t.equal((await api.call('GET', `/consumers/alice/acls/${admin.id as string}`)).status, 404)
  t.equal((await api.call('GET', '/consumers/alice/acls/admin')).status, 404)

  // retrieves right ACL by group when multiple consumers share the same group name created with POST / with PUT
  await api.call('POST', '/consumers', { json: { username: 'anna' } })
  await api.call('POST', '/consumers', { json: { username: 'jack' } })
  for (const method of ['POST', 'PUT'] as const) {
    const make = async (c: string): Promise<any> => method === 'POST'
      ? (await api.call('POST', `/consumers/${c}/acls`, { json: { group: 'foo' } })).body
      : (await api.call('PUT', `/consumers/${c}/acls/foo`, { json: {} })).body
    const ag = await make('anna')
    const jg = await make('jack')
    const ag2 = (await api.call('GET', '/consumers/anna/acls/foo')).body
    const jg2 = (await api.call('GET', '/consumers/jack/acls/foo')).body
    t.same(ag, ag2, method)
    t.same(jg, jg2, method)
    t.not(ag.id, jg.id, method)
    t.equal((await api.call('DELETE', '/consumers/anna/acls/foo')).status, 204)
    t.equal((await api.call('DELETE', '/consumers/jack/acls/foo')).status, 204)
  }

  // PUT: upserts an ACL's groupname; errors: returns bad request
  r = await api.call('PUT', '/consumers/bob/acls/pro', { json: {} })
  t.same([r.status, r.body.group, r.body.consumer.id], [200, 'pro', bob.id])
  r = await api.call('PUT', `/consumers/bob/acls/${admin.id as string}`, { json: { group: 123 } })
  t.same([r.status, r.body.fields], [400, { group: 'expected a string' }])

  // PATCH: updates an ACL group by id; by group; errors: handles invalid input
  r = await api.call('PATCH', `/consumers/bob/acls/${admin.id as string}`, { json: { group: 'updatedGroup' } })
  t.same([r.status, r.body.group], [200, 'updatedGroup'])
  r = await api.call('PATCH', '/consumers/bob/acls/updatedGroup', { json: { group: 'updatedGroup2' } })
  t.same([r.status, r.body.group, r.body.id], [200, 'updatedGroup2', admin.id])
  r = await api.call('PATCH', `/consumers/bob/acls/${admin.id as string}`, { json: { group: 123 } })
  t.same([r.status, r.body.fields], [400, { group: 'expected a string' }])

  // DELETE: by id; by group; errors: 404 on missing group, 404 if not found
  t.equal((await api.call('DELETE', `/consumers/bob/acls/${admin.id as string}`)).status, 204)
  t.equal((await api.call('DELETE', '/consumers/bob/acls/pro')).status, 204)
  t.equal((await api.call('DELETE', '/consumers/bob/acls/blah')).status, 404)
  t.equal((await api.call('DELETE', '/consumers/bob/acls/00000000-0000-0000-0000-000000000000')).status, 404)
})

t.test('/acls', async (t) => {
  const api = await startAdmin(t, { entities: [acls], plugins: registry })
  const bob = (await api.call('POST', '/consumers', { json: { username: 'bob' } })).body
  await api.call('POST', '/consumers', { json: { username: 'bob-the-buidler' } })
  for (let i = 0; i < 3; i++) {
    await api.call('POST', '/consumers/bob/acls', { json: { group: `group${i}` } })
    await api.call('POST', '/consumers/bob-the-buidler/acls', { json: { group: `group${i}` } })
  }
  // GET: with and without trailing slash; paginates
  t.equal((await api.call('GET', '/acls/')).body.data.length, 6)
  t.equal((await api.call('GET', '/acls')).body.data.length, 6)
  const p1 = (await api.call('GET', '/acls?size=3')).body
  const p2 = (await api.call('GET', `/acls?size=3&offset=${encodeURIComponent(p1.offset as string)}`)).body
  t.same([p1.data.length, p2.data.length], [3, 3])
  t.notSame(p1.data, p2.data)
  // POST: does not create acl when missing consumer; creates acl
  let r = await api.call('POST', '/acls', { json: { group: 'test-group' } })
  t.same([r.status, r.body.message], [400, 'schema violation (consumer: required field missing)'])
  r = await api.call('POST', '/acls', { json: { group: 'test-group', consumer: { id: bob.id } } })
  t.same([r.status, r.body.group], [201, 'test-group'])
  // /acls/:group_or_id PUT: does not create acl when missing consumer; creates acl
  r = await api.call('PUT', '/acls/c16bbff7-5d0d-4a28-8127-1ee581898f11', { json: { group: 'test-group' } })
  t.same([r.status, r.body.message], [400, 'schema violation (consumer: required field missing)'])
  r = await api.call('PUT', '/acls/c16bbff7-5d0d-4a28-8127-1ee581898f11', { json: { group: 'test-group-2', consumer: { id: bob.id } } })
  t.same([r.status, r.body.group], [200, 'test-group-2'])
  // /acls/:acl_id/consumer GET: retrieves a Consumer from an acl's id
  t.same((await api.call('GET', `/acls/${r.body.id as string}/consumer`)).body, bob)
})

t.test('the acl plugin entity', async (t) => {
  const api = await startAdmin(t, { entities: [acls], plugins: registry })
  let r = await api.call('POST', '/plugins', { json: { name: 'acl', config: { allow: ['a'] } } })
  t.same([r.status, r.body.config], [201, { allow: ['a'], deny: null, hide_groups_header: false }])
  r = await api.call('POST', '/plugins', { json: { name: 'acl', config: { allow: ['a'], deny: ['b'] } } })
  t.same([r.status, r.body.message], [400, "schema violation (exactly one of these fields must be non-empty: 'config.allow', 'config.deny')"])
  for (const config of [{}, { allow: [], deny: [] }]) {
    r = await api.call('POST', '/plugins', { json: { name: 'acl', config } })
    t.same([r.status, r.body.message], [400, "schema violation (at least one of these fields must be non-empty: 'config.allow', 'config.deny')"], JSON.stringify(config))
  }
  const c = (await api.call('POST', '/consumers', { json: { username: 'x' } })).body
  r = await api.call('POST', '/plugins', { json: { name: 'acl', consumer: { id: c.id }, config: { allow: ['a'] } } })
  t.same([r.status, r.body.fields], [400, { consumer: 'value must be null' }])
})
