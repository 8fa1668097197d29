import { rejectsDb } from '../../../helpers/assert.js'
import { testCredentials, testPlugins } from '../../../helpers/entities.js'
import { storeCase } from './cases.js'

storeCase('unique violations are 409-class errors and write nothing', async (t, make) => {
  const store = await make(t)
  await store.insert('consumers', { username: 'bob', custom_id: 'c1' })
  const v = store.version()
  let e = await rejectsDb(t, store.insert('consumers', { username: 'bob' }), 5, `UNIQUE violation detected on '{username="bob"}'`)
  t.equal(e.status, 409)
  t.same(e.fields, { username: 'bob' })
  // The second unique field clashes after the first passed: nothing of the row may remain.
  e = await rejectsDb(t, store.insert('consumers', { username: 'alice', custom_id: 'c1' }), 5, `UNIQUE violation detected on '{custom_id="c1"}'`)
  t.equal(store.find('consumers', { username: 'alice' }), undefined, 'no index entry left behind')
  t.equal(store.list('consumers').data.length, 1)
  t.equal(store.version(), v, 'the version did not move')
  const other = await store.insert('consumers', { username: 'carol' })
  await rejectsDb(t, store.update('consumers', { id: other.id }, { username: 'bob' }), 5)
  t.equal(store.get('consumers', other.id)?.username, 'carol', 'a failed update keeps the row')
  t.ok(store.find('consumers', { username: 'carol' }), 'and its index entry')
})

storeCase('primary key and long unique values', async (t, make) => {
  const store = await make(t)
  const id = '6f7b3a2e-0c1d-4e5f-8a9b-0c1d2e3f4a5b'
  await store.insert('consumers', { id, username: 'a' })
  const e = await rejectsDb(t, store.insert('consumers', { id: id.toUpperCase(), username: 'b' }), 3)
  t.equal(e.message, `primary key violation on key '{id="${id}"}'`)
  const long = 'u'.repeat(5000)
  await store.insert('consumers', { username: long })
  t.ok(store.find('consumers', { username: long }), 'values too long for an index key are still indexed (LMDB: by digest)')
  await rejectsDb(t, store.insert('consumers', { username: long }), 5)
})

storeCase('composite uniqueness of plugins', async (t, make) => {
  const store = await make(t, { plugins: testPlugins })
  const svc = await store.insert('services', { host: 'x.test' })
  const route = await store.insert('routes', { paths: ['/'], service: { id: svc.id } })
  await store.insert('plugins', { name: 'test-auth', route: { id: route.id } })
  await store.insert('plugins', { name: 'test-auth', service: { id: svc.id } })
  await store.insert('plugins', { name: 'test-auth' })
  const e = await rejectsDb(t, store.insert('plugins', { name: 'test-auth', route: { id: route.id } }), 5,
    `UNIQUE violation detected on '{consumer=null,name="test-auth",route={id="${route.id}"},service=null}'`)
  t.same(e.fields, { name: 'test-auth', route: { id: route.id }, service: null, consumer: null })
  await rejectsDb(t, store.insert('plugins', { name: 'test-auth' }), 5)
})

storeCase('foreign keys: must exist, resolvable by unique field, errors in Kong form', async (t, make) => {
  const store = await make(t)
  const missing = '00000000-0000-4000-8000-000000000000'
  let e = await rejectsDb(t, store.insert('routes', { paths: ['/'], service: { id: missing } }), 4,
    `the foreign key '{id="${missing}"}' does not reference an existing 'services' entity.`)
  t.same(e.fields, { service: { id: missing } })
  e = await rejectsDb(t, store.insert('routes', { paths: ['/'], service: { name: 'non-existing' } }), 13,
    `foreign key unresolved (service.name: the foreign key cannot be resolved with '{name="non-existing"}' for an existing 'services' entity)`)
  await rejectsDb(t, store.insert('routes', { paths: ['/'], service: { protocol: 'http' } }), 2, 'schema violation (service.id: missing primary key)')
  t.equal(store.list('routes').data.length, 0)
})

