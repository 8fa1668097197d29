// Kong's spec/03-plugins/16-jwt/02-api_spec.lua and 06-schema_spec.lua, against Tollgate's
// Admin API. Test titles name the spec's it(...) cases they port.
import t from 'tap'
import { request } from 'undici'
import { startTestGateway } from '../../helpers/gateway.js'
import { startAdmin } from '../../helpers/admin.js'
import { jwtSecrets } from '../../../plugins/jwt/entities.js'
import { PluginRegistry } from '../../../core/runtime/registry.js'
import { jwt } from '../../../plugins/jwt/index.js'
import { es256, es384, rs256 } from './fixtures.js'

const registry = new PluginRegistry()
registry.register(jwt)
const opts = { entities: [jwtSecrets], plugins: registry }

// 02-api_spec.lua, /consumers/:consumer/jwt/ POST and GET
t.test('/consumers/:consumer/jwt/ POST and GET', async (t) => {
  const api = await startAdmin(t, opts)
  const bob = (await api.call('POST', '/consumers', { json: { username: 'bob' } })).body
  await api.call('POST', '/consumers', { json: { username: 'alice' } })

  // it("creates a jwt secret")
  let r = await api.call('POST', '/consumers/bob/jwt/', { json: {} })
  t.equal(r.status, 201)
  t.equal(r.body.consumer.id, bob.id)
  t.match(r.body, { algorithm: 'HS256', rsa_public_key: null, key: /^[A-Za-z0-9]{32}$/, secret: /^[A-Za-z0-9]{32}$/ })
  // it("creates a jwt secret with tags")
  r = await api.call('POST', '/consumers/bob/jwt/', { json: { tags: ['tag1', 'tag2'] } })
  t.same([r.status, r.body.consumer.id, r.body.tags], [201, bob.id, ['tag1', 'tag2']])
  // it("accepts any given `secret` and `key` parameters")
  r = await api.call('POST', '/consumers/bob/jwt/', { json: { key: 'bob2', secret: 'tooshort' } })
  t.same([r.status, r.body.key, r.body.secret], [201, 'bob2', 'tooshort'])
  // it("accepts duplicate `secret` parameters across jwt_secrets")
  const jwt1 = await api.call('POST', '/consumers/alice/jwt/', { json: { key: 'alice', secret: 'foobarbaz' } })
  const jwt2 = await api.call('POST', '/consumers/bob/jwt/', { json: { key: 'bobsyouruncle', secret: 'foobarbaz' } })
  t.same([jwt1.status, jwt2.status, jwt1.body.secret, jwt2.body.secret], [201, 201, 'foobarbaz', 'foobarbaz'])
  // it("accepts a valid public key for RS256 when posted urlencoded")
  r = await api.call('POST', '/consumers/bob/jwt/', { form: { key: 'bob3', algorithm: 'RS256', rsa_public_key: rs256.publicPem } })
  t.same([r.status, r.body.key, r.body.rsa_public_key], [201, 'bob3', rs256.publicPem])
  // it("accepts a valid public key for RS256 when posted as json")
  r = await api.call('POST', '/consumers/bob/jwt/', { json: { key: 'bob4', algorithm: 'RS256', rsa_public_key: rs256.publicPem } })
  t.same([r.status, r.body.key], [201, 'bob4'])
  // it("fails with missing `rsa_public_key` parameter for RS256 algorithms")
  r = await api.call('POST', '/consumers/bob/jwt/', { json: { key: 'bob5', algorithm: 'RS256' } })
  t.equal(r.status, 400)
  t.same(r.body.fields, { rsa_public_key: 'required field missing', '@entity': ["failed conditional validation given value of field 'algorithm'"] })
  // it("fails with an invalid rsa_public_key for RS256 algorithms")
  r = await api.call('POST', '/consumers/bob/jwt/', { json: { key: 'bob5', algorithm: 'RS256', rsa_public_key: 'test' } })
  t.equal(r.status, 400)
  t.same(r.body.fields, { rsa_public_key: 'invalid key', '@entity': ["failed conditional validation given value of field 'algorithm'"] })
  // Tollgate: the Kong 3.2 docs give rsa_public_key for ES256 too; it is required and checked.
  r = await api.call('POST', '/consumers/bob/jwt/', { json: { key: 'es', algorithm: 'ES256' } })
  t.same([r.status, r.body.fields?.rsa_public_key], [400, 'required field missing'], 'ES256 needs a key')
  r = await api.call('POST', '/consumers/bob/jwt/', { json: { key: 'es', algorithm: 'ES384', rsa_public_key: es384.publicPem } })
  t.equal(r.status, 201, 'ES384 with an EC key')
  r = await api.call('POST', '/consumers/bob/jwt/', { json: { key: 'es2', algorithm: 'ES256', rsa_public_key: es256.publicPem } })
  t.equal(r.status, 201, 'ES256 with an EC key')
  r = await api.call('POST', '/consumers/bob/jwt/', { json: { key: 'x', algorithm: 'PS256' } })
  t.same([r.status, r.body.fields], [400, { algorithm: 'expected one of: HS256, HS384, HS512, RS256, RS384, RS512, ES256, ES384' }])
  await api.call('DELETE', '/consumers/bob/jwt/es')
  await api.call('DELETE', '/consumers/bob/jwt/es2')
  // it("does not fail when `secret` parameter for HS256 algorithms is missing")
  r = await api.call('POST', '/consumers/bob/jwt/', { json: { key: 'bob5', algorithm: 'HS256' } })
  t.equal(r.status, 201)
  t.match(r.body.secret, /^[A-Za-z0-9]{32}$/)
  r = await api.call('POST', '/consumers/bob/jwt/', { json: { key: 'bob5' } })
  t.same([r.status, r.body.message], [409, `UNIQUE violation detected on '{key="bob5"}'`], 'keys are unique')
  // it("retrieves all")
  r = await api.call('GET', '/consumers/bob/jwt/')
  t.same([r.status, r.body.data.length], [200, 7])
  r = await api.call('GET', '/schemas/jwt_secrets')
  t.match(r.body.entity_checks, [{ conditional: { if_field: 'algorithm', then_field: 'rsa_public_key', then_match: { required: true } } }], 'the conditional is described')
})

