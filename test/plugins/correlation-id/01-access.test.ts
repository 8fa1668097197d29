// Kong's spec/03-plugins/11-correlation-id/01-access_spec.lua (3.2.2), through a real
// gateway to a real echoing upstream on 127.0.0.1. Each test names the `it(...)` it mirrors.
// Not ported: the #grpc case of "increments the counter part" (no gRPC proxying). Kong's
// error-generator-last test plugin is a throwing plugin defined below; Kong's
// request-termination on correlation5.com is key-auth here: any plugin that answers before
// correlation-id's access. The upstream "timeout" is a refused connection (502 either way).
import t from 'tap'
import { request } from 'undici'
import { definePlugin, Type } from '@tollgate/sdk'
import { closedPort, startTestGateway, type TestGateway } from '../../helpers/gateway.js'
import { startMockUpstream } from '../../helpers/mock-upstream.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const UUID_COUNTER = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}#(\d+)$/
// Kong's TRACKER_PATTERN: address-port-pid-connection-requests-seconds.millis
const TRACKER = /^\d+\.\d+\.\d+\.\d+-\d+-\d+-\d+-\d+-\d{10}\.\d{3}$/

// Kong's error-generator-last, access = true: a plugin that throws in access, last.
const errorLast = definePlugin({
  name: 'error-generator-last',
  version: '1.0.0',
  priority: -1000000,
  schema: Type.Object({}),
  access () { throw new Error('[error-generator-last] access') },
})

let gw: TestGateway

async function get (host: string, headers: Record<string, string> = {}): Promise<{ status: number, headers: Record<string, unknown>, json: any }> {
  const res = await request(`${gw.proxy}/request`, { headers: { host, ...headers } })
  const text = await res.body.text()
  let json: unknown
  try { json = JSON.parse(text) } catch { json = text }
  return { status: res.statusCode, headers: res.headers, json }
}

t.before(async () => {
  gw = await startTestGateway(t, { plugins: [errorLast] })
  const up = await startMockUpstream(t)
  await gw.admin$('POST', '/services', { name: 'mock', url: up.url })
  await gw.admin$('POST', '/services', { name: 'dead', url: `http://127.0.0.1:${await closedPort()}` })
  const routes: [string, Record<string, unknown>, string?][] = [
    ['correlation1.com', {}],
    ['correlation2.com', { header_name: 'Foo-Bar-Id' }],
    ['correlation3.com', { generator: 'uuid', echo_downstream: true }],
    ['correlation-tracker.com', { generator: 'tracker' }],
    ['correlation5.com', { generator: 'uuid', echo_downstream: true }],
    ['correlation-timeout.com', { generator: 'uuid', echo_downstream: true }, 'dead'],
    ['correlation-error.com', { generator: 'uuid', echo_downstream: true }],
  ]
  for (const [host, config, service] of routes) {
    const route = await gw.admin$('POST', `/services/${service ?? 'mock'}/routes`, { hosts: [host] })
    await gw.admin$('POST', `/routes/${route.id as string}/plugins`, { name: 'correlation-id', config })
    if (host === 'correlation5.com') await gw.admin$('POST', `/routes/${route.id as string}/plugins`, { name: 'key-auth' })
    if (host === 'correlation-error.com') await gw.admin$('POST', `/routes/${route.id as string}/plugins`, { name: 'error-generator-last' })
  }
})

t.test('uuid-worker generator: it("increments the counter part")', async (t) => {
  const id1 = (await get('correlation1.com')).json.headers['kong-request-id'] as string
  const id2 = (await get('correlation1.com')).json.headers['kong-request-id'] as string
  t.match(id1, UUID_COUNTER)
  t.match(id2, UUID_COUNTER)
  t.not(id1, id2)
  // One process serves this gateway, as Kong's one test worker: the counter goes 1, 2.
  t.equal(UUID_COUNTER.exec(id1)?.[1], '1')
  t.equal(UUID_COUNTER.exec(id2)?.[1], '2')
  t.equal(id1.split('#')[0], id2.split('#')[0], 'one uuid per process')
})

t.test('uuid generator: it("generates a unique UUID for every request")', async (t) => {
  const id1 = (await get('correlation3.com')).json.headers['kong-request-id']
  const id2 = (await get('correlation3.com')).json.headers['kong-request-id']
  t.match(id1, UUID)
  t.match(id2, UUID)
  t.not(id1, id2)
})

t.test('tracker generator: it("generates a unique tracker id for every request")', async (t) => {
  const id1 = (await get('correlation-tracker.com')).json.headers['kong-request-id']
  const id2 = (await get('correlation-tracker.com')).json.headers['kong-request-id']
  t.match(id1, TRACKER)
  t.match(id2, TRACKER)
  t.not(id1, id2)
})

t.test('config options', async (t) => {
  t.test('it("echo_downstream sends uuid back to client")', async (t) => {
    const r = await get('correlation3.com')
    t.match(r.json.headers['kong-request-id'], UUID)
    t.equal(r.headers['kong-request-id'], r.json.headers['kong-request-id'])
  })
  t.test('it("echo_downstream sends uuid back to client even when upstream timeouts") (a refused connection: 502)', async (t) => {
    const r = await get('correlation-timeout.com')
    t.equal(r.status, 502)
    t.match(r.headers['kong-request-id'], UUID)
  })
  t.test('it("echo_downstream sends uuid back to client even there is a runtime error")', async (t) => {
    const r = await get('correlation-error.com')
    t.equal(r.status, 500)
    t.match(r.headers['kong-request-id'], UUID)
  })
  t.test('it("echo_downstream does not send uuid back to client if not asked")', async (t) => {
    const r = await get('correlation2.com')
    t.equal(r.status, 200)
    t.equal(r.headers['kong-request-id'], undefined)
    t.equal(r.headers['foo-bar-id'], undefined)
  })
  t.test('it("uses a custom header name")', async (t) => {
    const r = await get('correlation2.com')
    t.match(r.json.headers['foo-bar-id'], UUID_COUNTER)
  })
})

t.test('it("preserves an already existing header")', async (t) => {
  const r = await get('correlation2.com', { 'Foo-Bar-Id': 'foobar' })
  t.equal(r.json.headers['foo-bar-id'], 'foobar')
})

t.test('it("does not preserve an already existing empty header")', async (t) => {
  const r = await get('correlation2.com', { 'Foo-Bar-Id': '' })
  t.match(r.json.headers['foo-bar-id'], UUID_COUNTER)
})

t.test('it("does not preserve an already existing header with space only")', async (t) => {
  const r = await get('correlation2.com', { 'Foo-Bar-Id': ' ' })
  t.match(r.json.headers['foo-bar-id'], UUID_COUNTER)
})

t.test('it("executes with echo_downstream when access did not execute")', async (t) => {
  const r = await get('correlation5.com')
  t.equal(r.status, 401)
  t.match(r.headers['kong-request-id'], UUID)
})

t.test('it("echoes incoming with echo_downstream when access did not execute")', async (t) => {
  const r = await get('correlation5.com', { 'kong-request-id': 'my very personal id' })
  t.equal(r.status, 401)
  t.equal(r.headers['kong-request-id'], 'my very personal id')
})
