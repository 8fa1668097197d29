import { Buffer } from 'node:buffer'
import { connect, type Socket } from 'node:net'
import t from 'tap'
import { request } from 'undici'
import { startTestGateway, until } from '../../helpers/gateway.js'
import { startMockUpstream, type Echo } from '../../helpers/mock-upstream.js'
import { seen, testActor, testBasicAuth, testConf, testObserver } from '../../fixtures/plugins/test-plugins.js'

const plugins = [testBasicAuth, testConf, testObserver, testActor]

async function get (url: string, headers: Record<string, string> = {}, method = 'GET', body?: string) {
  const res = await request(url, { method: method as 'GET', headers, body })
  const text = await res.body.text()
  let json: any
  try { json = JSON.parse(text) } catch { json = undefined }
  return { status: res.statusCode, headers: res.headers, text, json }
}

t.test("Kong's scoping precedence picks one config per plugin", async (t) => {
  const gw = await startTestGateway(t, { plugins })
  const up = await startMockUpstream(t)
  const services = []
  for (let i = 0; i < 4; i++) services.push(await gw.admin$('POST', '/services', { name: `s${i}`, url: up.url }))
  const routes = []
  for (let i = 0; i < 4; i++) routes.push(await gw.admin$('POST', `/services/s${i}/routes`, { paths: [`/r${i}`] }))
  const consumers = []
  for (let i = 1; i <= 3; i++) {
    consumers.push(await gw.admin$('POST', '/consumers', { username: `c${i}` }))
    await gw.admin$('POST', `/consumers/c${i}/key-auth`, { key: `secret${i}` })
  }
  const [, r1, r2, r3] = routes
  const [, c2, c3] = consumers
  await gw.admin$('POST', '/plugins', { name: 'key-auth' })
  await gw.admin$('POST', '/plugins', { name: 'test-conf', config: { value: 1 } })
  await gw.admin$('POST', '/plugins', { name: 'test-conf', route: { id: r1.id }, service: { id: services[1].id }, config: { value: 2 } })
  await gw.admin$('POST', '/plugins', { name: 'test-conf', consumer: { id: c2.id }, config: { value: 3 } })
  await gw.admin$('POST', '/plugins', { name: 'test-conf', route: { id: r2.id }, consumer: { id: c2.id }, config: { value: 4 } })
  await gw.admin$('POST', '/plugins', { name: 'test-conf', route: { id: r3.id }, service: { id: services[3].id }, consumer: { id: c3.id }, config: { value: 5 } })
  const routeOnly = await gw.admin$('POST', '/plugins', { name: 'test-conf', route: { id: r3.id }, config: { value: 6 } })
  const conf = async (path: string, key: string): Promise<string> => ((await get(`${gw.proxy}${path}`, { apikey: key })).json as Echo).headers['x-conf'] as string
  t.equal(await conf('/r0', 'secret1'), '1', 'global')
  t.equal(await conf('/r1', 'secret1'), '2', 'route+service beats global')
  t.equal(await conf('/r0', 'secret2'), '3', 'consumer beats global')
  t.equal(await conf('/r2', 'secret2'), '4', 'route+consumer beats consumer')
  t.equal(await conf('/r3', 'secret3'), '5', 'route+service+consumer beats all')
  t.equal(await conf('/r3', 'secret1'), '6', 'route beats global')
  t.equal(await conf('/r0', 'secret3'), '1')
  await gw.admin$('PATCH', `/plugins/${routeOnly.id as string}`, { enabled: false })
  t.equal(await conf('/r3', 'secret1'), '1', 'a disabled config falls through to the next level')
})

