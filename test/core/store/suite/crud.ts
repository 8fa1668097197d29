import { rejectsDb } from '../../../helpers/assert.js'
import { testCredentials, testPlugins } from '../../../helpers/entities.js'
import { storeCase } from './cases.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

storeCase('services: create with defaults, read, update, upsert, delete', async (t, make) => {
  const store = await make(t)
  const v0 = store.version()
  const s = await store.insert('services', { name: 'example_service', url: 'http://127.0.0.1:9000/anything' })
  t.match(s.id, UUID)
  t.match(s, { name: 'example_service', protocol: 'http', host: '127.0.0.1', port: 9000, path: '/anything', retries: 5,
    connect_timeout: 60000, write_timeout: 60000, read_timeout: 60000, enabled: true, tags: null, tls_verify: null })
  t.type(s.created_at, 'number')
  t.ok(Math.abs((s.created_at as number) - Date.now() / 1000) < 5, 'created_at is in seconds')
  t.ok(store.version() > v0, 'the config version moved')
  t.same(store.get('services', s.id), s)
  t.same(store.find('services', { name: 'example_service' }), s)
  t.same(store.find('services', store.keyFor('services', 'example_service')), s)

  const u = await store.update('services', { id: s.id }, { port: 9001 })
  t.equal(u.port, 9001)
  t.equal(u.host, '127.0.0.1', 'PATCH keeps other fields')

  const replaced = await store.upsert('services', { name: 'example_service' }, { host: 'localhost' })
  t.equal(replaced.id, s.id, 'upsert by name keeps the id')
  t.equal(replaced.port, 80, 'upsert resets omitted fields to defaults')
  const created = await store.upsert('services', { name: 'other' }, { host: 'localhost' })
  t.not(created.id, s.id)
  t.equal(created.name, 'other', 'the key from the URL is used')

  t.same(await store.delete('services', { id: s.id }), replaced)
  t.equal(store.get('services', s.id), undefined)
  t.equal(await store.delete('services', { id: s.id }), undefined, 'deleting twice finds nothing')
  t.equal(store.find('services', { name: 'example_service' }), undefined, 'the unique index entry went too')
})

storeCase('service url shorthand follows Kong', async (t, make) => {
  const store = await make(t)
  t.match(await store.insert('services', { url: 'https://service.test/' }), { protocol: 'https', host: 'service.test', port: 443, path: '/' })
  t.match(await store.insert('services', { url: 'http://example.test:443' }), { protocol: 'http', port: 443, path: null })
  t.match(await store.insert('services', { url: 'https://example2.test:80/' }), { protocol: 'https', port: 80, path: '/' })
  await rejectsDb(t, store.insert('services', { url: 'invalid url' }), 2, '2 schema violations (host: required field missing; path: should start with: /)')
})

storeCase('schema violations carry Kong messages and fields', async (t, make) => {
  const store = await make(t)
  let e = await rejectsDb(t, store.insert('services', {}), 2, 'schema violation (host: required field missing)')
  t.same(e.toJSON(), { code: 2, name: 'schema violation', message: 'schema violation (host: required field missing)', fields: { host: 'required field missing' } })
  await rejectsDb(t, store.insert('services', { host: 'x', connect_timeout: 'a', port: 99999 }), 2,
    '2 schema violations (connect_timeout: expected an integer; port: value should be between 0 and 65535)')
  await rejectsDb(t, store.insert('services', { host: 'x', foo: 1 }), 2, 'schema violation (foo: unknown field)')
  await rejectsDb(t, store.insert('services', { host: 'a.test:80' }), 2, 'schema violation (host: must not have a port)')
  await rejectsDb(t, store.insert('services', { host: 'x', path: '/a//b' }), 2, 'schema violation (path: must not have empty segments)')
  await rejectsDb(t, store.insert('services', { host: 'x', name: 'a b' }), 2,
    "schema violation (name: invalid value 'a b': the only accepted ascii characters are alphanumerics or ., -, _, and ~)")
  await rejectsDb(t, store.insert('services', { host: 'x', protocol: 'tcp', path: '/a' }), 2, "2 schema violations (failed conditional validation given value of field 'protocol'; path: value must be null)")
  await rejectsDb(t, store.insert('services', { host: 'x', id: 'nope' }), 2, 'schema violation (id: expected a valid UUID)')
  e = await rejectsDb(t, store.insert('routes', { protocols: ['http', 'foo'], paths: ['/ok'] }), 2,
    'schema violation (protocols.2: expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp)')
  t.same(e.fields, { protocols: [null, 'expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp'] })
  await rejectsDb(t, store.insert('routes', {}), 2,
    "schema violation (must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https')")
  await rejectsDb(t, store.insert('routes', { methods: ['get'] }), 2, 'schema violation (methods.1: invalid value: get)')
  await rejectsDb(t, store.insert('routes', { paths: ['/a/../b'] }), 2, "schema violation (paths.1: non-normalized path, consider use '/b' instead)")
  await rejectsDb(t, store.insert('routes', { hosts: ['*.a.*'] }), 2, 'schema violation (hosts.1: invalid wildcard: must have at most one wildcard)')
  await rejectsDb(t, store.insert('routes', { headers: { Host: ['x'] } }), 2,
    "schema violation (headers: cannot contain 'host' header, which must be specified in the 'hosts' attribute)")
  await rejectsDb(t, store.insert('routes', { protocols: ['http', 'tcp'], paths: ['/'] }), 2, /mutually exclusive/)
  await rejectsDb(t, store.insert('consumers', {}), 2,
    "schema violation (at least one of these fields must be non-empty: 'custom_id', 'username')")
  await rejectsDb(t, store.insert('consumers', { username: 'x', tags: ['a,b'] }), 2, /invalid tag 'a,b'/)
  t.equal(store.list('services').data.length, 0, 'nothing was written')
  t.equal(store.version(), 0, 'rejected writes do not move the version')
})

