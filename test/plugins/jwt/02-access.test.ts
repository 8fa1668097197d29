// Kong's spec/03-plugins/16-jwt/03-access_spec.lua, through a real gateway to a real echoing
// upstream. Test titles and comments name the spec's it(...) cases they port. Skipped: the
// gRPC cases ("rejects gRPC call without credentials", "accepts gRPC call with credentials"),
// which need Kong's gRPC test upstream.
import t from 'tap'
import { request } from 'undici'
import { Type, TOLLGATE_VERSION, type PluginDescriptor } from '@tollgate/sdk'
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js'
import { startMockUpstream, type Echo } from '../../helpers/mock-upstream.js'
import { encode, es384, rs256, rs384, rs512 } from './fixtures.js'

async function call (gw: TestGateway, host: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number, text: string, json: any }> {
  const res = await request(`${gw.proxy}${path}`, { method: method as 'GET', headers: { host, ...headers } })
  const text = await res.body.text()
  let json: unknown
  try { json = JSON.parse(text) } catch { json = text }
  return { status: res.statusCode, text, json }
}

// The spec's ctx-checker: shows kong.ctx.shared.authenticated_jwt_token upstream.
const ctxChecker: PluginDescriptor<any> = {
  name: 'ctx-checker',
  version: TOLLGATE_VERSION,
  priority: 1000,
  schema: Type.Object({}),
  access: (kong) => {
    const token = kong.ctx.shared.authenticated_jwt_token
    if (typeof token === 'string') kong.service.request.setHeader('ctx-checker-authenticated-jwt-token', token)
  },
}

const now = (): number => Math.floor(Date.now() / 1000)

