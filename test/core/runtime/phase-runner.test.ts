// The phase runner's own rules, through a real gateway: what rewrite may change before
// routing, and what a handler that throws synchronously does in each phase.
import { definePlugin, runPlugin, Type } from '@tollgate/sdk'
import t from 'tap'
import { request } from 'undici'
import { echo, memoryLogger, startTestGateway, startUpstream } from '../../helpers/gateway.js'

// Global, so its rewrite runs: it stamps a header and the method that routing then sees.
const stamper = definePlugin({
  name: 'stamper',
  version: '1.0.0',
  priority: 3000,
  schema: Type.Object({}),
  rewrite (kong) {
    if (kong.request.getHeader('x-want-v2') === 'yes') kong.service.request.setHeader('x-version', '2')
    if (kong.request.getHeader('x-as-post') === 'yes') kong.service.request.setMethod('POST')
  },
})

t.test('routing sees the headers and method rewrite left; other headers keep their repeats', async (t) => {
  const gw = await startTestGateway(t, { plugins: [stamper] })
  const up = await startUpstream(t, echo)
  await gw.admin$('POST', '/services', { name: 's', url: up.url })
  await gw.admin$('POST', '/services/s/routes', { name: 'v2', paths: ['/api'], headers: { 'x-version': ['2'] }, strip_path: false })
  await gw.admin$('POST', '/services/s/routes', { name: 'dup', paths: ['/api'], headers: { 'x-dup': ['b'] }, strip_path: false })
  await gw.admin$('POST', '/services/s/routes', { name: 'posts', paths: ['/posts'], methods: ['POST'], strip_path: false })
  await gw.admin$('POST', '/plugins', { name: 'stamper' })

  const v2 = await request(`${gw.proxy}/api`, { headers: { 'x-want-v2': 'yes', 'kong-debug': '1' } })
  const body = await v2.body.json() as { headers: Record<string, string> }
  t.equal(v2.statusCode, 200, 'the header set in rewrite matched the route')
  t.equal(body.headers['x-version'], '2', 'and went upstream')

  const none = await request(`${gw.proxy}/api`)
  t.equal(none.statusCode, 404, 'without it no route matches')
  await none.body.dump()

  // The second value of a repeated header still matches, with rewrite having changed others.
  const dup = await request(`${gw.proxy}/api`, { headers: [['x-dup', 'a'], ['x-dup', 'b'], ['x-want-v2', 'no']].flat() })
  t.equal(dup.statusCode, 200)
  await dup.body.dump()

  const post = await request(`${gw.proxy}/posts`, { headers: { 'x-as-post': 'yes' } })
  t.equal(post.statusCode, 200, 'the method set in rewrite matched a POST-only route')
  t.equal((await post.body.json() as { method: string }).method, 'POST')
})

const thrower = definePlugin({
  name: 'thrower',
  version: '1.0.0',
  priority: 10,
  schema: Type.Object({ in: Type.String() }),
  rewrite (_kong, conf) { if (conf.in === 'rewrite') throw new Error('rewrite broke') },
  headerFilter (kong, conf) {
    if (conf.in === 'header_filter') throw new Error('header_filter broke')
    kong.response.setHeader('x-after', 'ran')
  },
  bodyFilter (_kong, conf) { if (conf.in === 'body_filter') throw new Error('body_filter broke') },
  log (_kong, conf) { if (conf.in === 'log') throw new Error('log broke') },
})

t.test('a handler that throws: 500 before the response exists, logged and ignored after', async (t) => {
  const rewrite = await runPlugin(thrower, { config: { in: 'rewrite' }, request: { headers: { accept: 'application/json' } } })
  t.equal(rewrite.response.status, 500)
  t.match(JSON.parse(rewrite.response.body.toString()), { message: 'An unexpected error occurred' })
  t.equal(rewrite.response.headers['x-after'], 'ran', 'header_filter still ran on the error')
  t.equal(rewrite.upstream, undefined)
  t.equal(rewrite.error, 'rewrite broke')
  for (const phase of ['header_filter', 'body_filter', 'log']) {
    const r = await runPlugin(thrower, { config: { in: phase } })
    t.equal(r.response.status, 200, `${phase}: the response goes on`)
    t.equal(r.error, `${phase} broke`, `${phase}: the failure is reported`)
  }

  // And through a gateway: the log line names the plugin and phase.
  const { log, lines } = memoryLogger()
  const gw = await startTestGateway(t, { plugins: [thrower], log })
  const up = await startUpstream(t, echo)
  await gw.admin$('POST', '/services', { name: 's', url: up.url })
  await gw.admin$('POST', '/services/s/routes', { paths: ['/'] })
  await gw.admin$('POST', '/plugins', { name: 'thrower', config: { in: 'header_filter' } })
  const res = await request(`${gw.proxy}/`)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['x-after'], undefined)
  await res.body.dump()
  t.ok(lines.some((l) => /plugin thrower failed in header_filter/.test(String(l.msg))), 'logged with plugin and phase')
})

t.test("allow_debug_header: Kong's Kong-Debug headers name the route and service", async (t) => {
  const gw = await startTestGateway(t, { config: { allow_debug_header: 'on' } })
  const up = await startUpstream(t, echo)
  const s = await gw.admin$('POST', '/services', { name: 'dbg', url: up.url })
  const r = await gw.admin$('POST', '/services/dbg/routes', { name: 'dbg-route', paths: ['/dbg'] })
  const res = await request(`${gw.proxy}/dbg`, { headers: { 'kong-debug': '1' } })
  await res.body.dump()
  t.match(res.headers, { 'kong-route-id': r.id, 'kong-route-name': 'dbg-route', 'kong-service-id': s.id, 'kong-service-name': 'dbg', 'tollgate-worker': String(process.pid) })
  const plain = await request(`${gw.proxy}/dbg`)
  await plain.body.dump()
  t.equal(plain.headers['kong-route-id'], undefined, 'only when asked')
  const missing = await request(`${gw.proxy}/nowhere`, { headers: { 'kong-debug': '1' } })
  await missing.body.dump()
  t.equal(missing.statusCode, 404)
  t.equal(missing.headers['kong-route-id'], undefined, 'no route, no route id')
  t.equal(missing.headers['tollgate-worker'], String(process.pid))
})
