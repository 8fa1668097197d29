// One conformance suite, three runners: every PDK behaviour is run in-process and isolated
// in a worker thread, through a real gateway, and through the SDK's test kit, and all must
// give the same result: the kit must not pass what the gateway fails.
import { fileURLToPath } from 'node:url'
import { runPlugin, type UpstreamAnswer, type UpstreamRequestSeen } from '@tollgate/sdk'
import t, { type Test } from 'tap'
import { request } from 'undici'
import conformance from '../../fixtures/plugins/isolated/conformance.js'
import { startTestGateway, startUpstream, echo, type TestGateway } from '../../helpers/gateway.js'

// Compiled fixtures (npm test builds first): isolation workers load plain JS.
const fixture = (name: string): string => fileURLToPath(new URL(`../../../dist/test/fixtures/plugins/isolated/${name}.js`, import.meta.url))
const CASES = ['request-reads', 'upstream-writes', 'clear-query', 'exit-json', 'error-text', 'response-headers', 'body', 'consumer', 'phase-error', 'shared', 'noop', 'skip', 'rewrite', 'throw']
// 'shared' needs a second plugin (first.ts) around the conformance one; the kit runs one.
const KIT_CASES = CASES.filter((c) => c !== 'shared')
const PATH = (c: string): string => `/${c}/p%61th/../x?a=1&secret=s&b=two+words`
const HEADERS: [string, string][] = [['x-one', '1'], ['x-two', 'a'], ['x-two', 'b'], ['x-remove-me', 'r'], ['content-type', 'application/x-www-form-urlencoded'], ['accept', 'application/json']]
const BODY = 'f=1&g=2'
// Headers the connection or the clock decide, and first.ts's header, which the kit has no plugin for.
const UNSTABLE = /^(date|connection|keep-alive|transfer-encoding|x-kong-.*latency|x-kong-request-id|content-length)$/

interface Outcome { status: number, headers: Record<string, unknown>, body: string }

/** The body without what differs between any two requests (ids, ports). */
function stable (body: string): string {
  const suffix = body.endsWith('|filtered') ? '|filtered' : ''
  let parsed: Record<string, any>
  try { parsed = JSON.parse(body.slice(0, body.length - suffix.length)) } catch { return body.replace(/request_id: [0-9a-f]+/, 'request_id: -') }
  if (typeof parsed.request_id === 'string') parsed.request_id = '-'
  if (typeof parsed.headers === 'object' && parsed.headers !== null) {
    for (const k of ['host', 'x-forwarded-port', 'x-kong-request-id', 'connection']) delete parsed.headers[k]
    parsed.headers = Object.fromEntries(Object.entries(parsed.headers as Record<string, unknown>).sort(([a], [b]) => a < b ? -1 : 1))
    delete parsed.rawHeaders
  }
  return JSON.stringify(parsed) + suffix
}

async function runAll (gw: TestGateway): Promise<Map<string, Outcome>> {
  const out = new Map<string, Outcome>()
  for (const c of CASES) {
    const res = await request(`${gw.proxy}${PATH(c)}`, { method: 'POST', headers: HEADERS.flat(), body: BODY })
    const body = await res.body.text()
    out.set(c, { status: res.statusCode, headers: stableHeaders(res.headers), body: stable(body) })
  }
  return out
}

function stableHeaders (headers: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(headers)) if (!UNSTABLE.test(k)) out[k] = v
  return out
}

