import { TOLLGATE_VERSION, type AdminRoute, type PluginDescriptor } from '@tollgate/sdk'
import { collect } from './exporter.js'
import { configure, log } from './handler.js'
import { PrometheusSchema } from './schema.js'

const metrics: AdminRoute = {
  method: 'GET',
  path: '/metrics',
  summary: "The node's metrics in Prometheus's text format (plugin prometheus)",
  // Kong serves it on the Status API too (status_api.lua): what Prometheus should scrape.
  statusApi: true,
  handler: (_req, ctx) => ({ headers: { 'content-type': 'text/plain; charset=UTF-8' }, body: collect(ctx) }),
}

/**
 * prometheus: Kong's metrics (kong_http_requests_total, latency histograms, bandwidth,
 * upstream target health, connections, datastore, memory) for the whole node, every worker
 * process counted, on the Admin API's and the Status API's /metrics.
 */
export const prometheus: PluginDescriptor<typeof PrometheusSchema> = {
  name: 'prometheus',
  version: TOLLGATE_VERSION,
  // Kong 3.2's: the lowest but one, so its log sees what every other plugin did.
  priority: 13,
  schema: PrometheusSchema,
  log,
  configure,
  // Kong 3.x's defaults count nothing per request: then the log phase costs nothing.
  skipWhen: { log: (conf) => !conf.status_code_metrics && !conf.latency_metrics && !conf.bandwidth_metrics },
  admin: [metrics],
}

export default prometheus
