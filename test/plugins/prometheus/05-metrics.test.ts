// Kong's spec/03-plugins/26-prometheus/05-metrics_spec.lua (3.2.2): /metrics on the Admin
// API, a proxied request counted, and the Status API's /metrics reached through the proxy.
// Each test names the `it(...)` it mirrors.
// Ported with differences: Kong runs this over TLS (a https route, an `ssl` status_listen,
// services on https); Tollgate has no TLS listeners, so the same set-up is plain HTTP, with
// Kong's names (mock-ssl-service, status-api-ssl-route, ...) kept. Kong's dns_mock for
// mock.example.com and status.example.com is not needed: the names are only Host headers
// that routes match, and the services point at 127.0.0.1.
// Not ported: the custom_nginx.template and the status_access_log/status_error_log files
// (Kong-only); `#postgres`/`#off` strategies run once here.
import t from 'tap'
import { request } from 'undici'
import { startTestGateway } from '../../helpers/gateway.js'
import { startMockUpstream } from '../../helpers/mock-upstream.js'
import { ownConnections, pattern, scrape, scrapeUntil, statusUrl } from '../../helpers/prometheus-spec.js'

const connectionsLine = pattern('kong_nginx_connections_total{node_id="%UUID%",subsystem="http",state="%w+"} %d+')

t.test('Plugin: prometheus (metrics)', async (t) => {
  const gw = await startTestGateway(t, { config: { status_listen: '127.0.0.1:0' } })
  ownConnections(t)
  const up = await startMockUpstream(t)
  await gw.admin$('POST', '/services', { name: 'mock-ssl-service', url: up.url })
  await gw.admin$('POST', '/services/mock-ssl-service/routes', { name: 'mock-ssl-route', protocols: ['http'], hosts: ['mock.example.com'], paths: ['/'] })
  await gw.admin$('POST', '/services', { name: 'status-api-ssl-service', url: `${statusUrl(gw)}/metrics` })
  await gw.admin$('POST', '/services/status-api-ssl-service/routes', { name: 'status-api-ssl-route', protocols: ['http'], hosts: ['status.example.com'], paths: ['/metrics'] })
  await gw.admin$('POST', '/plugins', { name: 'prometheus', config: { status_code_metrics: true, latency_metrics: true, bandwidth_metrics: true, upstream_health_metrics: true } })

  await t.test('it("expose Nginx connection metrics by admin API #a1.1")', async (t) => {
    const body = await scrape(gw.admin)
    t.match(body, 'kong_nginx_metric_errors_total 0')
    t.match(body, connectionsLine)
  })

  await t.test('it("increments the count of proxied requests #p1.1")', async (t) => {
    const res = await request(`${gw.proxy}/status/400`, { headers: { host: 'mock.example.com' } })
    await res.body.dump()
    t.equal(res.statusCode, 400)
    const body = await scrapeUntil(gw.admin, 'http_requests_total{service="mock-ssl-service",route="mock-ssl-route",code="400",source="service",consumer=""} 1')
    t.match(body, 'kong_nginx_metric_errors_total 0')
  })

  await t.test('it("expose Nginx connection metrics by status API #s1.1")', async (t) => {
    const res = await request(`${gw.proxy}/metrics`, { headers: { host: 'status.example.com' } })
    const body = await res.body.text()
    t.equal(res.statusCode, 200)
    t.match(body, 'kong_nginx_metric_errors_total 0')
    t.match(body, connectionsLine)
  })
})
