import { Type, type Static } from '@tollgate/sdk'

// Kong 3.2: kong/plugins/prometheus/schema.lua. The high-cardinality metrics are off by
// default since Kong 3.0; the plugin then counts nothing per request, and /metrics shows
// the node's own gauges.
export const PrometheusSchema = Type.Object({
  per_consumer: Type.Boolean({ default: false, description: 'Label http_requests_total and bandwidth_bytes with the consumer\'s username' }),
  status_code_metrics: Type.Boolean({ default: false, description: 'Count requests by service, route, status code and source (kong_http_requests_total)' }),
  latency_metrics: Type.Boolean({ default: false, description: 'Histograms of request, upstream and Kong latencies (kong_request_latency_ms, kong_upstream_latency_ms, kong_kong_latency_ms)' }),
  bandwidth_metrics: Type.Boolean({ default: false, description: 'Count request and response bytes (kong_bandwidth_bytes)' }),
  upstream_health_metrics: Type.Boolean({ default: false, description: "Export every upstream target address's health (kong_upstream_target_health)" }),
}, { additionalProperties: false })

export type PrometheusConfig = Static<typeof PrometheusSchema>
