// Kong's spec/03-plugins/26-prometheus/02-access_spec.lua (3.2.2), through a real gateway to
// Tollgate's mock upstream, scraping the Admin API's /metrics. Each test names the `it(...)`
// it mirrors; counts are polled for (Kong's helpers.wait_until), never slept for.
// Not ported, and why:
//   - "increments the count for proxied grpc requests": no gRPC proxying in Tollgate.
//   - "increments the count for proxied TCP streams": no stream (TCP) proxying.
//   - the `kong_subsystem="stream"` lines of "exposes Lua worker VM stats": no stream
//     subsystem; its absence is what the "no stream listeners" cases check.
//   - Kong's custom_nginx.template: Kong-only (an nginx template).
// "does not log error ..." reads the gateway's error log from an in-memory logger rather
// than Kong's nginx error.log. The "no stream listeners" describe runs against the first
// describe's gateway: with no stream subsystem every Tollgate node is one.
import t, { type Test } from 'tap'
import { request } from 'undici'
import { memoryLogger, startTestGateway, type TestGateway } from '../../helpers/gateway.js'
import { startMockUpstream } from '../../helpers/mock-upstream.js'
import { GRANULAR, granularSwitch, metricsAndCommentsOnly, ownConnections, pattern, scrape, scrapeUntil } from '../../helpers/prometheus-spec.js'

const ALL_ON = { status_code_metrics: true, latency_metrics: true, bandwidth_metrics: true, upstream_health_metrics: true }

/** Kong's set-up: service mock-service to the mock upstream, GET route http-route on /. */
async function mockService (t: Test, gw: TestGateway): Promise<{ routeId: string, upstreamPort: number }> {
  const up = await startMockUpstream(t)
  await gw.admin$('POST', '/services', { name: 'mock-service', url: up.url })
  const route = await gw.admin$('POST', '/services/mock-service/routes', { name: 'http-route', protocols: ['http'], paths: ['/'], methods: ['GET'] })
  return { routeId: route.id as string, upstreamPort: up.port }
}

async function get (gw: TestGateway, path: string, headers: Record<string, string> = {}): Promise<number> {
  const res = await request(`${gw.proxy}${path}`, { headers })
  await res.body.dump()
  return res.statusCode
}

