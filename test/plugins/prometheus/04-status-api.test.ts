// Kong's spec/03-plugins/26-prometheus/04-status_api_spec.lua (3.2.2): the same metrics as
// 02-access, scraped from the Status API (status_listen), with upstream target health.
// Each test names the `it(...)` it mirrors; counts and health are polled for, never slept for.
// Not ported, and why:
//   - "increments the count for proxied grpc requests": no gRPC proxying in Tollgate.
//   - "adds subsystem label to upstream's target health metrics", and the
//     `kong_subsystem="stream"` line of "exposes Lua worker VM stats": no stream (TCP)
//     proxying, so no stream subsystem.
//   - Kong's custom_nginx.template and nginx_worker_processes = 1: Kong-only.
// Ported with differences:
//   - the unhealthy target is a closed 127.0.0.1 port (Kong's is its own Admin API port,
//     failing the probes with 404); the target that does not resolve is
//     `some-random-dns.invalid:80` (RFC 6761: answered NXDOMAIN at once, as the balancer
//     tests do) rather than Kong's `some-random-dns:80`.
//   - "does not log error ..." reads an in-memory error log rather than nginx's error.log.
//   - "exposes nginx timer metrics" is a todo: the plugin has no kong_nginx_timers.
import t, { type Test } from 'tap'
import { request } from 'undici'
import { closedPort, memoryLogger, startTestGateway } from '../../helpers/gateway.js'
import { startMockUpstream } from '../../helpers/mock-upstream.js'
import { GRANULAR, granularSwitch, metricsAndCommentsOnly, ownConnections, pattern, scrape, scrapeUntil, statusUrl } from '../../helpers/prometheus-spec.js'

const BAD_DNS = 'some-random-dns.invalid:80'

