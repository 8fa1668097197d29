// Kong's spec/03-plugins/18-acl/02-access_spec.lua and 03-invalidations_spec.lua, through a
// real gateway to a real echoing upstream, with key-auth identifying consumers. Kong's
// "ctx-checker" fixture plugin, which sets kong.ctx.shared.authenticated_groups from a
// request header, is rebuilt here as a test plugin. Kong 3.2's answers: no consumer is
// 401 "Unauthorized"; a consumer not allowed is 403 "You cannot consume this service".
import t from 'tap'
import { request } from 'undici'
import type { AnyPlugin } from '../../../core/runtime/plugin.js'
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js'
import { startMockUpstream } from '../../helpers/mock-upstream.js'

/** Sets kong.ctx.shared.authenticated_groups from the x-authenticated-groups request header. */
const ctxChecker = {
  name: 'ctx-checker',
  version: '0.1.0',
  priority: 1000,
  schema: { type: 'object', properties: {}, additionalProperties: true },
  access (kong: any) {
    const h = kong.request.getHeader('x-authenticated-groups') as string | undefined
    if (h !== undefined) kong.ctx.shared.authenticated_groups = h.split(',').map((s: string) => s.trim())
  },
} as unknown as AnyPlugin

async function call (gw: TestGateway, host: string, headers: Record<string, string> = {}): Promise<{ status: number, json: any }> {
  const res = await request(`${gw.proxy}/request`, { headers: { host, ...headers } })
  const text = await res.body.text()
  let json: unknown
  try { json = JSON.parse(text) } catch { json = text }
  return { status: res.statusCode, json }
}