storeCase('deletes: routes block a service delete; plugins and credentials cascade', async (t, make) => {
  const store = await make(t, { plugins: testPlugins, entities: [testCredentials] })
  const svc = await store.insert('services', { name: 's', host: 'x.test' })
  const route = await store.insert('routes', { paths: ['/'], service: { id: svc.id } })
  const onService = await store.insert('plugins', { name: 'test-auth', service: { id: svc.id } })
  const onRoute = await store.insert('plugins', { name: 'test-auth', route: { id: route.id } })
  const e = await rejectsDb(t, store.delete('services', { id: svc.id }), 4, "an existing 'routes' entity references this 'services' entity")
  t.same(e.fields, { '@referenced_by': 'routes' })
  t.ok(store.get('plugins', onService.id), 'a refused delete removes nothing')
  await store.delete('routes', { id: route.id })
  t.equal(store.get('plugins', onRoute.id), undefined, 'route plugins cascade')
  t.ok(store.get('plugins', onService.id))
  await store.delete('services', { name: 's' })
  t.equal(store.get('plugins', onService.id), undefined, 'service plugins cascade')

  const c = await store.insert('consumers', { username: 'bob' })
  const cred = await store.insert('test_credentials', { key: 'k1', consumer: { id: c.id } })
  const cp = await store.insert('plugins', { name: 'test-auth', consumer: { id: c.id } })
  await store.delete('consumers', { username: 'bob' })
  t.equal(store.get('test_credentials', cred.id), undefined, 'credentials cascade')
  t.equal(store.find('test_credentials', { key: 'k1' }), undefined, 'with their unique index')
  t.equal(store.get('plugins', cp.id), undefined, 'consumer plugins cascade')
  t.same(store.listFor('test_credentials', 'consumer', c.id).data, [], 'and their foreign index')
  await store.insert('test_credentials', { key: 'k1', consumer: { id: (await store.insert('consumers', { username: 'bob' })).id } })
  t.pass('the key is free again')
})

storeCase('change events carry the committed version', async (t, make) => {
  const store = await make(t)
  const events: unknown[] = []
  store.onChange((e) => events.push(e))
  const c = await store.insert('consumers', { username: 'x' })
  await store.delete('consumers', { id: c.id })
  await store.insert('consumers', {}).catch(() => {})
  t.same(events, [
    { entity: 'consumers', op: 'create', id: c.id, version: 1 },
    { entity: 'consumers', op: 'delete', id: c.id, version: 2 },
  ])
})

storeCase("plugin protocols must overlap their route's, or some route of their service", async (t, make) => {
  const store = await make(t, { plugins: testPlugins })
  const svc = await store.insert('services', { host: 'x.test' })
  const route = await store.insert('routes', { paths: ['/'], protocols: ['https'], service: { id: svc.id } })
  await rejectsDb(t, store.insert('plugins', { name: 'test-auth', route: { id: route.id }, protocols: ['http'] }), 2,
    "schema violation (protocols: must match the associated route's protocols)")
  await rejectsDb(t, store.insert('plugins', { name: 'test-auth', service: { id: svc.id }, protocols: ['grpc'] }), 2,
    "schema violation (protocols: must match the protocols of at least one route pointing to this Plugin's service)")
  t.ok(await store.insert('plugins', { name: 'test-auth', route: { id: route.id } }), 'the default protocols overlap')
  const lonely = await store.insert('services', { host: 'y.test' })
  t.ok(await store.insert('plugins', { name: 'test-auth', service: { id: lonely.id }, protocols: ['grpc'] }), 'a service without routes takes any protocols')
  store.validate('plugins', { name: 'test-auth', route: { id: route.id }, protocols: ['http'] })
  t.pass('dry-run validation does not read related rows')
})
