import type { ConfiguredPlugin, Kong, SharedDict } from '@tollgate/sdk'
import { DICT, FAMILIES, LocalMetrics, escapeLabel, type Family } from './metrics.js'
import type { PrometheusConfig } from './schema.js'

/** This process's increments since its last flush into the node's dictionary. */
export const local = new LocalMetrics()
/** The node's `prometheus_metrics` dictionary, as this process's handlers reach it. */
let dict: SharedDict | undefined
let timer: NodeJS.Timeout | undefined

/** Kong syncs each worker's counters into the shared dictionary every second. */
const SYNC_MS = 1000

const requests = FAMILIES.http_requests_total as Family
const bandwidth = FAMILIES.bandwidth_bytes as Family
const requestLatency = FAMILIES.request_latency_ms as Family
const upstreamLatency = FAMILIES.upstream_latency_ms as Family
const kongLatency = FAMILIES.kong_latency_ms as Family

/**
 * The `service="...",route="..."` label text of a route and its service, made once per
 * route entity object: a configuration change makes new objects, so a renamed service or
 * route gets new text. Requests without a route are rare (a rewrite-phase exit) and made
 * each time.
 */
const bases = new WeakMap<object, { service: object, text: string }>()
function baseLabels (service: { name?: string | null, host: string }, route: { name?: string | null, id: string } | undefined): string {
  if (route === undefined) return `service="${escapeLabel(service.name ?? service.host)}",route=""`
  const known = bases.get(route)
  if (known !== undefined && known.service === service) return known.text
  const text = `service="${escapeLabel(service.name ?? service.host)}",route="${escapeLabel(route.name ?? route.id)}"`
  bases.set(route, { service, text })
  return text
}

/** Adds this process's counts to the node's dictionary now. */
export function flush (): void {
  if (dict !== undefined && !local.empty) local.flush(dict)
}

/**
 * Kong's exporter.log: nothing is recorded for a request without a service (no route
 * matched, or a route without one); the labels are the service's name (or host), the
 * route's name (or id), and with per_consumer the consumer's username.
 */
export function log (kong: Kong, conf: PrometheusConfig): void {
  const service = kong.router.getService()
  if (service === undefined) return
  const route = kong.router.getRoute()
  if (dict === undefined) {
    dict = kong.shm(DICT)
    timer ??= setInterval(flush, SYNC_MS).unref()
  }
  const base = baseLabels(service, route)
  const consumer = conf.per_consumer ? escapeLabel(kong.client.getConsumer()?.username ?? '') : ''
  if (conf.bandwidth_metrics) {
    const sizes = kong.log.sizes()
    if (sizes.request > 0) local.inc(bandwidth.name, `${base},direction="ingress",consumer="${consumer}"`, sizes.request)
    if (sizes.response > 0) local.inc(bandwidth.name, `${base},direction="egress",consumer="${consumer}"`, sizes.response)
  }
  if (conf.status_code_metrics) {
    const source = kong.response.getSource() === 'service' ? 'service' : 'kong'
    local.inc(requests.name, `${base},code="${kong.response.getStatus()}",source="${source}",consumer="${consumer}"`, 1)
  }
  if (conf.latency_metrics) {
    const l = kong.log.latencies()
    if (l.request >= 0) local.observe(requestLatency, base, l.request)
    if (l.proxy !== null && l.proxy >= 0) local.observe(upstreamLatency, base, l.proxy)
    if (l.kong >= 0) local.observe(kongLatency, base, l.kong)
  }
}

/**
 * Starts nothing itself (the first request's log does, where the dictionary is at hand);
 * when the plugin is gone from this process (an empty list: no config, or the proxy is
 * stopping), what it counted goes to the dictionary and the timer stops.
 */
export function configure (configs: ConfiguredPlugin<PrometheusConfig>[]): void {
  if (configs.length > 0) return
  flush()
  if (timer !== undefined) clearInterval(timer)
  timer = undefined
  dict = undefined
}