t.test('acl on the proxy', async (t) => {
  const gw = await startTestGateway(t, { plugins: [ctxChecker] })
  const up = await startMockUpstream(t)
  await gw.admin$('POST', '/services', { name: 'mock', url: up.url })
  const consumers: Record<string, string[]> = { consumer1: [], consumer2: ['admin'], consumer3: ['pro', 'hello'], consumer4: ['free', 'hello'] }
  for (const [name, groups] of Object.entries(consumers)) {
    await gw.admin$('POST', '/consumers', { username: name })
    await gw.admin$('POST', `/consumers/${name}/key-auth`, { key: `apikey-${name}` })
    for (const group of groups) await gw.admin$('POST', `/consumers/${name}/acls`, { group })
  }
  await gw.admin$('POST', '/consumers', { username: 'anonymous' })
  const routes: Array<[string, Record<string, unknown>, Record<string, unknown> | null, boolean?]> = [
    ['acl1.test', { allow: ['admin'] }, null],
    ['acl2.test', { allow: ['admin'] }, {}],
    ['acl3.test', { deny: ['admin'] }, {}],
    ['acl4.test', { allow: ['admin', 'pro'] }, {}],
    ['acl5.test', { deny: ['admin', 'pro'] }, {}],
    ['acl6.test', { deny: ['admin', 'pro', 'hello'] }, {}],
    ['acl7.test', { allow: ['admin', 'hello'] }, {}],
    ['acl8.test', { allow: ['admin'], hide_groups_header: true }, {}],
    ['acl9.test', { deny: ['admin'] }, null],
    ['acl10.test', { allow: ['admin'] }, null, true],
    ['acl11.test', { allow: ['admin'], hide_groups_header: true }, null, true],
    ['acl12.test', { deny: ['admin'] }, { anonymous: 'anonymous' }, true],
    ['acl13.test', { allow: ['admin'] }, { anonymous: 'anonymous' }, true],
  ]
  for (const [host, config, keyAuth, ctx] of routes) {
    const route = await gw.admin$('POST', '/services/mock/routes', { hosts: [host] })
    await gw.admin$('POST', `/routes/${route.id as string}/plugins`, { name: 'acl', config })
    if (keyAuth !== null) await gw.admin$('POST', `/routes/${route.id as string}/plugins`, { name: 'key-auth', config: keyAuth })
    if (ctx === true) await gw.admin$('POST', `/routes/${route.id as string}/plugins`, { name: 'ctx-checker' })
  }
  const key = (c: string): Record<string, string> => ({ apikey: `apikey-${c}` })
  const groups = (g: string): Record<string, string> => ({ 'x-authenticated-groups': g })

  t.test('Simple lists', async (t) => {
    // should fail when an authentication plugin is missing
    let r = await call(gw, 'acl1.test')
    t.same([r.status, r.json.message], [401, 'Unauthorized'])
    r = await call(gw, 'acl9.test')
    t.same([r.status, r.json.message], [401, 'Unauthorized'], 'deny list too')
    // should fail when not allowed
    r = await call(gw, 'acl2.test', key('consumer1'))
    t.same([r.status, r.json.message], [403, 'You cannot consume this service'])
    // should fail when not allowed with authenticated groups
    r = await call(gw, 'acl10.test', groups('foo'))
    t.same([r.status, r.json.message], [403, 'You cannot consume this service'])
    // should work when allowed (and with authenticated groups)
    r = await call(gw, 'acl2.test', key('consumer2'))
    t.same([r.status, r.json.headers['x-consumer-groups']], [200, 'admin'])
    r = await call(gw, 'acl10.test', groups('admin'))
    t.same([r.status, r.json.headers['x-authenticated-groups']], [200, 'admin'])
    // should not send x-consumer-groups / x-authenticated-groups header when hide_groups_header flag true
    r = await call(gw, 'acl8.test', key('consumer2'))
    t.same([r.status, r.json.headers['x-consumer-groups']], [200, undefined])
    r = await call(gw, 'acl11.test', groups('admin'))
    t.equal(r.status, 200)
    t.equal(r.json.headers['x-authenticated-groups'], 'admin', 'the client\'s own header is not removed')
    // should work when not denied (and with authenticated groups)
    r = await call(gw, 'acl3.test', key('consumer1'))
    t.same([r.status, r.json.headers['x-consumer-groups']], [200, ''], 'a consumer without groups passes a deny list')
    t.equal((await call(gw, 'acl12.test', groups('foo'))).status, 200)
    // should fail when denied (and with authenticated groups)
    r = await call(gw, 'acl3.test', key('consumer2'))
    t.same([r.status, r.json.message], [403, 'You cannot consume this service'])
    t.equal((await call(gw, 'acl12.test', groups('admin'))).status, 403)
  })

  t.test('Multi lists', async (t) => {
    // should work when allowed; should fail when not allowed
    let r = await call(gw, 'acl4.test', key('consumer2'))
    t.same([r.status, r.json.headers['x-consumer-groups']], [200, 'admin'])
    r = await call(gw, 'acl4.test', key('consumer3'))
    // The consumer's groups in store order, as Kong's are in database order.
    const sorted = (h: string): string => h.split(', ').sort().join(', ')
    t.same([r.status, sorted(r.json.headers['x-consumer-groups'])], [200, 'hello, pro'])
    t.equal((await call(gw, 'acl4.test', key('consumer4'))).status, 403)
    // should fail when denied; should work when not denied
    t.equal((await call(gw, 'acl5.test', key('consumer2'))).status, 403)
    t.equal((await call(gw, 'acl5.test', key('consumer3'))).status, 403)
    r = await call(gw, 'acl5.test', key('consumer4'))
    t.same([r.status, sorted(r.json.headers['x-consumer-groups'])], [200, 'free, hello'])
    // should not work when one of the ACLs denied; should work when one of the ACLs is allowed
    t.equal((await call(gw, 'acl6.test', key('consumer4'))).status, 403)
    t.equal((await call(gw, 'acl7.test', key('consumer4'))).status, 200)
  })

  t.test('Permits / Forbids with', async (t) => {
    // authenticated consumer even when authorized groups are present
    t.equal((await call(gw, 'acl13.test', { ...key('consumer2'), ...groups('foo') })).status, 200)
    t.equal((await call(gw, 'acl13.test', { ...key('consumer1'), ...groups('admin') })).status, 403)
    // authorized groups even when anonymous consumer is present
    let r = await call(gw, 'acl13.test', groups('admin'))
    t.same([r.status, r.json.headers['x-authenticated-groups']], [200, 'admin'])
    r = await call(gw, 'acl13.test', groups('foo'))
    t.equal(r.status, 403)
  })
})

