// One conformance suite, two runners: every PDK behaviour is run in-process and isolated
// in a worker thread, through a real gateway, and both must give the same result.
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { request } from 'undici'
import { startTestGateway, startUpstream, echo, type TestGateway } from '../../helpers/gateway.js'

// Compiled fixtures (npm test builds first): isolation workers load plain JS.
const fixture = (name: string): string => fileURLToPath(new URL(`../../../dist/test/fixtures/plugins/isolated/${name}.js`, import.meta.url))
const CASES = ['request-reads', 'upstream-writes', 'clear-query', 'exit-json', 'error-text', 'response-headers', 'body', 'consumer', 'phase-error', 'shared', 'noop', 'skip']

interface Outcome { status: number, headers: Record<string, unknown>, body: string }

/** The body without what differs between any two requests (ids, ports). */
function stable (body: string): string {
  const suffix = body.endsWith('|filtered') ? '|filtered' : ''
  let parsed: Record<string, any>
  try { parsed = JSON.parse(body.slice(0, body.length - suffix.length)) } catch { return body.replace(/request_id: [0-9a-f]+/, 'request_id: -') }
  if (typeof parsed.request_id === 'string') parsed.request_id = '-'
  if (typeof parsed.headers === 'object' && parsed.headers !== null) {
    for (const k of ['host', 'x-forwarded-port', 'x-kong-request-id']) delete parsed.headers[k]
    delete parsed.rawHeaders
  }
  return JSON.stringify(parsed) + suffix
}

async function runAll (gw: TestGateway): Promise<Map<string, Outcome>> {
  const out = new Map<string, Outcome>()
  for (const c of CASES) {
    const res = await request(`${gw.proxy}/${c}/p%61th/../x?a=1&secret=s&b=two+words`, {
      method: 'POST',
      headers: [['x-one', '1'], ['x-two', 'a'], ['x-two', 'b'], ['x-remove-me', 'r'], ['content-type', 'application/x-www-form-urlencoded'], ['accept', 'application/json']].flat(),
      body: 'f=1&g=2',
    })
    const body = await res.body.text()
    const headers: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(res.headers)) if (!/^(date|x-kong-.*latency|x-kong-request-id|content-length)$/.test(k)) headers[k] = v
    out.set(c, { status: res.statusCode, headers, body: stable(body) })
  }
  return out
}

async function gatewayWith (t: Test, isolated: boolean): Promise<TestGateway> {
  const gw = await startTestGateway(t, {
    config: {
      plugins: `bundled,${fixture('conformance')},${fixture('first')}`,
      isolated_plugins: isolated ? 'conformance' : '',
    },
  })
  const up = await startUpstream(t, echo)
  await gw.admin$('POST', '/services', { name: 'svc', url: up.url })
  await gw.admin$('POST', '/consumers', { username: 'ada' })
  for (const c of CASES) {
    const route = await gw.admin$('POST', '/services/svc/routes', { name: `r-${c}`, paths: [`/${c}`] })
    await gw.admin$('POST', `/routes/${route.id as string}/plugins`, { name: 'conformance', config: { case: c } })
  }
  await gw.admin$('POST', '/plugins', { name: 'first' })
  return gw
}

t.test('every PDK behaviour gives the same result in-process and isolated', async (t) => {
  const inProcess = await runAll(await gatewayWith(t, false))
  const isolated = await runAll(await gatewayWith(t, true))
  for (const c of CASES) t.same(isolated.get(c), inProcess.get(c), `case ${c}`)
  // And the results are what the cases intend, so the two runners are not equal by both failing.
  const reads = JSON.parse(JSON.parse(inProcess.get('request-reads')?.body ?? '{}').headers['x-read'] as string)
  t.match(reads, { method: 'POST', path: '/request-reads/x', raw: '/request-reads/x', arg: '1', header: '1', dup: ['a', 'b'], route: 'r-request-reads', service: 'svc', ip: '127.0.0.1' })
  const writes = JSON.parse(inProcess.get('upstream-writes')?.body ?? '{}')
  t.match(writes, { method: 'PATCH', url: '/changed/path?a=x&a=y%20z&z=1', bytes: 8 })
  t.equal(writes.headers['x-multi'], 'one, two')
  t.notOk('x-remove-me' in writes.headers)
  t.equal(JSON.parse(inProcess.get('clear-query')?.body ?? '{}').url, '/x?a=1&b=two%20words')
  t.same([inProcess.get('exit-json')?.status, inProcess.get('exit-json')?.body], [418, '{"short":"stout"}'])
  t.match(inProcess.get('error-text'), { status: 403, body: /^Go away\nrequest_id: / })
  t.match(inProcess.get('response-headers'), { headers: { 'x-from-access': 'a', 'x-multi-resp': ['1', '2'], 'x-status-seen': '200' }, body: /\|filtered$/ })
  t.same(JSON.parse(JSON.parse(inProcess.get('body')?.body ?? '{}').headers['x-body'] as string), { body: { f: '1', g: '2' }, err: null, mime: 'application/x-www-form-urlencoded', raw: 'f=1&g=2' })
  t.equal(JSON.parse(inProcess.get('consumer')?.body ?? '{}').headers['x-consumer'], 'ada')
  t.equal(JSON.parse(inProcess.get('phase-error')?.body ?? '{}').headers['x-error'], 'kong.response.getRawBody cannot be called in access phase (only in: body_filter, log)')
  t.equal(inProcess.get('noop')?.headers['x-header-filter'], 'ran')
  t.equal(inProcess.get('skip')?.headers['x-header-filter'], undefined, 'skipWhen kept headerFilter from running')
  t.equal(inProcess.get('skip')?.status, 200)
  t.match(inProcess.get('shared'), { headers: { 'x-shared-seen': 'first+conformance', 'x-plugin-ctx': 'kept' } }, 'ctx.shared crosses to and from the isolated plugin')
})
