import t from 'tap'
import { startAdmin } from '../../helpers/admin.js'

t.test('Kong error bodies for every kind of failure', async (t) => {
  const api = await startAdmin(t)
  const svc = (await api.call('POST', '/services', { json: { name: 's', host: 's.test' } })).body
  await api.call('POST', '/routes', { json: { name: 'r', paths: ['/'], service: { id: svc.id } } })

  let r = await api.call('GET', '/nowhere')
  t.equal(r.status, 404)
  t.same(r.body, { message: 'Not found' })
  r = await api.call('HEAD', '/nowhere')
  t.equal(r.status, 404)
  t.equal(r.text, '')
  r = await api.call('GET', '/services/missing')
  t.same([r.status, r.body], [404, { message: 'Not found' }])
  r = await api.call('POST', '/services/s')
  t.same([r.status, r.body], [405, { message: 'Method not allowed' }])
  r = await api.call('DELETE', '/')
  t.same([r.status, r.body], [405, { message: 'Method not allowed' }])

  r = await api.call('PATCH', '/services/missing', { json: { port: 1 } })
  t.equal(r.status, 404)
  t.same(r.body, { code: 6, name: 'not found', message: `could not find the entity with '{name="missing"}'`, fields: { name: 'missing' } })
  r = await api.call('PATCH', '/services/00000000-0000-4000-8000-000000000000', { json: { port: 1 } })
  t.equal(r.body.message, `could not find the entity with primary key '{id="00000000-0000-4000-8000-000000000000"}'`)

  // A key that the field would refuse is refused before it is looked up: Kong's `invalid
  // unique <field>` (kong/db/dao/init.lua validate_unique_row_method), on every method.
  const badName = { code: 10, name: 'invalid unique name', message: "invalid value 'a b': the only accepted ascii characters are alphanumerics or ., -, _, and ~" }
  for (const m of ['GET', 'PUT', 'PATCH', 'DELETE']) {
    r = await api.call(m, '/services/a%20b', m === 'PUT' || m === 'PATCH' ? { json: { host: 'x.test' } } : {})
    t.same([r.status, r.body], [400, badName], `${m} /services/a%20b`)
  }
  r = await api.call('GET', '/services/a%20b/routes')
  t.same([r.status, r.body], [400, badName], 'as a parent too')
  r = await api.call('GET', '/routes/a%20b/service')
  t.same([r.status, r.body], [400, badName], 'and as the child of a reference')
  r = await api.call('GET', '/plugins/a%20b')
  t.same(r.body.name, 'invalid unique instance_name')
  t.equal((await api.call('GET', '/consumers/a%20b')).status, 404, 'any username is valid, so it is looked up')

  r = await api.call('POST', '/services', { json: { host: 's.test', port: 'x', protocol: 'ftp' } })
  t.equal(r.status, 400)
  t.same(r.body, {
    code: 2,
    name: 'schema violation',
    message: '2 schema violations (port: expected an integer; protocol: expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp)',
    fields: { port: 'expected an integer', protocol: 'expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp' },
  })
  r = await api.call('POST', '/services', { json: { name: 's', host: 's.test' } })
  t.equal(r.status, 409)
  t.same(r.body, { code: 5, name: 'unique constraint violation', message: `UNIQUE violation detected on '{name="s"}'`, fields: { name: 's' } })
  r = await api.call('POST', '/services', { json: { id: svc.id, host: 'x.test' } })
  t.equal(r.status, 400)
  t.same(r.body, { code: 3, name: 'primary key violation', message: `primary key violation on key '{id="${svc.id as string}"}'`, fields: { id: svc.id } })
  const ghost = '11111111-1111-4111-8111-111111111111'
  r = await api.call('POST', '/routes', { json: { paths: ['/x'], service: { id: ghost } } })
  t.equal(r.status, 400)
  t.same(r.body, { code: 4, name: 'foreign key violation', message: `the foreign key '{id="${ghost}"}' does not reference an existing 'services' entity.`, fields: { service: { id: ghost } } })
  r = await api.call('POST', '/routes', { form: { paths: '/x', 'service.name': 'ghost' } })
  t.equal(r.status, 400)
  t.equal(r.body.code, 13)
  r = await api.call('DELETE', '/services/s')
  t.equal(r.status, 400)
  t.same(r.body, { code: 4, name: 'foreign key violation', message: "an existing 'routes' entity references this 'services' entity", fields: { '@referenced_by': 'routes' } })
  r = await api.call('POST', '/plugins', { json: { name: 'not-loaded' } })
  t.same(r.body.fields, { name: "plugin 'not-loaded' not enabled; add it to the 'plugins' configuration property" })
  r = await api.call('POST', '/plugins', { json: { name: 'test-auth', config: 'bar' } })
  t.equal(r.body.message, 'schema violation (config: expected a record)')
  r = await api.call('POST', '/consumers', { json: { username: 'x', foo: 1 } })
  t.equal(r.body.message, 'schema violation (foo: unknown field)')

  r = await api.call('GET', '/services?size=abc')
  t.same([r.status, r.body], [400, { code: 9, name: 'invalid size', message: 'size must be a number' }])
  r = await api.call('GET', '/services?size=2000')
  t.same(r.body, { code: 9, name: 'invalid size', message: 'size must be an integer between 1 and 1000' })
  r = await api.call('GET', '/services?offset=x!')
  t.same([r.status, r.body], [400, { code: 7, name: 'invalid offset', message: "'x!' is not a valid offset: bad base64 encoding" }])
  r = await api.call('GET', '/services?tags=a,b/c')
  t.same(r.body, { code: 11, name: 'invalid options', message: 'invalid option (tags: invalid filter syntax)', options: { tags: 'invalid filter syntax' } })
  r = await api.call('GET', '/services?tags=')
  t.equal(r.body.message, 'invalid option (tags: cannot be null)')
  r = await api.call('GET', '/services?tags=a,b,c,d,e,f')
  t.equal(r.body.message, 'invalid option (tags: cannot query more than 5 tags)')
  r = await api.call('GET', '/routes?foo=bar')
  t.equal(r.status, 200, 'unknown query arguments are ignored')

  r = await api.call('GET', '/')
  t.match(r.headers.server, /^tollgate\//)
  t.ok(r.headers['x-kong-admin-latency'] !== undefined)
  t.equal(r.headers['access-control-allow-origin'], '*')
  r = await api.call('GET', '/', { headers: { origin: 'http://ui.test' } })
  t.equal(r.headers['access-control-allow-origin'], 'http://ui.test')
  r = await api.call('OPTIONS', '/routes/r')
  t.equal(r.status, 204)
  t.equal(r.headers.allow, 'DELETE, GET, HEAD, OPTIONS, PATCH, PUT')
  t.equal((await api.call('OPTIONS', '/')).headers.allow, 'GET, HEAD, OPTIONS')
  t.equal((await api.call('OPTIONS', '/nowhere')).status, 404)
})