t.test('logical AND and OR of two auth plugins (key-auth 1250, basic 1100)', async (t) => {
  const gw = await startTestGateway(t, { plugins })
  const up = await startMockUpstream(t)
  await gw.admin$('POST', '/services', { name: 's', url: up.url })
  const and = await gw.admin$('POST', '/services/s/routes', { hosts: ['logical-and.test'] })
  const or = await gw.admin$('POST', '/services/s/routes', { hosts: ['logical-or.test'] })
  const anonymous = await gw.admin$('POST', '/consumers', { username: 'Anonymous' })
  const mickey = await gw.admin$('POST', '/consumers', { username: 'Mickey' })
  await gw.admin$('POST', '/consumers/Mickey/key-auth', { key: 'Mouse' })
  const aladdin = await gw.admin$('POST', '/consumers', { username: 'Aladdin', custom_id: 'OpenSesame' })
  await gw.admin$('POST', `/routes/${and.id as string}/plugins`, { name: 'key-auth' })
  await gw.admin$('POST', `/routes/${and.id as string}/plugins`, { name: 'test-basic-auth' })
  await gw.admin$('POST', `/routes/${or.id as string}/plugins`, { name: 'key-auth', config: { anonymous: anonymous.id } })
  await gw.admin$('POST', `/routes/${or.id as string}/plugins`, { name: 'test-basic-auth', config: { anonymous: anonymous.id } })
  const basic = `Basic ${Buffer.from('Aladdin:OpenSesame').toString('base64')}`
  const call = (host: string, h: Record<string, string>) => get(`${gw.proxy}/request`, { host, ...h })

  let r = await call('logical-and.test', { apikey: 'Mouse', authorization: basic })
  t.equal(r.status, 200)
  t.equal(r.json.headers['x-consumer-id'], aladdin.id, 'the last auth plugin to run sets the consumer')
  t.notOk('x-anonymous-consumer' in r.json.headers)
  r = await call('logical-and.test', { apikey: 'Mouse' })
  t.same([r.status, r.headers['www-authenticate']], [401, 'Basic realm="service"'])
  r = await call('logical-and.test', { authorization: basic })
  t.same([r.status, r.headers['www-authenticate']], [401, 'Key'])
  t.equal((await call('logical-and.test', {})).status, 401)

  r = await call('logical-or.test', { apikey: 'Mouse', authorization: basic })
  t.equal(r.status, 200)
  t.not(r.json.headers['x-consumer-id'], anonymous.id)
  r = await call('logical-or.test', { apikey: 'Mouse' })
  t.same([r.status, r.json.headers['x-consumer-id']], [200, mickey.id])
  t.notOk('x-anonymous-consumer' in r.json.headers)
  r = await call('logical-or.test', { authorization: basic })
  t.same([r.status, r.json.headers['x-consumer-id']], [200, aladdin.id])
  t.notOk('x-anonymous-consumer' in r.json.headers, 'basic-auth cleared the anonymous marker')
  r = await call('logical-or.test', {})
  t.same([r.status, r.json.headers['x-consumer-id'], r.json.headers['x-anonymous-consumer']], [200, anonymous.id, 'true'])
})

t.test('short-circuits, errors and the phases that still run', async (t) => {
  const gw = await startTestGateway(t, { plugins })
  const up = await startMockUpstream(t)
  await gw.admin$('POST', '/services', { name: 's', url: up.url })
  const routeFor = async (action: string): Promise<void> => {
    const r = await gw.admin$('POST', '/services/s/routes', { paths: [`/${action}`] })
    await gw.admin$('POST', `/routes/${r.id as string}/plugins`, { name: 'test-actor', config: { action } })
  }
  for (const a of ['exit', 'exit-text', 'throw', 'async', 'echo-body', 'rewrite-upstream', 'misuse']) await routeFor(a)
  await gw.admin$('POST', '/services/s/routes', { paths: ['/plain'] })
  await gw.admin$('POST', '/plugins', { name: 'test-observer', config: { suffix: '<<tail>>' } })
  const keyAuthRoute = await gw.admin$('POST', '/services/s/routes', { paths: ['/locked'] })
  await gw.admin$('POST', `/routes/${keyAuthRoute.id as string}/plugins`, { name: 'key-auth' })

  seen.length = 0
  let r = await get(`${gw.proxy}/exit`)
  t.equal(r.status, 418)
  t.equal(r.headers['x-exit'], '1')
  t.equal(r.headers['content-type'], 'application/json; charset=utf-8')
  t.equal(r.text, '{"teapot":true}<<tail>>', 'body_filter ran on the exit body')
  t.equal(r.headers['x-observed'], 'exit', 'header_filter ran, source exit')
  t.equal(r.headers['x-set-in-access'], undefined, 'later access handlers were skipped')
  t.equal(r.headers['content-length'], String(Buffer.byteLength(r.text)), 'the length follows the filtered body')
  t.match(r.headers['x-kong-response-latency'], /^\d+$/)
  t.notOk('via' in r.headers)
  // The log phase runs once the response is sent, so it may trail the client's read.
  await until(() => seen.some((s) => s.phase === 'log'), 'the log phase')
  t.match(seen.find((s) => s.phase === 'log'), { source: 'exit', serialized: { response: { status: 418 }, request: { method: 'GET' } } }, 'log ran')
  t.type((seen.find((s) => s.phase === 'log') as any)?.serialized?.response?.size, 'number', 'response.size is a number, as Kong\'s')

  r = await get(`${gw.proxy}/exit-text`)
  t.same([r.status, r.text], [200, 'plain words<<tail>>'])

  seen.length = 0
  r = await get(`${gw.proxy}/throw`, { accept: 'application/json' })
  t.equal(r.status, 500)
  t.match(r.text, /^\{\n {2}"message":"An unexpected error occurred",\n {2}"request_id":"[0-9a-f]{32}"\n\}<<tail>>$/)
  t.equal(r.headers['x-observed'], 'error', 'header_filter ran after the error, source error')
  await until(() => seen.some((s) => s.phase === 'log'), 'the log phase after the error')
  t.ok(seen.some((s) => s.phase === 'log' && s.source === 'error'), 'log ran after the error')

  r = await get(`${gw.proxy}/locked/x`, { accept: 'text/plain' })
  t.equal(r.status, 401)
  t.match(r.text, /^No API key found in request\nrequest_id: [0-9a-f]{32}\n<<tail>>$/, 'key-auth 401 in text, then body_filter')
  t.equal(r.headers['x-observed'], 'exit')

  r = await get(`${gw.proxy}/async`)
  t.equal(r.json === undefined, true, 'the proxied body had a suffix appended, so it is no longer JSON')
  t.match(r.text, /"x-async":"done"/, 'an async access handler was awaited before proxying')
  t.equal(r.headers['x-observed'], 'service')
  t.equal(r.headers['x-set-in-access'], 'yes', 'a header set in access reaches the proxied response')
  t.equal(r.headers['x-shared'], 'true', 'kong.ctx.shared carries from access to header_filter')

  r = await get(`${gw.proxy}/echo-body`, { 'content-type': 'application/x-www-form-urlencoded' }, 'POST', 'a=1&b=2&b=3')
  t.same(JSON.parse(r.text.replace('<<tail>>', '')), { body: { a: '1', b: ['2', '3'] }, mime: 'application/x-www-form-urlencoded', raw: 'a=1&b=2&b=3' })

  r = await get(`${gw.proxy}/rewrite-upstream?q=1`, { 'content-type': 'text/plain' }, 'POST', 'ignored')
  const echo = JSON.parse(r.text.replace('<<tail>>', '')) as Echo
  t.equal(echo.vars.request_uri, '/rewritten?a=1&a=x%20y&b=2', 'path and sorted, encoded query')
  t.equal(echo.vars.request_method, 'PUT')
  t.equal(echo.post_data.text, '{"z":1,"a":"b"}')
  t.equal(echo.headers['content-type'], 'application/json')

  r = await get(`${gw.proxy}/misuse`)
  const m = JSON.parse(r.text.replace('<<tail>>', '')) as Echo
  t.equal(m.headers['x-phase-error'], 'kong.response.getRawBody cannot be called in access phase (only in: body_filter)')
  t.equal(m.headers['x-arg-error'], 'kong.client.authenticate: either credential or consumer must be provided')
  t.equal(r.headers['x-hf-phase-error'], 'kong.service.request.setHeader cannot be called in header_filter phase (only in: rewrite, access)')

  seen.length = 0
  r = await get(`${gw.proxy}/no-route-here`)
  t.equal(r.status, 404)
  t.equal(r.headers['x-observed'], 'exit', 'global plugins run header_filter on a no-route 404')
})

