// Kong's spec/03-plugins/10-basic-auth/03-access_spec.lua and 04-invalidations_spec.lua,
// through a real gateway to a real echoing upstream. Kong 3.2's messages: no header at
// all is 401 "Unauthorized" with `WWW-Authenticate: Basic realm="kong"`; anything else
// that fails is 401 "Invalid authentication credentials" without it.
// Skipped: the gRPC cases ("rejects gRPC call without credentials", "accepts authorized
// gRPC calls"): Tollgate proxies no gRPC.
import t from 'tap'
import { request } from 'undici'
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js'
import { startMockUpstream, type Echo } from '../../helpers/mock-upstream.js'

async function call (gw: TestGateway, host: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number, headers: Record<string, unknown>, json: any }> {
  const res = await request(`${gw.proxy}${path}`, { headers: { host, ...headers } })
  const text = await res.body.text()
  let json: unknown
  try { json = JSON.parse(text) } catch { json = text }
  return { status: res.statusCode, headers: res.headers, json }
}
const basic = (s: string): string => `Basic ${Buffer.from(s).toString('base64')}`

t.test('basic-auth on the proxy', async (t) => {
  const gw = await startTestGateway(t)
  const up = await startMockUpstream(t)
  const bob = await gw.admin$('POST', '/consumers', { username: 'bob' })
  const anonymous = await gw.admin$('POST', '/consumers', { username: 'no-body' })
  await gw.admin$('POST', '/consumers/bob/basic-auth', { username: 'bob', password: 'kong' })
  await gw.admin$('POST', '/consumers/bob/basic-auth', { username: 'user123', password: 'password123' })
  await gw.admin$('POST', '/consumers/bob/basic-auth', { username: 'user321', password: 'password:123' })
  await gw.admin$('POST', '/services', { name: 'mock', url: up.url })
  const configs: Array<[string, Record<string, unknown>]> = [
    ['basic-auth1.test', {}],
    ['basic-auth2.test', { hide_credentials: true }],
    ['basic-auth3.test', { anonymous: anonymous.id }],
    ['basic-auth4.test', { anonymous: '00000000-0000-4000-8000-00000000dead' }],
    ['basic-auth5.test', { anonymous: 'no-body' }],
    ['basic-auth6.test', { realm: 'test-realm' }],
  ]
  for (const [host, config] of configs) {
    const route = await gw.admin$('POST', '/services/mock/routes', { hosts: [host] })
    await gw.admin$('POST', `/routes/${route.id as string}/plugins`, { name: 'basic-auth', config })
  }

  t.test('Unauthorized', async (t) => {
    // returns Unauthorized on missing credentials; returns WWW-Authenticate header on missing credentials
    let r = await call(gw, 'basic-auth1.test', '/status/200')
    t.same([r.status, r.json.message, r.headers['www-authenticate']], [401, 'Unauthorized', 'Basic realm="kong"'])
    r = await call(gw, 'basic-auth6.test', '/status/200')
    t.same([r.status, r.headers['www-authenticate']], [401, 'Basic realm="test-realm"'], 'a configured realm')
    // returns 401 Unauthorized on invalid credentials in Authorization / Proxy-Authorization
    for (const h of ['Authorization', 'Proxy-Authorization']) {
      r = await call(gw, 'basic-auth1.test', '/status/200', { [h]: 'foobar' })
      t.same([r.status, r.json.message, r.headers['www-authenticate']], [401, 'Invalid authentication credentials', undefined], h)
    }
    // returns 401 Unauthorized on password only; on username only
    for (const v of ['Basic a29uZw==', 'Basic Ym9i']) {
      r = await call(gw, 'basic-auth1.test', '/status/200', { Authorization: v })
      t.same([r.status, r.json.message], [401, 'Invalid authentication credentials'], v)
    }
    r = await call(gw, 'basic-auth1.test', '/status/200', { Authorization: basic('bob:wrong') })
    t.same([r.status, r.json.message], [401, 'Invalid authentication credentials'], 'a wrong password')
  })

  t.test('Authorized', async (t) => {
    // authenticates valid credentials in Authorization
    t.equal((await call(gw, 'basic-auth1.test', '/status/200', { Authorization: 'Basic Ym9iOmtvbmc=' })).status, 200)
    let r = await call(gw, 'basic-auth1.test', '/request', { Authorization: 'Basic dXNlcjEyMzpwYXNzd29yZDEyMw==' })
    t.same([r.status, r.json.headers['x-consumer-username'], r.json.headers['x-credential-identifier']], [200, 'bob', 'user123'])
    // authenticates with a password containing ':'
    r = await call(gw, 'basic-auth1.test', '/request', { Authorization: 'Basic dXNlcjMyMTpwYXNzd29yZDoxMjM=' })
    t.same([r.status, r.json.headers['x-credential-identifier']], [200, 'user321'])
    // returns 401 for valid Base64 encoding (of the wrong text)
    r = await call(gw, 'basic-auth1.test', '/status/200', { Authorization: 'Basic adXNlcjEyMzpwYXNzd29yZDEyMw==' })
    t.same([r.status, r.json.message], [401, 'Invalid authentication credentials'])
    // authenticates valid credentials in Proxy-Authorization
    t.equal((await call(gw, 'basic-auth1.test', '/status/200', { 'Proxy-Authorization': 'Basic Ym9iOmtvbmc=' })).status, 200)
    t.equal((await call(gw, 'basic-auth1.test', '/status/200', { 'Proxy-Authorization': basic('bob:wrong'), Authorization: 'Basic Ym9iOmtvbmc=' })).status, 401,
      'a known username in Proxy-Authorization with a wrong password is not retried with Authorization')
    t.equal((await call(gw, 'basic-auth1.test', '/status/200', { 'Proxy-Authorization': 'foobar', Authorization: 'Basic Ym9iOmtvbmc=' })).status, 200,
      'an unusable Proxy-Authorization falls back to Authorization')
    t.equal((await call(gw, 'basic-auth1.test', '/status/200', { Authorization: 'basic Ym9iOmtvbmc=' })).status, 200, 'lower-case scheme')
    t.equal((await call(gw, 'basic-auth1.test', '/status/200', { Authorization: 'Basic Ym9i.mtvbmc=' })).status, 401, 'not base64 as nginx decodes it')
  })

  t.test('Consumer headers: sends Consumer headers to upstream', async (t) => {
    const r = await call(gw, 'basic-auth1.test', '/request', { Authorization: 'Basic Ym9iOmtvbmc=', 'x-anonymous-consumer': 'true', 'x-consumer-custom-id': 'spoofed' })
    const h = (r.json as Echo).headers
    t.equal(h['x-consumer-id'], bob.id)
    t.equal(h['x-consumer-username'], 'bob')
    t.equal(h['x-credential-identifier'], 'bob')
    t.notOk('x-anonymous-consumer' in h)
    t.notOk('x-consumer-custom-id' in h)
  })

  t.test('config.hide_credentials', async (t) => {
    // false sends key to upstream; true doesn't send key to upstream
    let e = (await call(gw, 'basic-auth1.test', '/request', { Authorization: 'Basic Ym9iOmtvbmc=' })).json as Echo
    t.equal(e.headers.authorization, 'Basic Ym9iOmtvbmc=')
    e = (await call(gw, 'basic-auth2.test', '/request', { Authorization: 'Basic Ym9iOmtvbmc=' })).json as Echo
    t.notOk('authorization' in e.headers)
    e = (await call(gw, 'basic-auth2.test', '/request', { 'Proxy-Authorization': 'Basic Ym9iOmtvbmc=' })).json as Echo
    t.notOk('proxy-authorization' in e.headers)
  })

  t.test('config.anonymous', async (t) => {
    // works with right credentials and anonymous
    let r = await call(gw, 'basic-auth3.test', '/request', { Authorization: 'Basic dXNlcjEyMzpwYXNzd29yZDEyMw==' })
    t.same([r.status, r.json.headers['x-consumer-username'], r.json.headers['x-credential-identifier'], r.json.headers['x-anonymous-consumer']], [200, 'bob', 'user123', undefined])
    // works with wrong credentials and anonymous
    r = await call(gw, 'basic-auth3.test', '/request')
    t.same([r.status, r.json.headers['x-anonymous-consumer'], r.json.headers['x-consumer-username'], r.json.headers['x-credential-identifier']], [200, 'true', 'no-body', undefined])
    // works with wrong credentials and username in anonymous
    r = await call(gw, 'basic-auth5.test', '/request')
    t.same([r.status, r.json.headers['x-anonymous-consumer'], r.json.headers['x-consumer-username']], [200, 'true', 'no-body'])
    // errors when anonymous user doesn't exist
    t.equal((await call(gw, 'basic-auth4.test', '/request')).status, 500)
  })
})

