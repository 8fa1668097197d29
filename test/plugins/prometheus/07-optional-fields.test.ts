// Kong's spec/03-plugins/26-prometheus/07-optional_fields_spec.lua (3.2.2): with the
// plugin disabled or removed, /metrics (on the Status API) keeps the node's own metrics
// and drops the per-request families. Each test names the `it(...)` it mirrors; as Kong's
// before_each, each case starts a fresh gateway.
// Not ported: Kong's cluster_cert/db_update_propagation/db_cache_ttl settings, the fixed
// proxy port 8000 and the custom_nginx.template (Kong-only; Tollgate applies an Admin API
// change to the next request and scrape); `#postgres`/`#off` strategies run once here.
import t, { type Test } from 'tap'
import { request } from 'undici'
import { startTestGateway, until } from '../../helpers/gateway.js'
import { startMockUpstream } from '../../helpers/mock-upstream.js'
import { ownConnections, pattern, scrape, statusUrl } from '../../helpers/prometheus-spec.js'

const STATES = ['accepted', 'active', 'handled', 'reading', 'total', 'waiting', 'writing']
const HIGH_COST = ['kong_http_requests_total', 'kong_kong_latency_ms', 'kong_upstream_latency_ms', 'kong_request_latency_ms', 'kong_bandwidth_bytes']

/** Kong's assert_normal_metrics: the node's metrics, there whatever the plugin does. */
function normalMetrics (body: string): boolean {
  return body.includes('kong_memory_lua_shared_dict_bytes') &&
    STATES.every((s) => pattern(`kong_nginx_connections_total{node_id="%UUID%",subsystem="http",state="${s}"} %d+`).test(body))
}

async function setUp (t: Test): Promise<{ status: string, prometheusId: string, admin$: (method: string, path: string, body?: unknown) => Promise<any> }> {
  const gw = await startTestGateway(t, { config: { status_listen: '127.0.0.1:0' } })
  ownConnections(t)
  const up = await startMockUpstream(t)
  await gw.admin$('POST', '/upstreams', { name: 'mock_upstream', algorithm: 'least-connections' })
  await gw.admin$('POST', '/upstreams/mock_upstream/targets', { target: `127.0.0.1:${up.port}`, weight: 100 })
  await gw.admin$('POST', '/services', { name: 'mock', host: 'mock_upstream' })
  await gw.admin$('POST', '/services/mock/routes', { hosts: ['mock'], protocols: ['http'], paths: ['/'] })
  const plugin = await gw.admin$('POST', '/plugins', { name: 'prometheus', config: { status_code_metrics: true, latency_metrics: true, bandwidth_metrics: true, upstream_health_metrics: true } })
  // Kong's pwait_until: the first proxied request, once it succeeds.
  await until(async () => {
    const res = await request(`${gw.proxy}/`, { headers: { host: 'mock' } })
    await res.body.dump()
    return res.statusCode === 200
  }, 'a 200 through the proxy')
  return { status: statusUrl(gw), prometheusId: plugin.id as string, admin$: gw.admin$ }
}

for (const method of ['disabling', 'removing']) {
  t.test(`Plugin: prometheus, on-demond export metrics: it("less metrics when ${method} prometheus")`, async (t) => {
    const { status, prometheusId, admin$ } = await setUp(t)
    let body = await scrape(status)
    t.ok(normalMetrics(body), 'the node\'s metrics')
    for (const v of HIGH_COST) t.match(body, v)

    if (method === 'disabling') await admin$('PATCH', `/plugins/${prometheusId}`, { enabled: false })
    else await admin$('DELETE', `/plugins/${prometheusId}`)

    await until(async () => {
      body = await scrape(status)
      return normalMetrics(body) && HIGH_COST.every((v) => !body.includes(v))
    }, `no per-request metrics after ${method} the plugin`)
    t.ok(normalMetrics(body), 'the node\'s metrics remain')
    for (const v of HIGH_COST) t.notMatch(body, v)
  })
}