storeCase('routes and consumers round-trip with every field', async (t, make) => {
  const store = await make(t)
  const svc = await store.insert('services', { name: 's1', host: 'upstream.test' })
  const r = await store.insert('routes', {
    name: 'r1', paths: ['/mock', '~/v\\d+/items'], hosts: ['*.example.com'], methods: ['GET', 'GET', 'POST'],
    headers: { 'x-version': ['1'] }, service: { id: svc.id }, tags: ['a', 'b', 'a'],
  })
  t.match(r, { protocols: ['http', 'https'], strip_path: true, preserve_host: false, regex_priority: 0, path_handling: 'v0',
    https_redirect_status_code: 426, methods: ['GET', 'POST'], tags: ['a', 'b'], service: { id: svc.id }, snis: null })
  const byName = await store.insert('routes', { paths: ['/x'], service: { name: 's1' } })
  t.same(byName.service, { id: svc.id }, 'a reference by unique field resolves to the id')
  const c = await store.insert('consumers', { username: 'luka', custom_id: 'c-1' })
  t.same(store.find('consumers', { username: 'luka' }), c)
  t.same(store.find('consumers', { custom_id: 'c-1' }), c)
  const patched = await store.update('consumers', { username: 'luka' }, { custom_id: null })
  t.equal(patched.custom_id, null, 'null clears a field')
  t.equal(store.find('consumers', { custom_id: 'c-1' }), undefined)
})

storeCase('plugins: config checked against the plugin schema, defaults filled, deep PATCH', async (t, make) => {
  const store = await make(t, { plugins: testPlugins })
  const p = await store.insert('plugins', { name: 'test-auth', config: { key_names: ['key'] } })
  t.match(p, { name: 'test-auth', enabled: true, protocols: ['grpc', 'grpcs', 'http', 'https'], route: null, service: null, consumer: null,
    config: { key_names: ['key'], hide_credentials: false, limits: { second: 10, minute: 100 } } })
  const d = await store.insert('plugins', { name: 'test-auth', consumer: { id: (await store.insert('consumers', { username: 'x' })).id } })
  t.same(d.config, { key_names: ['apikey'], hide_credentials: false, limits: { second: 10, minute: 100 } }, 'config defaults when absent')
  const u = await store.update('plugins', { id: p.id }, { config: { limits: { second: 5 } } })
  t.same(u.config, { key_names: ['key'], hide_credentials: false, limits: { second: 5, minute: 100 } }, 'records merge deeply')
  await rejectsDb(t, store.insert('plugins', { name: 'nope' }), 2,
    "schema violation (name: plugin 'nope' not enabled; add it to the 'plugins' configuration property)")
  await rejectsDb(t, store.insert('plugins', { name: 'test-auth', config: { foo: 1 } }), 2, 'schema violation (config.foo: unknown field)')
  await rejectsDb(t, store.insert('plugins', { name: 'test-auth', config: 'bar' }), 2, 'schema violation (config: expected a record)')
  await rejectsDb(t, store.update('plugins', { id: p.id }, { config: { hide_credentials: 'yes' } }), 2,
    'schema violation (config.hide_credentials: expected a boolean)')
  t.same(store.get('plugins', p.id), u, 'a failed PATCH leaves the entity untouched')
})

storeCase('plugin-owned entities: registered, unique endpoint key, required reference', async (t, make) => {
  const store = await make(t, { entities: [testCredentials] })
  const c = await store.insert('consumers', { username: 'bob' })
  const k = await store.insert('test_credentials', { key: 'secret', consumer: { username: 'bob' } })
  t.same(k.consumer, { id: c.id })
  t.notOk('updated_at' in k, 'no updated_at when the schema has none')
  t.same(store.find('test_credentials', store.keyFor('test_credentials', 'secret')), k)
  await rejectsDb(t, store.insert('test_credentials', { key: 'x' }), 2, 'schema violation (consumer: required field missing)')
  await rejectsDb(t, store.insert('test_credentials', { key: 123, consumer: { id: c.id } }), 2, 'schema violation (key: expected a string)')
  t.same(store.listFor('test_credentials', 'consumer', c.id).data, [k])
})