t.test('kong.client.getIp/getPort and kong.request.getPort: per connection, over keep-alive', async (t) => {
  // The proxy reads a connection's addresses once, when it is accepted (server.ts).
  const gw = await startTestGateway(t, { plugins })
  const up = await startMockUpstream(t)
  await gw.admin$('POST', '/services', { name: 's', url: up.url })
  await gw.admin$('POST', '/services/s/routes', { paths: ['/who'] })
  await gw.admin$('POST', '/plugins', { name: 'test-observer' })
  const proxyPort = Number(new URL(gw.proxy).port)
  /** Sends `count` keep-alive requests on one connection; resolves with each x-client. */
  const ask = (count: number): Promise<{ local: number, answers: string[] }> => new Promise((resolve, reject) => {
    const s: Socket = connect(proxyPort, '127.0.0.1')
    let text = ''
    const answers: string[] = []
    const send = (): void => { s.write(`GET /who HTTP/1.1\r\nHost: x\r\n${answers.length === count - 1 ? 'Connection: close\r\n' : ''}\r\n`) }
    let local = -1
    s.once('connect', () => { local = s.localPort ?? -1; send() })
    s.on('data', (d: Buffer) => {
      text += d.toString('latin1')
      // One response at a time, read to the end of its body (the upstream sends a length).
      const headEnd = text.indexOf('\r\n\r\n')
      if (headEnd === -1) return
      const head = text.slice(0, headEnd)
      const length = /\r\ncontent-length: (\d+)/i.exec(head)
      const end = headEnd + 4 + Number(length?.[1] ?? 0)
      if (text.length < end) return
      answers.push(/\r\nx-client: ([^\r]*)/i.exec(head)?.[1] ?? '(none)')
      text = text.slice(end)
      if (answers.length < count) send()
    })
    s.on('end', () => resolve({ local, answers }))
    s.on('error', reject)
  })
  const a = await ask(3)
  t.same(a.answers, Array(3).fill(`127.0.0.1 ${a.local} ${proxyPort}`), 'the same peer on every request of a connection')
  const b = await ask(1)
  t.same(b.answers, [`127.0.0.1 ${b.local} ${proxyPort}`], 'a new connection, its own port')
  t.not(a.local, b.local)
})
