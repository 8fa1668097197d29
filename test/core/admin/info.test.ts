import t from 'tap'
import { startAdmin } from '../../helpers/admin.js'

t.test('root, status and endpoint listing', async (t) => {
  const api = await startAdmin(t)
  let r = await api.call('GET', '/')
  t.match(r.body, { tagline: 'Welcome to tollgate', version: '0.1.0', edition: 'community', node_id: /^[0-9a-f-]{36}$/,
    plugins: { enabled_in_cluster: [] }, configuration: { admin_listen: ['127.0.0.1:0'], log_level: 'notice' }, pids: { master: process.pid } })
  r = await api.call('GET', '/status')
  t.match(r.body, { database: { reachable: true }, server: { total_requests: 0 }, configuration_version: 0 })
  r = await api.call('GET', '/endpoints')
  for (const p of ['/services/{key}', '/services/{parent}/routes', '/routes/{key}/service', '/consumers/{parent}/test-cred/{key}', '/test-creds/{key}/consumer', '/schemas/plugins/{name}', '/plugins/enabled']) {
    t.ok(r.body.data.includes(p), `${p} listed`)
  }
  t.same(r.body.data, [...r.body.data].sort())
})

t.test('GET / hides the database password and the configuration string, as Kong does', async (t) => {
  const api = await startAdmin(t, { config: { database: 'postgres', pg_password: 'hunter2', pg_user: 'gw' } })
  const r = await api.call('GET', '/')
  t.match(r.body.configuration, { database: 'postgres', pg_user: 'gw', pg_password: '******' })
  t.notMatch(JSON.stringify(r.body), /hunter2/)
  const off = await startAdmin(t, { config: { database: 'off', declarative_config_string: '{"_format_version":"3.0","consumers":[{"username":"u","keyauth_credentials":[{"key":"secret-key"}]}]}' } })
  const body = (await off.call('GET', '/')).body
  t.equal(body.configuration.declarative_config_string, '******')
  t.notMatch(JSON.stringify(body), /secret-key/)
  // Unset, they read as unset: nothing to hide.
  const plain = await startAdmin(t)
  t.match((await plain.call('GET', '/')).body.configuration, { pg_password: '', declarative_config_string: '' })
})

t.test('schemas in Kong format and dry-run validation', async (t) => {
  const api = await startAdmin(t)
  let r = await api.call('GET', '/schemas/services')
  const fields = Object.fromEntries((r.body.fields as Record<string, unknown>[]).map((f) => Object.entries(f)[0] as [string, unknown]))
  t.match(fields.port, { type: 'integer', required: true, default: 80, between: [0, 65535] })
  t.match(fields.protocol, { type: 'string', one_of: ['grpc', 'grpcs', 'http', 'https', 'tcp', 'tls', 'tls_passthrough', 'udp'], default: 'http' })
  t.match(fields.tags, { type: 'set', elements: { type: 'string' } })
  t.notOk('required' in (fields.path as object), 'nullable fields are not required')
  r = await api.call('GET', '/schemas/routes')
  t.match(r.body.fields.find((f: Record<string, unknown>) => 'service' in f), { service: { type: 'foreign', reference: 'services' } })
  t.match((await api.call('GET', '/schemas/key-auths')).body, { message: "No entity named 'key-auths'" })
  t.same((await api.call('GET', '/schemas/test-creds')).body.fields.map((f: object) => Object.keys(f)[0]), ['id', 'created_at', 'consumer', 'key', 'tags'],
    'plugin entities by admin name')
  t.same((await api.call('GET', '/schemas/consumers')).body.entity_checks, [{ at_least_one_of: ['custom_id', 'username'] }])
  r = await api.call('GET', '/schemas/plugins/test-auth')
  t.same(r.body.fields.map((f: object) => Object.keys(f)[0]), ['consumer', 'protocols', 'config'])
  t.match(r.body.fields[2].config.fields[0], { key_names: { type: 'array', default: ['apikey'], elements: { type: 'string' }, description: 'Where to look for the key' } })
  r = await api.call('GET', '/schemas/plugins/nope')
  t.same([r.status, r.body], [404, { message: "No plugin named 'nope'" }])

  r = await api.call('POST', '/schemas/plugins/validate', { form: { name: 'test-auth', 'config.key_names': 'k' } })
  t.same([r.status, r.body], [200, { message: 'schema validation successful' }])
  r = await api.call('POST', '/schemas/plugins/validate', { json: { name: 'test-auth', config: { key_names: 'k' } } })
  t.same([r.status, r.body.message], [400, 'schema violation (config.key_names: expected an array)'])
  r = await api.call('POST', '/schemas/routes/validate', { json: { paths: ['/x'] } })
  t.equal(r.status, 200)
  r = await api.call('POST', '/schemas/consumers/validate', { json: {} })
  t.equal(r.status, 400)
  t.equal((await api.call('GET', '/consumers')).body.data.length, 0, 'validation stores nothing')
})

t.test('the OpenAPI document covers every served route', async (t) => {
  const api = await startAdmin(t)
  const doc = (await api.call('GET', '/openapi.json')).body
  t.equal(doc.openapi, '3.1.0')
  const endpoints = (await api.call('GET', '/endpoints')).body.data as string[]
  t.same(Object.keys(doc.paths).sort(), endpoints, 'one path item per endpoint')
  t.same(Object.keys(doc.paths['/services/{key}']).sort(), ['delete', 'get', 'patch', 'put'])
  t.same(doc.paths['/services'].post.requestBody.content['application/json'].schema, { $ref: '#/components/schemas/services' })
  t.same(doc.paths['/consumers/{parent}/test-cred'].get.responses['200'].content['application/json'].schema, { $ref: '#/components/schemas/test_credentials_page' })
  const services = doc.components.schemas.services
  t.match(services.properties.port, { type: 'integer', minimum: 0, maximum: 65535, default: 80 })
  t.notOk(JSON.stringify(doc).includes('"check"'), 'internal keywords are not leaked')
  t.ok(doc.components.schemas['plugin_config_test-auth'], 'plugin config schemas are included')
  // Every $ref resolves.
  const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1] as string)
  for (const name of new Set(refs)) t.ok(doc.components.schemas[name], `${name} is defined`)
})
