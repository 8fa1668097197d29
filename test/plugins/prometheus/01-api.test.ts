// Kong's spec/03-plugins/26-prometheus/01-api_spec.lua (3.2.2), against a real gateway's
// Admin API. Each test names the `it(...)` it mirrors.
// Not ported: the pending "prometheus plugin cannot be configured" (with no
// 'prometheus_metrics' shm): pending in Kong too, and Tollgate always declares the
// dictionary (core/shm/sizes.ts), as Kong always injects it.
import t from 'tap'
import { request } from 'undici'
import { startTestGateway } from '../../helpers/gateway.js'

t.test('with \'prometheus_metrics\' defined: it("prometheus plugin can be configured")', async (t) => {
  const gw = await startTestGateway(t)
  const res = await request(`${gw.admin}/plugins`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'prometheus' }),
  })
  const body = await res.body.json() as Record<string, any>
  t.equal(res.statusCode, 201)
  // Kong 3.x's defaults: every high-cardinality metric off.
  t.same(body.config, { per_consumer: false, status_code_metrics: false, latency_metrics: false, bandwidth_metrics: false, upstream_health_metrics: false })
})