t.test('jwt on the proxy', async (t) => {
  const gw = await startTestGateway(t, { plugins: [ctxChecker] })
  const up = await startMockUpstream(t)
  await gw.admin$('POST', '/services', { name: 'mock', url: up.url })
  const consumer = async (username: string): Promise<Record<string, any>> => await gw.admin$('POST', '/consumers', { username })
  await consumer('jwt_tests_consumer')
  await consumer('jwt_tests_base64_consumer')
  for (const u of ['jwt_tests_rsa_consumer_1', 'jwt_tests_rsa_consumer_2', 'jwt_tests_rsa_consumer_5', 'jwt_tests_hs_consumer_7', 'jwt_tests_hs_consumer_8', 'jwt_tests_rsa_consumer_9', 'jwt_tests_rsa_consumer_10']) await consumer(u)
  const anonymous = await consumer('no-body')
  const configs: Record<number, Record<string, unknown>> = {
    1: {},
    2: { uri_param_names: ['token', 'jwt'] },
    3: { claims_to_verify: ['nbf', 'exp'] },
    4: { key_claim_name: 'aud' },
    5: { secret_is_base64: true },
    6: { anonymous: anonymous.id },
    7: { anonymous: '00000000-0000-4000-8000-00000000dead' },
    8: { run_on_preflight: false },
    9: { cookie_names: ['silly', 'crumble'] },
    10: { key_claim_name: 'kid' },
    11: { claims_to_verify: ['nbf', 'exp'], maximum_expiration: 300 },
    12: { header_names: ['CustomAuthorization'] },
    13: { anonymous: 'no-body' },
    14: {},
    15: { header_names: ['Custom_Auth'] },
  }
  for (const [i, config] of Object.entries(configs)) {
    const route = await gw.admin$('POST', '/services/mock/routes', { hosts: [`jwt${i}.test`] })
    await gw.admin$('POST', `/routes/${route.id as string}/plugins`, { name: 'jwt', config })
    if (i === '14') await gw.admin$('POST', `/routes/${route.id as string}/plugins`, { name: 'ctx-checker' })
  }
  const secret = await gw.admin$('POST', '/consumers/jwt_tests_consumer/jwt', {})
  const base64 = await gw.admin$('POST', '/consumers/jwt_tests_base64_consumer/jwt', {})
  const rsa1 = await gw.admin$('POST', '/consumers/jwt_tests_rsa_consumer_1/jwt', { algorithm: 'RS256', rsa_public_key: rs256.publicPem })
  const rsa2 = await gw.admin$('POST', '/consumers/jwt_tests_rsa_consumer_2/jwt', { algorithm: 'RS256', rsa_public_key: rs256.publicPem })
  const rsa3 = await gw.admin$('POST', '/consumers/jwt_tests_rsa_consumer_5/jwt', { algorithm: 'RS512', rsa_public_key: rs512.publicPem })
  const rsa4 = await gw.admin$('POST', '/consumers/jwt_tests_rsa_consumer_9/jwt', { algorithm: 'RS384', rsa_public_key: rs384.publicPem })
  const rsa5 = await gw.admin$('POST', '/consumers/jwt_tests_rsa_consumer_10/jwt', { algorithm: 'ES384', rsa_public_key: es384.publicPem })
  const hs1 = await gw.admin$('POST', '/consumers/jwt_tests_hs_consumer_7/jwt', { algorithm: 'HS384' })
  const hs2 = await gw.admin$('POST', '/consumers/jwt_tests_hs_consumer_8/jwt', { algorithm: 'HS512' })

  const PAYLOAD = { iss: secret.key as string, nbf: now(), iat: now(), exp: now() + 3600 }
  const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` })

  t.test('refusals', async (t) => {
    // it("returns 401 Unauthorized if no JWT is found in the request")
    let r = await call(gw, 'jwt1.test', '/request')
    t.same([r.status, r.text], [401, '{"message":"Unauthorized"}'])
    // it("returns 401 if the claims do not contain the key to identify a secret")
    r = await call(gw, 'jwt1.test', '/request', bearer(encode({}, 'foo')))
    t.same([r.status, r.json], [401, { message: "No mandatory 'iss' in claims" }])
    // it("returns 401 if the claims do not contain a valid key to identify a secret")
    r = await call(gw, 'jwt1.test', '/request', bearer(encode({ iss: '' }, 'foo')))
    t.same([r.status, r.json], [401, { message: "Invalid 'iss' in claims" }])
    // it("returns 401 Unauthorized if the iss does not match a credential")
    r = await call(gw, 'jwt1.test', '/request', bearer(encode({ iss: '123456789' }, secret.secret)))
    t.same([r.status, r.json], [401, { message: "No credentials found for given 'iss'" }])
    // it("returns 401 Unauthorized if the signature is invalid")
    r = await call(gw, 'jwt1.test', '/request', bearer(encode(PAYLOAD, 'foo')))
    t.same([r.status, r.json], [401, { message: 'Invalid signature' }])
    // it("returns 401 Unauthorized if the alg does not match the credential")
    r = await call(gw, 'jwt1.test', '/request', bearer(encode(PAYLOAD, secret.secret, 'HS256', { typ: 'JWT', alg: 'RS256' })))
    t.same([r.status, r.json], [401, { message: 'Invalid algorithm' }])
    // An unsupported alg, or none (jwt_parser's "invalid alg").
    r = await call(gw, 'jwt1.test', '/request', bearer(encode(PAYLOAD, secret.secret, 'HS256', { typ: 'JWT', alg: 'none' })))
    t.same([r.status, r.json], [401, { message: 'Bad token; invalid alg' }])
    r = await call(gw, 'jwt1.test', '/request', bearer('not.a.token'))
    t.same([r.status, r.json], [401, { message: 'Bad token; invalid JSON' }])
    // it("returns 200 on OPTIONS requests if run_on_preflight is false")
    t.equal((await call(gw, 'jwt8.test', '/request', {}, 'OPTIONS')).status, 200)
    // it("returns Unauthorized on OPTIONS requests if run_on_preflight is true")
    r = await call(gw, 'jwt1.test', '/request', {}, 'OPTIONS')
    t.same([r.status, r.text], [401, '{"message":"Unauthorized"}'])
    // it("returns 401 if the token exceeds the maximum allowed expiration limit")
    r = await call(gw, 'jwt11.test', '/request', bearer(encode({ ...PAYLOAD, exp: now() + 600 }, secret.secret)))
    t.same([r.status, r.text], [401, '{"exp":"exceeds maximum allowed expiration"}'])
    // it("accepts a JWT token within the maximum allowed expiration limit")
    r = await call(gw, 'jwt11.test', '/request', bearer(encode({ ...PAYLOAD, exp: now() + 270 }, secret.secret)))
    t.equal(r.status, 200)
    // it("reject if multiple different tokens found")
    r = await call(gw, 'jwt1.test', `/request?jwt=${encode(PAYLOAD, secret.secret)}`, bearer(encode({ ...PAYLOAD, extra: 1 }, secret.secret)))
    t.same([r.status, r.json], [401, { message: 'Multiple tokens provided' }])
    // The same token twice is one token.
    const same = encode(PAYLOAD, secret.secret)
    t.equal((await call(gw, 'jwt1.test', `/request?jwt=${same}`, bearer(same))).status, 200)
  })

  t.test('HS256', async (t) => {
    const token = encode(PAYLOAD, secret.secret)
    // it("proxies the request with token and consumer headers if it was verified")
    let r = await call(gw, 'jwt1.test', '/request', bearer(token))
    t.equal(r.status, 200)
    let h = (r.json as Echo).headers
    t.same([h.authorization, h['x-consumer-username'], h['x-credential-identifier']], [`Bearer ${token}`, 'jwt_tests_consumer', secret.key])
    t.notOk('x-anonymous-consumer' in h)
    // it("proxies the request if the key is found in headers")
    const kidToken = encode({ ...PAYLOAD, iss: undefined }, secret.secret, 'HS256', { typ: 'JWT', alg: 'HS256', kid: secret.key })
    t.equal((await call(gw, 'jwt10.test', '/request', bearer(kidToken))).status, 200)
    // it("proxies the request if secret key is stored in a field other than iss")
    r = await call(gw, 'jwt4.test', '/request', bearer(encode({ ...PAYLOAD, iss: undefined, aud: secret.key }, secret.secret)))
    h = (r.json as Echo).headers
    t.same([r.status, h['x-consumer-username'], h['x-credential-identifier']], [200, 'jwt_tests_consumer', secret.key])
    // it("proxies the request if secret is base64")
    const raw = 'a secret of any bytes, \u00e9 included'
    await gw.admin$('PATCH', `/jwts/${base64.id as string}`, { secret: Buffer.from(raw).toString('base64') })
    r = await call(gw, 'jwt5.test', '/request', bearer(encode({ ...PAYLOAD, iss: base64.key }, Buffer.from(raw))))
    h = (r.json as Echo).headers
    t.same([r.status, h['x-consumer-username'], h['x-credential-identifier']], [200, 'jwt_tests_base64_consumer', base64.key])
    // it("returns 200 the JWT is found in the cookie crumble"), it("... cookie silly")
    t.equal((await call(gw, 'jwt9.test', '/request', { cookie: `crumble=${token}; path=/;domain=.jwt9.test` })).status, 200)
    t.equal((await call(gw, 'jwt9.test', '/request', { cookie: `silly=${token}; path=/;domain=.jwt9.test` })).status, 200)
    // it("returns 401 if the JWT found in the cookie does not match a credential")
    r = await call(gw, 'jwt9.test', '/request', { cookie: `crumble=${encode({ iss: 'incorrect' }, 'x')}; path=/;domain=.jwt9.test` })
    t.same([r.status, r.json], [401, { message: "No credentials found for given 'iss'" }])
    // it("returns a 401 if the JWT in the cookie is corrupted")
    r = await call(gw, 'jwt9.test', '/request', { cookie: 'crumble=no-token; path=/;domain=.jwt9.test' })
    t.same([r.status, r.text], [401, '{"message":"Bad token; invalid JSON"}'])
    // it("reports a 200 without cookies but with a JWT token in the Authorization header")
    t.equal((await call(gw, 'jwt9.test', '/request', bearer(token))).status, 200)
    // it("returns 401 if no JWT tokens are found in cookies or Authorization header")
    t.equal((await call(gw, 'jwt9.test', '/request')).status, 401)
    // it("returns 200 without cookies but with a JWT token in the CustomAuthorization header")
    t.equal((await call(gw, 'jwt12.test', '/request', { customauthorization: `Bearer ${token}` })).status, 200)
    t.equal((await call(gw, 'jwt12.test', '/request', bearer(token))).status, 401, 'authorization is not among header_names')
    t.equal((await call(gw, 'jwt15.test', '/request', { 'custom-auth': `Bearer ${token}` })).status, 200, "a name with '_' finds the '-' spelling, as nginx's header table")
    // it("finds the JWT in the first header occurrence of a duplicated custom authorization header")
    const res = await request(`${gw.proxy}/request`, { headers: ['host', 'jwt12.test', 'customauthorization', `Bearer ${token}`, 'customauthorization', 'Bearer other-token'] })
    await res.body.dump()
    t.equal(res.statusCode, 200)
    // Kong's ngx.re.gmatch is not anchored: "Bearer <token>" anywhere in the value counts.
    t.equal((await call(gw, 'jwt1.test', '/request', { authorization: `Token x, bearer ${token}` })).status, 200)
    t.equal((await call(gw, 'jwt1.test', '/request', { authorization: token })).status, 401, 'a bare token is not looked at')
    // it("finds the JWT if given in URL parameters")
    t.equal((await call(gw, 'jwt1.test', `/request?jwt=${token}`)).status, 200)
    // it("finds the JWT if given in a custom URL parameter")
    t.equal((await call(gw, 'jwt2.test', `/request?token=${token}`)).status, 200)
  })

  // describe("RS256"), ("RS512"), ("RS384"), ("ES384"), ("HS386"), ("HS512"): it("verifies JWT"), it("identifies Consumer")
  for (const [alg, cred, key, username] of [
    ['RS256', rsa1, rs256.privateKey, 'jwt_tests_rsa_consumer_1'],
    ['RS256', rsa2, rs256.privateKey, 'jwt_tests_rsa_consumer_2'],
    ['RS512', rsa3, rs512.privateKey, 'jwt_tests_rsa_consumer_5'],
    ['RS384', rsa4, rs384.privateKey, 'jwt_tests_rsa_consumer_9'],
    ['ES384', rsa5, es384.privateKey, 'jwt_tests_rsa_consumer_10'],
    ['HS384', hs1, hs1.secret, 'jwt_tests_hs_consumer_7'],
    ['HS512', hs2, hs2.secret, 'jwt_tests_hs_consumer_8'],
  ] as const) {
    t.test(`${alg} (${username as string})`, async (t) => {
      const token = encode({ ...PAYLOAD, iss: cred.key }, key as any, alg)
      const r = await call(gw, 'jwt1.test', '/request', bearer(token))
      const h = (r.json as Echo).headers
      t.same([r.status, h.authorization, h['x-consumer-username'], h['x-credential-identifier']], [200, `Bearer ${token}`, username, cred.key])
      const forged = encode({ ...PAYLOAD, iss: cred.key }, alg.startsWith('HS') ? 'wrong' : (alg === 'RS256' ? rs384 : rs256).privateKey as any, alg.startsWith('ES') ? 'RS384' : alg, { typ: 'JWT', alg })
      t.same((await call(gw, 'jwt1.test', '/request', bearer(forged))).json, { message: 'Invalid signature' }, 'signed with another key')
    })
  }

  t.test('JWT private claims checks', async (t) => {
    // it("requires the checked fields to be in the claims")
    let r = await call(gw, 'jwt3.test', '/request', bearer(encode({ iss: secret.key }, secret.secret)))
    t.same([r.status, r.json], [401, { nbf: 'must be a number', exp: 'must be a number' }])
    // it("checks if the fields are valid: `exp` claim")
    r = await call(gw, 'jwt3.test', '/request', bearer(encode({ iss: secret.key, exp: now() - 10, nbf: now() - 10 }, secret.secret)))
    t.same([r.status, r.text], [401, '{"exp":"token expired"}'])
    // it("checks if the fields are valid: `nbf` claim")
    r = await call(gw, 'jwt3.test', '/request', bearer(encode({ iss: secret.key, exp: now() + 10, nbf: now() + 5 }, secret.secret)))
    t.same([r.status, r.text], [401, '{"nbf":"token not valid yet"}'])
    t.equal((await call(gw, 'jwt1.test', '/request', bearer(encode({ iss: secret.key, exp: now() - 10 }, secret.secret)))).status, 200, 'exp not verified unless configured')
  })

  t.test('ctx.authenticated_jwt_token', async (t) => {
    // it("is added to kong.ctx.shared when authenticated")
    const token = encode(PAYLOAD, secret.secret)
    const r = await call(gw, 'jwt14.test', '/request', bearer(token))
    t.equal((r.json as Echo).headers['ctx-checker-authenticated-jwt-token'], token)
  })

  t.test('config.anonymous', async (t) => {
    // it("works with right credentials and anonymous")
    let h = ((await call(gw, 'jwt6.test', '/request', bearer(encode(PAYLOAD, secret.secret)))).json as Echo).headers
    t.same([h['x-consumer-username'], h['x-credential-identifier'], h['x-anonymous-consumer']], ['jwt_tests_consumer', secret.key, undefined])
    // it("works with wrong credentials and anonymous")
    h = ((await call(gw, 'jwt6.test', '/request', { 'x-credential-identifier': 'spoofed' })).json as Echo).headers
    t.same([h['x-anonymous-consumer'], h['x-consumer-username'], h['x-credential-identifier']], ['true', 'no-body', undefined])
    // it("works with wrong credentials and username in anonymous")
    h = ((await call(gw, 'jwt13.test', '/request')).json as Echo).headers
    t.same([h['x-anonymous-consumer'], h['x-consumer-username']], ['true', 'no-body'])
    // it("errors when anonymous user doesn't exist")
    const r = await call(gw, 'jwt7.test', '/request')
    t.same([r.status, r.json.message], [500, "anonymous consumer 00000000-0000-4000-8000-00000000dead is configured but doesn't exist"])
  })

  t.test('changes take effect on the next request', async (t) => {
    // 04-invalidations_spec.lua: it("should invalidate when JWT Auth Credential entity is deleted"),
    // it("... is updated"), it("should invalidate when Consumer entity is deleted")
    const c = await consumer('invalidated')
    const status = async (s: string): Promise<number> => (await call(gw, 'jwt1.test', '/request', bearer(encode({ iss: 'inv' }, s)))).status
    const gone = await gw.admin$('POST', '/consumers/invalidated/jwt', { key: 'inv', secret: 'one' })
    t.equal(await status('one'), 200)
    await gw.admin$('DELETE', `/consumers/invalidated/jwt/${gone.id as string}`)
    t.equal(await status('one'), 401, 'a deleted credential is refused')
    const cred = await gw.admin$('POST', '/consumers/invalidated/jwt', { key: 'inv', secret: 'one' })
    t.equal(await status('one'), 200)
    await gw.admin$('PATCH', `/jwts/${cred.id as string}`, { secret: 'two' })
    t.equal(await status('one'), 401, 'old secret refused after an update')
    t.equal(await status('two'), 200)
    await gw.admin$('DELETE', `/consumers/${c.id as string}`)
    t.equal(await status('two'), 401, 'deleting the consumer revokes its credential')
  })
})

// The second describe block: jwt with key-auth, logical AND and OR.
t.test('multiple auth', async (t) => {
  const gw = await startTestGateway(t)
  const up = await startMockUpstream(t)
  await gw.admin$('POST', '/services', { name: 'mock', url: up.url })
  const user1 = await gw.admin$('POST', '/consumers', { username: 'Mickey' })
  const user2 = await gw.admin$('POST', '/consumers', { username: 'Aladdin' })
  const anonymous = await gw.admin$('POST', '/consumers', { username: 'Anonymous' })
  const keyAuth = await gw.admin$('POST', '/consumers/Mickey/key-auth', { key: 'Mouse' })
  const secret = await gw.admin$('POST', '/consumers/Aladdin/jwt', {})
  const and = await gw.admin$('POST', '/services/mock/routes', { hosts: ['logical-and.test'] })
  await gw.admin$('POST', `/routes/${and.id as string}/plugins`, { name: 'jwt' })
  await gw.admin$('POST', `/routes/${and.id as string}/plugins`, { name: 'key-auth' })
  const or = await gw.admin$('POST', '/services/mock/routes', { hosts: ['logical-or.test'] })
  await gw.admin$('POST', `/routes/${or.id as string}/plugins`, { name: 'jwt', config: { anonymous: anonymous.id } })
  await gw.admin$('POST', `/routes/${or.id as string}/plugins`, { name: 'key-auth', config: { anonymous: anonymous.id } })
  const token = `Bearer ${encode({ iss: secret.key }, secret.secret)}`

  t.test('logical AND', async (t) => {
    // it("passes with all credentials provided")
    let r = await call(gw, 'logical-and.test', '/request', { apikey: 'Mouse', authorization: token })
    t.equal(r.status, 200)
    t.equal((r.json as Echo).headers['x-credential-identifier'], keyAuth.id, 'key-auth runs last and sets its own')
    // it("fails 401, with only the first credential provided")
    r = await call(gw, 'logical-and.test', '/request', { apikey: 'Mouse' })
    t.equal(r.status, 401)
    // it("fails 401, with only the second credential provided")
    t.equal((await call(gw, 'logical-and.test', '/request', { authorization: token })).status, 401)
    // it("fails 401, with no credential provided")
    t.equal((await call(gw, 'logical-and.test', '/request')).status, 401)
  })

  t.test('logical OR', async (t) => {
    // it("passes with all credentials provided")
    let h = ((await call(gw, 'logical-or.test', '/request', { apikey: 'Mouse', authorization: token })).json as Echo).headers
    t.notOk('x-anonymous-consumer' in h)
    t.equal(h['x-credential-identifier'], secret.key, 'jwt (higher priority) identified the request; key-auth stood down')
    // it("passes with only the first credential provided")
    h = ((await call(gw, 'logical-or.test', '/request', { apikey: 'Mouse' })).json as Echo).headers
    t.same([h['x-anonymous-consumer'], h['x-consumer-id']], [undefined, user1.id])
    // it("passes with only the second credential provided")
    h = ((await call(gw, 'logical-or.test', '/request', { authorization: token })).json as Echo).headers
    t.same([h['x-anonymous-consumer'], h['x-consumer-id'], h['x-credential-identifier']], [undefined, user2.id, secret.key])
    // it("passes with no credential provided")
    h = ((await call(gw, 'logical-or.test', '/request')).json as Echo).headers
    t.same([h['x-anonymous-consumer'], h['x-consumer-id']], ['true', anonymous.id])
  })
})
