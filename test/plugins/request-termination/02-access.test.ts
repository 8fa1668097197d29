// Kong 3.2.2's spec/03-plugins/14-request-termination/02-access_spec.lua (13 of its 14
// cases) and 03-integration_spec.lua (its 1 case), through a real gateway to a real
// echoing upstream.
//
// Not ported, and why:
//   - 02-access_spec.lua "status code with default message #grpc": Tollgate proxies no gRPC.
import t from 'tap'
import { request } from 'undici'
import { startTestGateway, until, type TestGateway } from '../../helpers/gateway.js'
import { startMockUpstream } from '../../helpers/mock-upstream.js'

interface Answer { status: number, headers: Record<string, unknown>, text: string, json: any }

async function call (gw: TestGateway, host: string, path = '/status/200', opts: { headers?: Record<string, string>, body?: string } = {}): Promise<Answer> {
  const res = await request(`${gw.proxy}${path}`, { method: 'GET', headers: { host, ...opts.headers }, body: opts.body })
  const text = await res.body.text()
  let json: unknown
  try { json = JSON.parse(text) } catch { json = undefined }
  return { status: res.statusCode, headers: res.headers, text, json }
}

t.test('02-access_spec.lua "Plugin: request-termination (access)"', async (t) => {
  const gw = await startTestGateway(t)
  const up = await startMockUpstream(t)
  const port = Number(new URL(gw.proxy).port)
  await gw.admin$('POST', '/services', { name: 'mock', url: up.url })
  const configs: [string, Record<string, unknown>, boolean?][] = [
    ['api1.request-termination.com', {}],
    ['api2.request-termination.com', { status_code: 404 }],
    ['api3.request-termination.com', { status_code: 406, message: 'Invalid' }],
    ['api4.request-termination.com', { body: '<html><body><h1>Service is down for maintenance</h1></body></html>' }],
    ['api5.request-termination.com', { status_code: 451, content_type: 'text/html', body: '<html><body><h1>Service is down due to content infringement</h1></body></html>' }],
    ['api6.request-termination.com', { status_code: 503, body: '{"code": 1, "message": "Service unavailable"}' }],
    ['api7.request-termination.com', {}, true],
    ['api8.request-termination.com', { status_code: 204 }],
    ['api9.request-termination.com', { echo: true, status_code: 404 }],
    ['api10.request-termination.com', { echo: true, trigger: 'gimme-an-echo', status_code: 404 }],
  ]
  for (const [host, config, serviceless] of configs) {
    const route = await gw.admin$('POST', serviceless === true ? '/routes' : '/services/mock/routes', { hosts: [host] })
    await gw.admin$('POST', `/routes/${route.id as string}/plugins`, { name: 'request-termination', config })
  }

  // describe("status code and message")
  t.test('status code and message', async (t) => {
    // it("default status code and message")
    let r = await call(gw, 'api1.request-termination.com')
    t.same([r.status, r.json], [503, { message: 'Service unavailable' }], 'default status code and message')
    // it("default status code and message with serviceless route")
    r = await call(gw, 'api7.request-termination.com')
    t.same([r.status, r.json], [503, { message: 'Service unavailable' }], 'default status code and message with serviceless route')
    // it("status code with default message")
    r = await call(gw, 'api2.request-termination.com')
    t.same([r.status, r.json], [404, { message: 'Not found' }], 'status code with default message')
    // it("status code with custom message")
    r = await call(gw, 'api3.request-termination.com')
    t.same([r.status, r.json], [406, { message: 'Invalid' }], 'status code with custom message')
    // it("returns 204 without content length header")
    r = await call(gw, 'api8.request-termination.com', '/status/204')
    t.equal(r.status, 204)
    t.equal(r.headers['content-length'], undefined, 'returns 204 without content length header')
  })

  // describe("status code and body")
  t.test('status code and body', async (t) => {
    // it("default status code and body")
    let r = await call(gw, 'api4.request-termination.com')
    t.same([r.status, r.text], [503, '<html><body><h1>Service is down for maintenance</h1></body></html>'], 'default status code and body')
    // it("status code with default message")
    r = await call(gw, 'api5.request-termination.com')
    t.same([r.status, r.text], [451, '<html><body><h1>Service is down due to content infringement</h1></body></html>'])
    t.equal(r.headers['content-type'], 'text/html')
    // it("status code with custom message")
    r = await call(gw, 'api6.request-termination.com')
    t.same([r.status, r.json], [503, { code: 1, message: 'Service unavailable' }])
  })

  // it("returns server tokens with Server header")
  t.test('returns server tokens with Server header', async (t) => {
    const r = await call(gw, 'api1.request-termination.com')
    t.match(r.headers.server, /^tollgate\/\d+\.\d+\.\d+/)
  })

  // describe("echo & trigger")
  t.test('echo & trigger', async (t) => {
    const request = (host: string, extra: Record<string, string> = {}, query: Record<string, string> = {}) => ({
      headers: { 'content-length': '9', host, ...extra },
      host,
      method: 'GET',
      path: '/status/200',
      port,
      query: { hello: 'there', ...query },
      raw_body: 'cool body',
      scheme: 'http',
    })
    const echoed = (r: Answer): Record<string, unknown> => {
      const seen = { ...r.json.request }
      seen.headers = { ...seen.headers }
      // Kong's spec clears user-agent; undici sends connection, which Kong's client does not.
      delete seen.headers['user-agent']
      delete seen.headers.connection
      return seen
    }
    // it("echos a request if no trigger is set")
    let r = await call(gw, 'api9.request-termination.com', '/status/200?hello=there', { body: 'cool body' })
    t.equal(r.status, 404)
    t.equal(r.json.matched_route.hosts[0], 'api9.request-termination.com')
    t.same(echoed(r), request('api9.request-termination.com'), 'echos a request if no trigger is set')
    t.equal(r.json.message, 'Not found')
    t.match(r.json.kong, { node_id: /^[0-9a-f-]{36}$/, worker_pid: Number, hostname: String })

    // it("doesn't echo a request if the trigger is set but not specified")
    r = await call(gw, 'api10.request-termination.com')
    t.equal(r.status, 200, "doesn't echo a request if the trigger is set but not specified")

    // it("echos a request if the trigger is specified as a header")
    r = await call(gw, 'api10.request-termination.com', '/status/200?hello=there', { headers: { 'Gimme-An-Echo': 'anything will do' }, body: 'cool body' })
    t.equal(r.status, 404)
    t.equal(r.json.matched_route.hosts[0], 'api10.request-termination.com')
    t.same(echoed(r), request('api10.request-termination.com', { 'gimme-an-echo': 'anything will do' }), 'echos a request if the trigger is specified as a header')

    // it("echos a request if the trigger is specified as a query parameter")
    r = await call(gw, 'api10.request-termination.com', '/status/200?hello=there&gimme-an-echo=anything%20will%20do', { body: 'cool body' })
    t.equal(r.status, 404)
    t.equal(r.json.matched_route.hosts[0], 'api10.request-termination.com')
    t.same(echoed(r), request('api10.request-termination.com', {}, { 'gimme-an-echo': 'anything will do' }), 'echos a request if the trigger is specified as a query parameter')
  })
})

t.test('03-integration_spec.lua "Plugin: request-termination (integration)"', async (t) => {
  const gw = await startTestGateway(t)
  const up = await startMockUpstream(t)
  await gw.admin$('POST', '/services', { name: 'mock', url: up.url })
  await gw.admin$('POST', '/services/mock/routes', { hosts: ['api1.request-termination.com'] })
  await gw.admin$('POST', '/plugins', { name: 'key-auth' })
  const consumer = await gw.admin$('POST', '/consumers', { username: 'bob' })
  await gw.admin$('POST', '/consumers/bob/key-auth', { key: 'kong' })

  // it("can be applied on a consumer")
  t.test('can be applied on a consumer', async (t) => {
    const res = await request(`${gw.admin}/plugins`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'request-termination', consumer: { id: consumer.id } }),
    })
    await res.body.text()
    t.equal(res.statusCode, 201)
    let r: Answer | undefined
    await until(async () => (r = await call(gw, 'api1.request-termination.com', '/request', { headers: { apikey: 'kong' } })).status === 503, 'the consumer is terminated')
    t.same(r?.json, { message: 'Service unavailable' })
  })
})