t.test('multiple auth (key-auth and basic-auth)', async (t) => {
  const gw = await startTestGateway(t)
  const up = await startMockUpstream(t)
  const anonymous = await gw.admin$('POST', '/consumers', { username: 'Anonymous' })
  const mickey = await gw.admin$('POST', '/consumers', { username: 'Mickey' })
  const aladdin = await gw.admin$('POST', '/consumers', { username: 'Aladdin' })
  await gw.admin$('POST', '/consumers/Mickey/key-auth', { key: 'Mouse' })
  await gw.admin$('POST', '/consumers/Aladdin/basic-auth', { username: 'Aladdin', password: 'OpenSesame' })
  await gw.admin$('POST', '/services', { name: 'mock', url: `${up.url}/request` })
  const and = await gw.admin$('POST', '/services/mock/routes', { hosts: ['logical-and.test'] })
  const or = await gw.admin$('POST', '/services/mock/routes', { hosts: ['logical-or.test'] })
  for (const name of ['basic-auth', 'key-auth']) {
    await gw.admin$('POST', `/routes/${and.id as string}/plugins`, { name })
    await gw.admin$('POST', `/routes/${or.id as string}/plugins`, { name, config: { anonymous: anonymous.id } })
  }
  const both = { apikey: 'Mouse', Authorization: 'Basic QWxhZGRpbjpPcGVuU2VzYW1l' }

  t.test('multiple auth without anonymous, logical AND', async (t) => {
    // passes with all credentials provided
    let r = await call(gw, 'logical-and.test', '/request', both)
    t.equal(r.status, 200)
    t.notOk('x-anonymous-consumer' in r.json.headers)
    t.not(r.json.headers['x-consumer-id'], anonymous.id)
    t.ok([mickey.id, aladdin.id].includes(r.json.headers['x-consumer-id']))
    // fails 401, with only the first credential provided; only the second; none
    for (const h of [{ apikey: 'Mouse' }, { Authorization: both.Authorization }, {}] as Array<Record<string, string>>) {
      r = await call(gw, 'logical-and.test', '/request', h)
      t.equal(r.status, 401, JSON.stringify(h))
    }
  })

  t.test('multiple auth with anonymous, logical OR', async (t) => {
    // passes with all credentials provided; only the first; only the second
    for (const [h, who] of [[both, [mickey.id, aladdin.id]], [{ apikey: 'Mouse' }, [mickey.id]], [{ Authorization: both.Authorization }, [aladdin.id]]] as const) {
      const r = await call(gw, 'logical-or.test', '/request', h)
      t.equal(r.status, 200)
      t.notOk('x-anonymous-consumer' in r.json.headers)
      t.ok((who as readonly string[]).includes(r.json.headers['x-consumer-id']), JSON.stringify(h))
    }
    // passes with no credential provided
    const r = await call(gw, 'logical-or.test', '/request')
    t.same([r.status, r.json.headers['x-anonymous-consumer'], r.json.headers['x-consumer-id']], [200, 'true', anonymous.id])
  })
})