t.test('Plugin: prometheus (access)', async (t) => {
  const { log, lines } = memoryLogger('error')
  const gw = await startTestGateway(t, { log })
  ownConnections(t)
  await mockService(t, gw)
  await gw.admin$('POST', '/plugins', { name: 'prometheus', config: ALL_ON })

  await t.test('it("increments the count for proxied requests")', async (t) => {
    t.equal(await get(gw, '/status/200'), 200)
    let body = await scrapeUntil(gw.admin, 'http_requests_total{service="mock-service",route="http-route",code="200",source="service",consumer=""} 1')
    t.match(body, 'kong_nginx_metric_errors_total 0')
    t.equal(await get(gw, '/status/400'), 400)
    body = await scrapeUntil(gw.admin, 'http_requests_total{service="mock-service",route="http-route",code="400",source="service",consumer=""} 1')
    t.match(body, 'kong_nginx_metric_errors_total 0')
  })

  await t.test('it("does not log error if no service was matched")', async (t) => {
    lines.length = 0
    const res = await request(`${gw.proxy}/no-route-match-in-kong`, { method: 'POST' })
    await res.body.dump()
    // The route is GET only: no route, so no service, and nothing counted.
    t.equal(res.statusCode, 404)
    // Kong's "no [error] line": the log phase has run once the metrics are flushed by a scrape.
    await scrape(gw.admin)
    t.same(lines, [])
  })

  await t.test('it("does not log error during a scrape")', async (t) => {
    lines.length = 0
    const body = await scrape(gw.admin)
    t.same(lines, [])
    t.match(body, 'kong_nginx_metric_errors_total 0')
  })

  await t.test('it("scrape response has metrics and comments only")', async (t) => {
    const body = await scrape(gw.admin)
    await metricsAndCommentsOnly(t, body)
    t.match(body, 'kong_nginx_metric_errors_total 0')
  })

  await t.test('it("exposes db reachability metrics")', async (t) => {
    const body = await scrape(gw.admin)
    t.match(body, 'kong_datastore_reachable 1')
    t.match(body, 'kong_nginx_metric_errors_total 0')
  })

  await t.test('it("exposes Lua worker VM stats")', async (t) => {
    const body = await scrape(gw.admin)
    t.match(body, pattern('kong_memory_workers_lua_vms_bytes{node_id="%UUID%",pid="%d+",kong_subsystem="http"} %d+'))
    t.match(body, 'kong_nginx_metric_errors_total 0')
  })

  await t.test('it("exposes lua_shared_dict metrics")', async (t) => {
    const body = await scrape(gw.admin)
    t.match(body, pattern('kong_memory_lua_shared_dict_total_bytes{node_id="%UUID%",shared_dict="prometheus_metrics",kong_subsystem="http"} %d+'))
    t.match(body, 'kong_nginx_metric_errors_total 0')
  })

  await t.test('it("does not expose per consumer metrics by default")', async (t) => {
    const body = await scrape(gw.admin)
    t.notMatch(body, 'http_consumer_status')
    t.match(body, 'kong_nginx_metric_errors_total 0')
  })

  await t.test('no stream listeners: it("exposes Lua worker VM stats only for http subsystem")', async (t) => {
    const body = await scrape(gw.admin)
    t.match(body, pattern('kong_memory_workers_lua_vms_bytes{node_id="%UUID%",pid="%d+",kong_subsystem="http"}'))
    t.notMatch(body, pattern('kong_memory_workers_lua_vms_bytes{node_id="%UUID%",pid="%d+",kong_subsystem="stream"}'))
    t.match(body, 'kong_nginx_metric_errors_total 0')
  })

  await t.test('no stream listeners: it("exposes lua_shared_dict metrics only for http subsystem")', async (t) => {
    const body = await scrape(gw.admin)
    t.match(body, pattern('kong_memory_lua_shared_dict_total_bytes{node_id="%UUID%",shared_dict="prometheus_metrics",kong_subsystem="http"} %d+'))
    t.notMatch(body, 'kong_subsystem="stream"')
    t.match(body, 'kong_nginx_metric_errors_total 0')
  })
})

t.test('Plugin: prometheus (access) per-consumer metrics', async (t) => {
  const gw = await startTestGateway(t)
  ownConnections(t)
  const { routeId } = await mockService(t, gw)
  await gw.admin$('POST', '/plugins', { name: 'prometheus', config: { per_consumer: true, ...ALL_ON } })
  await gw.admin$('POST', `/routes/${routeId}/plugins`, { name: 'key-auth' })
  await gw.admin$('POST', '/consumers', { username: 'alice' })
  await gw.admin$('POST', '/consumers/alice/key-auth', { key: 'alice-key' })

  await t.test('it("increments the count for proxied requests")', async (t) => {
    t.equal(await get(gw, '/status/200', { apikey: 'alice-key' }), 200)
    let body = await scrapeUntil(gw.admin, 'http_requests_total{service="mock-service",route="http-route",code="200",source="service",consumer="alice"} 1')
    t.match(body, 'kong_nginx_metric_errors_total 0')
    t.equal(await get(gw, '/status/400', { apikey: 'alice-key' }), 400)
    body = await scrapeUntil(gw.admin, 'http_requests_total{service="mock-service",route="http-route",code="400",source="service",consumer="alice"} 1')
    t.match(body, 'kong_nginx_metric_errors_total 0')
  })

  await t.test('it("behave correctly if consumer is not found")', async (t) => {
    t.equal(await get(gw, '/status/200'), 401)
    const body = await scrapeUntil(gw.admin, 'http_requests_total{service="mock-service",route="http-route",code="401",source="kong",consumer=""} 1')
    t.match(body, 'http_requests_total{service="mock-service",route="http-route",code="200",source="service",consumer="alice"} 1')
    t.match(body, 'kong_nginx_metric_errors_total 0')
  })
})

for (const sw of Object.keys(GRANULAR)) {
  t.test(`Plugin: prometheus (access) granular metrics switch: ${sw}`, (t) => granularSwitch(t, sw, (gw) => gw.admin))
}