// 02-api_spec.lua, /consumers/:consumer/jwt/:id
t.test('/consumers/:consumer/jwt/:id', async (t) => {
  const api = await startAdmin(t, opts)
  const bob = (await api.call('POST', '/consumers', { json: { username: 'bob' } })).body
  const secret = (await api.call('POST', '/consumers/bob/jwt', { json: {} })).body
  // it("retrieves by id"), it("retrieves by key")
  t.equal((await api.call('GET', `/consumers/bob/jwt/${secret.id as string}`)).status, 200)
  t.equal((await api.call('GET', `/consumers/bob/jwt/${secret.key as string}`)).body.id, secret.id)
  // it("creates and update")
  let r = await api.call('PUT', '/consumers/bob/jwt/abcd', { json: {} })
  t.same([r.status, r.body.key, r.body.consumer.id], [200, 'abcd', bob.id])
  // it("updates a credential by id")
  r = await api.call('PATCH', `/consumers/bob/jwt/${secret.id as string}`, { json: { key: 'alice', secret: 'newsecret' } })
  t.same([r.status, r.body.secret, r.body.key], [200, 'newsecret', 'alice'])
  // it("updates a credential by key")
  r = await api.call('PATCH', '/consumers/bob/jwt/alice', { json: { key: 'alice', secret: 'newsecret2' } })
  t.same([r.status, r.body.secret], [200, 'newsecret2'])
  r = await api.call('PATCH', '/consumers/bob/jwt/alice', { json: { algorithm: 'RS256' } })
  t.same([r.status, r.body.fields?.rsa_public_key], [400, 'required field missing'], 'a PATCH is checked as the whole credential')
  // it("deletes a credential")
  t.equal((await api.call('DELETE', `/consumers/bob/jwt/${secret.id as string}`)).status, 204)
  // it("returns proper errors")
  t.equal((await api.call('DELETE', '/consumers/bob/jwt/blah')).status, 404)
  t.equal((await api.call('DELETE', '/consumers/bob/jwt/00000000-0000-0000-0000-000000000000')).status, 404)
})