t.test('anonymous: without authentication / with authentication without groups / with group', async (t) => {
  const gw = await startTestGateway(t)
  const up = await startMockUpstream(t)
  await gw.admin$('POST', '/services', { name: 'mock', url: up.url })
  await gw.admin$('POST', '/consumers', { username: 'anonymous' })
  await gw.admin$('POST', '/consumers', { username: 'anonymous_with_group' })
  await gw.admin$('POST', '/consumers/anonymous_with_group/acls', { group: 'everyone' })
  const routes: Array<[string, Record<string, unknown>, string | null]> = [
    ['allow-everyone.test', { allow: ['everyone'] }, null],
    ['allow-everyone-anonymous.test', { allow: ['everyone'] }, 'anonymous'],
    ['deny-everyone-anonymous.test', { deny: ['everyone'] }, 'anonymous'],
    ['allow-everyone-anonymous-with-group.test', { allow: ['everyone'] }, 'anonymous_with_group'],
    ['deny-everyone-anonymous-with-group.test', { deny: ['everyone'] }, 'anonymous_with_group'],
  ]
  for (const [host, config, anonymous] of routes) {
    const route = await gw.admin$('POST', '/services/mock/routes', { hosts: [host] })
    await gw.admin$('POST', `/routes/${route.id as string}/plugins`, { name: 'acl', config })
    if (anonymous !== null) await gw.admin$('POST', `/routes/${route.id as string}/plugins`, { name: 'key-auth', config: { anonymous } })
  }
  // without authentication: returns 401
  let r = await call(gw, 'allow-everyone.test')
  t.same([r.status, r.json.message], [401, 'Unauthorized'])
  // with authentication without groups: returns 401 with allow groups; returns 200 with deny groups
  r = await call(gw, 'allow-everyone-anonymous.test')
  t.same([r.status, r.json.message], [401, 'Unauthorized'], 'the anonymous consumer has no credential')
  t.equal((await call(gw, 'deny-everyone-anonymous.test')).status, 200)
  // with authentication with group: returns 200; returns 403
  t.equal((await call(gw, 'allow-everyone-anonymous-with-group.test')).status, 200)
  r = await call(gw, 'deny-everyone-anonymous-with-group.test')
  t.same([r.status, r.json.message], [403, 'You cannot consume this service'])
})

// spec/03-plugins/18-acl/03-invalidations_spec.lua, and 02-access "Real-world usage: should
// not fail when multiple rules are set fast".
t.test('groups follow acl changes from the next request', async (t) => {
  const gw = await startTestGateway(t)
  const up = await startMockUpstream(t)
  await gw.admin$('POST', '/services', { name: 'mock', url: up.url })
  const route = await gw.admin$('POST', '/services/mock/routes', { hosts: ['acl.test'] })
  await gw.admin$('POST', `/routes/${route.id as string}/plugins`, { name: 'key-auth' })
  await gw.admin$('POST', `/routes/${route.id as string}/plugins`, { name: 'acl', config: { allow: ['admin'] } })
  await gw.admin$('POST', '/consumers', { username: 'consumer1' })
  await gw.admin$('POST', '/consumers/consumer1/key-auth', { key: 'apikey123' })
  const status = async (): Promise<number> => (await call(gw, 'acl.test', { apikey: 'apikey123' })).status
  t.equal(await status(), 403)
  // should invalidate when ACL entity is created / updated / deleted
  const a = await gw.admin$('POST', '/consumers/consumer1/acls', { group: 'admin' })
  t.equal(await status(), 200, 'created')
  await gw.admin$('PATCH', `/consumers/consumer1/acls/${a.id as string}`, { group: 'not-admin' })
  t.equal(await status(), 403, 'updated')
  await gw.admin$('PATCH', '/consumers/consumer1/acls/not-admin', { group: 'admin' })
  t.equal(await status(), 200)
  await gw.admin$('DELETE', '/consumers/consumer1/acls/admin')
  t.equal(await status(), 403, 'deleted')
  // should invalidate when Consumer entity is deleted
  await gw.admin$('POST', '/consumers/consumer1/acls', { group: 'admin' })
  t.equal(await status(), 200)
  await gw.admin$('DELETE', '/consumers/consumer1')
  t.equal(await status(), 401, 'the key went with the consumer')
  // Real-world usage: a new route, plugin and acl, used at once
  await gw.admin$('POST', '/consumers', { username: 'consumer2' })
  await gw.admin$('POST', '/consumers/consumer2/key-auth', { key: 'secret123' })
  for (let i = 1; i <= 5; i++) {
    const r = await gw.admin$('POST', '/services/mock/routes', { hosts: [`acl-fast-${i}.test`] })
    await gw.admin$('POST', `/routes/${r.id as string}/plugins`, { name: 'key-auth' })
    await gw.admin$('POST', `/routes/${r.id as string}/plugins`, { name: 'acl', config: { allow: [`admin${i}`] } })
    await gw.admin$('POST', '/consumers/consumer2/acls', { group: `admin${i}` })
    t.equal((await call(gw, `acl-fast-${i}.test`, { apikey: 'secret123' })).status, 200, `rule ${i}`)
  }
})