t.test('consumer cache consistency (anonymous by username, then deleted)', async (t) => {
  const gw = await startTestGateway(t)
  const up = await startMockUpstream(t)
  const anonymous = await gw.admin$('POST', '/consumers', { username: 'anonymous' })
  await gw.admin$('POST', '/services', { name: 'mock', url: up.url })
  await gw.admin$('POST', '/services/mock/routes', { hosts: ['anonymous-with-username.test'] })
  await gw.admin$('POST', '/plugins', { name: 'basic-auth', config: { anonymous: 'anonymous' } })
  let r = await call(gw, 'anonymous-with-username.test', '/request')
  t.same([r.status, r.json.headers['x-anonymous-consumer'], r.json.headers['x-consumer-id'], r.json.headers['x-consumer-username']], [200, 'true', anonymous.id, 'anonymous'])
  await gw.admin$('DELETE', '/consumers/anonymous')
  r = await call(gw, 'anonymous-with-username.test', '/request')
  t.equal(r.status, 500)
})

// spec/03-plugins/10-basic-auth/04-invalidations_spec.lua
t.test('invalidations', async (t) => {
  const gw = await startTestGateway(t)
  const up = await startMockUpstream(t)
  await gw.admin$('POST', '/services', { name: 'mock', url: up.url })
  await gw.admin$('POST', '/services/mock/routes', { hosts: ['basic-auth.test'] })
  await gw.admin$('POST', '/plugins', { name: 'basic-auth' })
  const status = async (auth: string): Promise<number> => (await call(gw, 'basic-auth.test', '/', { Authorization: basic(auth) })).status

  // invalidates credentials when the Consumer is deleted
  await gw.admin$('POST', '/consumers', { username: 'bob' })
  await gw.admin$('POST', '/consumers/bob/basic-auth', { username: 'bob', password: 'kong' })
  t.equal(await status('bob:kong'), 200)
  await gw.admin$('DELETE', '/consumers/bob')
  t.equal(await status('bob:kong'), 401, 'deleting the consumer')

  // invalidates credentials from cache when deleted
  await gw.admin$('POST', '/consumers', { username: 'bob' })
  const c = await gw.admin$('POST', '/consumers/bob/basic-auth', { username: 'bob', password: 'kong' })
  t.equal(await status('bob:kong'), 200)
  await gw.admin$('DELETE', `/consumers/bob/basic-auth/${c.id as string}`)
  t.equal(await status('bob:kong'), 401, 'deleting the credential')

  // invalidated credentials from cache when updated
  const c2 = await gw.admin$('POST', '/consumers/bob/basic-auth', { username: 'bob', password: 'kong' })
  t.equal(await status('bob:kong'), 200)
  await gw.admin$('PATCH', `/consumers/bob/basic-auth/${c2.id as string}`, { username: 'bob', password: 'kong-updated' })
  t.equal(await status('bob:kong'), 401, 'the old password')
  t.equal(await status('bob:kong-updated'), 200, 'the new password')
})