/** The echo upstream (helpers/gateway.ts) as data: what it answers to the request it got. */
function echoData (up: UpstreamRequestSeen): UpstreamAnswer {
  const headers: Record<string, string> = {}
  // node joins a repeated header's values, as the real echo receives them.
  for (const [k, v] of Object.entries(up.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v
  if (up.body !== undefined) headers['content-length'] = String(up.body.length)
  const body = JSON.stringify({ method: up.method, url: up.query === undefined ? up.path : `${up.path}?${up.query}`, headers, rawHeaders: [], bytes: up.body?.length ?? 0 })
  return { status: 200, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'x-upstream': 'yes', server: 'echo-upstream' }, body }
}

/** The same cases through the test kit, each on a route and service like the gateway's. */
async function runKit (): Promise<Map<string, Outcome & { error: string | undefined }>> {
  const out = new Map<string, Outcome & { error: string | undefined }>()
  const headers: Record<string, string | string[]> = { host: '127.0.0.1:8000' }
  for (const [k, v] of HEADERS) { const prev = headers[k]; headers[k] = prev === undefined ? v : [prev as string, v].flat() }
  for (const c of KIT_CASES) {
    const r = await runPlugin(conformance, {
      config: { case: c },
      route: { name: `r-${c}`, paths: [`/${c}`] },
      service: { name: 'svc' },
      entities: { consumers: [{ username: 'ada' }] },
      // The path as the gateway gets it: undici's client resolves the dot segments.
      request: { method: 'POST', path: new URL(PATH(c), 'http://x').href.slice('http://x'.length), headers, body: BODY },
      upstreamResponse: echoData,
    })
    out.set(c, { status: r.response.status, headers: stableHeaders(r.response.headers), body: stable(r.response.body.toString()), error: r.error })
  }
  return out
}

async function gatewayWith (t: Test, isolated: boolean): Promise<TestGateway> {
  const gw = await startTestGateway(t, {
    config: {
      plugins: `bundled,${fixture('conformance')},${fixture('first')}`,
      isolated_plugins: isolated ? 'conformance' : '',
      // Nothing here tests the timeout: the 2 s default would only fail a slow machine.
      isolation_timeout: '30000',
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
  // Global too, for its rewrite handler: rewrite runs before routing, global configs only.
  await gw.admin$('POST', '/plugins', { name: 'conformance', config: { case: 'noop' } })
  return gw
}

t.test('every PDK behaviour gives the same result in-process, isolated and in the test kit', async (t) => {
  const inProcess = await runAll(await gatewayWith(t, false))
  const isolated = await runAll(await gatewayWith(t, true))
  const kit = await runKit()
  for (const c of CASES) t.same(isolated.get(c), inProcess.get(c), `case ${c}: isolated`)
  for (const c of KIT_CASES) {
    const { error, ...outcome } = kit.get(c) as NonNullable<ReturnType<typeof kit.get>>
    const gateway = inProcess.get(c) as Outcome
    const { 'x-shared-seen': _, ...headers } = gateway.headers
    t.same(outcome, { ...gateway, headers }, `case ${c}: test kit`)
    t.equal(error, c === 'throw' ? 'the conformance plugin failed on purpose' : undefined, `case ${c}: the kit reports what failed`)
  }
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
  t.equal(JSON.parse(inProcess.get('phase-error')?.body ?? '{}').headers['x-error'], 'kong.response.getRawBody cannot be called in access phase (only in: body_filter)')
  t.equal(inProcess.get('noop')?.headers['x-header-filter'], 'ran')
  t.equal(inProcess.get('skip')?.headers['x-header-filter'], undefined, 'skipWhen kept headerFilter from running')
  t.equal(inProcess.get('skip')?.status, 200)
  t.match(inProcess.get('shared'), { headers: { 'x-shared-seen': 'first+conformance', 'x-plugin-ctx': 'kept' } }, 'ctx.shared crosses to and from the isolated plugin')
  t.equal(JSON.parse(inProcess.get('rewrite')?.body ?? '{}').headers['x-rw'], 'yes', 'kong.service.request in rewrite reaches the upstream')
  t.equal(JSON.parse(inProcess.get('noop')?.body ?? '{}').headers['x-rw'], undefined)
  t.match(inProcess.get('throw'), { status: 500, body: '{"message":"An unexpected error occurred","request_id":"-"}' })
})