// 02-api_spec.lua, /jwts and /jwts/:jwt_key_or_id/consumer
t.test('/jwts', async (t) => {
  const api = await startAdmin(t, opts)
  const bob = (await api.call('POST', '/consumers', { json: { username: 'bob' } })).body
  await api.call('POST', '/consumers', { json: { username: 'bob-the-buidler' } })
  await api.call('POST', '/consumers/bob/jwt', { json: {} })
  await api.call('POST', '/consumers/bob-the-buidler/jwt', { json: {} })
  // it("retrieves all the jwts with trailing slash"), it("... without trailing slash")
  t.equal((await api.call('GET', '/jwts/')).body.data.length, 2)
  t.equal((await api.call('GET', '/jwts')).body.data.length, 2)
  // it("paginates through the jwts")
  const p1 = (await api.call('GET', '/jwts?size=1')).body
  t.equal(p1.data.length, 1)
  const p2 = (await api.call('GET', `/jwts?size=1&offset=${encodeURIComponent(p1.offset as string)}`)).body
  t.equal(p2.data.length, 1)
  t.not(p1.data[0].id, p2.data[0].id)
  t.notOk('offset' in p2)
  // POST and PUT: it("does not create jwt credential when missing consumer"), it("creates jwt credential")
  let r = await api.call('POST', '/jwts', { json: { key: 'key' } })
  t.same([r.status, r.body.message], [400, 'schema violation (consumer: required field missing)'])
  r = await api.call('POST', '/jwts', { json: { key: 'key', consumer: { id: bob.id } } })
  t.same([r.status, r.body.key], [201, 'key'])
  r = await api.call('PUT', '/jwts/key2', { json: {} })
  t.same([r.status, r.body.message], [400, 'schema violation (consumer: required field missing)'])
  r = await api.call('PUT', '/jwts/key2', { json: { consumer: { id: bob.id } } })
  t.same([r.status, r.body.key], [200, 'key2'])
  // it("retrieve consumer from a JWT id"), it("retrieve consumer from a JWT key")
  t.same((await api.call('GET', `/jwts/${r.body.id as string}/consumer`)).body, bob)
  t.same((await api.call('GET', '/jwts/key2/consumer')).body, bob)
  // it("returns 404 for a random non-existing JWT id"), it("... JWT key")
  t.equal((await api.call('GET', '/jwts/c16bbff7-5d0d-4a28-8127-1ee581898f11/consumer')).status, 404)
  t.equal((await api.call('GET', '/jwts/no-such-key/consumer')).status, 404)
  // Deleting the consumer deletes its credentials (on_delete = "cascade").
  await api.call('DELETE', '/consumers/bob')
  t.equal((await api.call('GET', '/jwts')).body.data.length, 1)
})

// 06-schema_spec.lua
t.test('the jwt plugin entity', async (t) => {
  const api = await startAdmin(t, opts)
  // it("validates 'maximum_expiration'")
  let r = await api.call('POST', '/plugins', { json: { name: 'jwt', config: { maximum_expiration: 60, claims_to_verify: ['exp', 'nbf'] } } })
  t.equal(r.status, 201)
  t.same(r.body.config, {
    uri_param_names: ['jwt'], cookie_names: [], key_claim_name: 'iss', secret_is_base64: false, claims_to_verify: ['exp', 'nbf'],
    anonymous: null, run_on_preflight: true, maximum_expiration: 60, header_names: ['authorization'],
  })
  await api.call('DELETE', `/plugins/${r.body.id as string}`)
  // it("when 'maximum_expiration' is negative")
  for (const claims of [['exp', 'nbf'], ['nbf']]) {
    r = await api.call('POST', '/plugins', { json: { name: 'jwt', config: { maximum_expiration: -1, claims_to_verify: claims } } })
    t.same([r.status, r.body.fields?.config], [400, { maximum_expiration: 'value should be between 0 and 31536000' }], claims.join(','))
  }
  // it("when 'maximum_expiration' is specified without 'exp' in 'claims_to_verify'")
  r = await api.call('POST', '/plugins', { json: { name: 'jwt', config: { maximum_expiration: 60, claims_to_verify: ['nbf'] } } })
  t.equal(r.status, 400)
  t.equal(r.body.fields?.config?.claims_to_verify, 'expected to contain: exp')
  r = await api.call('POST', '/plugins', { json: { name: 'jwt', config: { claims_to_verify: ['iat'] } } })
  t.same([r.status, r.body.fields?.config?.claims_to_verify], [400, ['expected one of: exp, nbf']])
  const c = (await api.call('POST', '/consumers', { json: { username: 'x' } })).body
  r = await api.call('POST', '/plugins', { json: { name: 'jwt', consumer: { id: c.id } } })
  t.same([r.status, r.body.fields], [400, { consumer: 'value must be null' }], 'jwt cannot be scoped to a consumer')
  r = await api.call('GET', '/schemas/plugins/jwt')
  t.equal(r.status, 200)
})

// Declarative configuration: credentials nested under their consumer, as Kong's kong.yml.
t.test('jwt_secrets in a declarative configuration', async (t) => {
  const doc = {
    _format_version: '3.0',
    consumers: [{ username: 'u', jwt_secrets: [{ key: 'u-iss', secret: 's3cret' }, { key: 'u-rsa', algorithm: 'RS256', rsa_public_key: rs256.publicPem }] }],
  }
  const gw = await startTestGateway(t, { config: { database: 'off', declarative_config_string: JSON.stringify(doc) } })
  const r = await gw.admin$('GET', '/consumers/u/jwt')
  t.same(r.data.map((c: { key: string }) => c.key).sort(), ['u-iss', 'u-rsa'])
  t.match(r.data.find((c: { key: string }) => c.key === 'u-iss'), { secret: 's3cret', algorithm: 'HS256' })
  const bad = { _format_version: '3.0', consumers: [{ username: 'u', jwt_secrets: [{ key: 'k', algorithm: 'ES384' }] }] }
  const res = await request(`${gw.admin}/config`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(bad) })
  const text = await res.body.text()
  t.equal(res.statusCode, 400)
  t.match(text, /required field missing/)
})