t.test('Plugin: prometheus (access via status API)', async (t) => {
  const { log, lines } = memoryLogger('error')
  const gw = await startTestGateway(t, { log, config: { status_listen: '127.0.0.1:0' } })
  ownConnections(t)
  const status = statusUrl(gw)
  const up = await startMockUpstream(t)
  const mock = `127.0.0.1:${up.port}`
  const dead = `127.0.0.1:${await closedPort()}`

  await gw.admin$('POST', '/upstreams', { name: 'mock-upstream-healthchecksoff' })
  await gw.admin$('POST', '/upstreams/mock-upstream-healthchecksoff/targets', { target: mock, weight: 1000 })
  await gw.admin$('POST', '/upstreams', {
    name: 'mock-upstream',
    healthchecks: {
      active: {
        concurrency: 10,
        healthy: { http_statuses: [200, 302], interval: 0.1, successes: 2 },
        http_path: '/status/200',
        https_verify_certificate: true,
        timeout: 1,
        type: 'http',
        unhealthy: { http_failures: 1, http_statuses: [429, 404, 500, 501, 502, 503, 504, 505], interval: 0.1, tcp_failures: 1, timeouts: 1 },
      },
      passive: {
        healthy: { http_statuses: [200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308], successes: 1 },
        type: 'http',
        unhealthy: { http_failures: 1, http_statuses: [429, 500, 503], tcp_failures: 1, timeouts: 1 },
      },
    },
  })
  await gw.admin$('POST', '/upstreams/mock-upstream/targets', { target: mock, weight: 1000 })
  await gw.admin$('POST', '/upstreams/mock-upstream/targets', { target: dead, weight: 1 })
  await gw.admin$('POST', '/upstreams/mock-upstream/targets', { target: BAD_DNS, weight: 1 })
  await gw.admin$('POST', '/services', { name: 'mock-service', host: 'mock-upstream', port: up.port, protocol: 'http' })
  await gw.admin$('POST', '/services/mock-service/routes', { name: 'http-route', protocols: ['http'], paths: ['/'], methods: ['GET'] })
  await gw.admin$('POST', '/plugins', { name: 'prometheus', config: { status_code_metrics: true, latency_metrics: true, bandwidth_metrics: true, upstream_health_metrics: true } })

  const get = async (path: string): Promise<number> => {
    const res = await request(`${gw.proxy}${path}`)
    await res.body.dump()
    return res.statusCode
  }
  /** Kong's four assertions on one address: `state` is 1, the three others 0. */
  const health = (upstream: string, target: string, address: string, state: string) => async (t: Test) => {
    const line = (s: string, v: number) => `kong_upstream_target_health{upstream="${upstream}",target="${target}",address="${address}",state="${s}",subsystem="http"} ${v}`
    const body = await scrapeUntil(status, line(state, 1))
    for (const other of ['healthchecks_off', 'healthy', 'unhealthy', 'dns_error']) if (other !== state) t.match(body, line(other, 0))
  }

  await t.test('it("increments the count for proxied requests")', async (t) => {
    t.equal(await get('/status/200'), 200)
    await scrapeUntil(status, 'http_requests_total{service="mock-service",route="http-route",code="200",source="service",consumer=""} 1')
    t.equal(await get('/status/400'), 400)
    // Kong scrapes once here: its scrape syncs the worker's counters first, as Tollgate's does.
    const body = await scrape(status)
    t.match(body, /kong_kong_latency_ms_bucket\{service="mock-service",route="http-route",le="\+Inf"\} +\d/)
    t.match(body, /kong_upstream_latency_ms_bucket\{service="mock-service",route="http-route",le="\+Inf"\} +\d/)
    t.match(body, /kong_request_latency_ms_bucket\{service="mock-service",route="http-route",le="\+Inf"\} +\d/)
    t.match(body, 'http_requests_total{service="mock-service",route="http-route",code="400",source="service",consumer=""} 1')
    t.match(body, /kong_bandwidth_bytes\{service="mock-service",route="http-route",direction="ingress",consumer=""\} \d+/)
    t.match(body, /kong_bandwidth_bytes\{service="mock-service",route="http-route",direction="egress",consumer=""\} \d+/)
  })

  await t.test('it("does not log error if no service was matched")', async (t) => {
    lines.length = 0
    const res = await request(`${gw.proxy}/no-route-match-in-kong`, { method: 'POST' })
    await res.body.dump()
    t.equal(res.statusCode, 404)
    await scrape(status)
    t.same(lines, [])
  })

  await t.test('it("does not log error during a scrape")', async (t) => {
    lines.length = 0
    await scrape(status)
    t.same(lines, [])
  })

  await t.test('it("scrape response has metrics and comments only")', async (t) => {
    const body = await scrape(status)
    await metricsAndCommentsOnly(t, body)
  })

  await t.test('it("exposes db reachability metrics")', async (t) => {
    t.match(await scrape(status), 'kong_datastore_reachable 1')
  })

  t.todo('it("exposes nginx timer metrics"): the plugin exports no kong_nginx_timers{state="running"|"pending"} (Kong 3.2 does)', async (t) => {
    const body = await scrape(status)
    t.match(body, /kong_nginx_timers\{state="running"\} \d+/)
    t.match(body, /kong_nginx_timers\{state="pending"\} \d+/)
  })

  await t.test('it("exposes upstream\'s target health metrics - healthchecks-off")', health('mock-upstream-healthchecksoff', mock, mock, 'healthchecks_off'))
  await t.test('it("exposes upstream\'s target health metrics - healthy")', health('mock-upstream', mock, mock, 'healthy'))
  await t.test('it("exposes upstream\'s target health metrics - unhealthy")', health('mock-upstream', dead, dead, 'unhealthy'))
  await t.test('it("exposes upstream\'s target health metrics - dns_error")', health('mock-upstream', BAD_DNS, '', 'dns_error'))

  await t.test('it("remove metrics from deleted upstreams")', async (t) => {
    await gw.admin$('DELETE', '/upstreams/mock-upstream-healthchecksoff')
    const body = await scrapeUntil(status, 'kong_upstream_target_health{upstream="mock-upstream-healthchecksoff"', { absent: true })
    t.notMatch(body, 'upstream="mock-upstream-healthchecksoff"')
  })

  await t.test('it("remove metrics from deleted targets")', async (t) => {
    await gw.admin$('DELETE', `/upstreams/mock-upstream/targets/${BAD_DNS}`)
    const body = await scrapeUntil(status, `kong_upstream_target_health{upstream="mock-upstream",target="${BAD_DNS}"`, { absent: true })
    t.match(body, `kong_upstream_target_health{upstream="mock-upstream",target="${mock}"`, 'the other targets stay')
  })

  await t.test('it("exposes Lua worker VM stats")', async (t) => {
    const body = await scrape(status)
    t.match(body, pattern('kong_memory_workers_lua_vms_bytes{node_id="%UUID%",pid="%d+",kong_subsystem="http"}'))
    t.match(body, 'kong_nginx_metric_errors_total 0')
    t.match(body, pattern('kong_node_info{node_id="%UUID%",version="%S+"} 1'))
  })

  await t.test('it("exposes lua_shared_dict metrics")', async (t) => {
    const body = await scrape(status)
    t.match(body, pattern('kong_memory_lua_shared_dict_total_bytes{node_id="%UUID%",shared_dict="prometheus_metrics",kong_subsystem="http"} %d+'))
    t.match(body, 'kong_nginx_metric_errors_total 0')
  })
})

for (const sw of Object.keys(GRANULAR)) {
  t.test(`Plugin: prometheus (access) granular metrics switch (status API): ${sw}`, (t) => granularSwitch(t, sw, statusUrl, { status_listen: '127.0.0.1:0' }))
}
