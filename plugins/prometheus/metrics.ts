// Kong's metric families (kong/plugins/prometheus/exporter.lua, 3.2) and how a process
// keeps them. Kong's exporter counts into per-worker counters (lua-resty-counter) that a
// timer adds to the `prometheus_metrics` shared dictionary every second, so the request
// path never takes the dictionary's lock; a scrape syncs its own worker first and reads
// the dictionary. The same here: a process adds into Maps, and flush() (each second, and
// before a scrape) adds what changed to the node's shared dictionary, which every worker
// process and the Admin API share.

import type { SharedDict } from '@tollgate/sdk'

export const DICT = 'prometheus_metrics'
export const PREFIX = 'kong_'

// Kong 3.2's buckets, in milliseconds.
export const KONG_LATENCY_BUCKETS = [1, 2, 5, 7, 10, 15, 20, 30, 50, 75, 100, 200, 500, 750, 1000] as const
export const UPSTREAM_LATENCY_BUCKETS = [25, 50, 80, 100, 250, 400, 700, 1000, 2000, 5000, 10000, 30000, 60000] as const

export type MetricType = 'counter' | 'gauge' | 'histogram'

export interface Family {
  /** Without the `kong_` prefix. */
  name: string
  help: string
  type: MetricType
  buckets?: readonly number[]
}

/** Every family Tollgate exports, in Kong's words. */
export const FAMILIES: Record<string, Family> = Object.fromEntries(([
  { name: 'bandwidth_bytes', type: 'counter', help: 'Total bandwidth (ingress/egress) throughput in bytes' },
  { name: 'datastore_reachable', type: 'gauge', help: 'Datastore reachable from Kong, 0 is unreachable' },
  { name: 'http_requests_total', type: 'counter', help: 'HTTP status codes per consumer/service/route in Kong' },
  { name: 'kong_latency_ms', type: 'histogram', help: 'Latency added by Kong and enabled plugins for each service/route in Kong', buckets: KONG_LATENCY_BUCKETS },
  { name: 'memory_lua_shared_dict_bytes', type: 'gauge', help: 'Allocated slabs in bytes in a shared_dict' },
  { name: 'memory_lua_shared_dict_total_bytes', type: 'gauge', help: 'Total capacity in bytes of a shared_dict' },
  { name: 'memory_workers_lua_vms_bytes', type: 'gauge', help: 'Allocated bytes in worker Lua VM' },
  { name: 'nginx_connections_total', type: 'gauge', help: 'Number of connections by subsystem' },
  { name: 'nginx_metric_errors_total', type: 'counter', help: 'Number of nginx-lua-prometheus errors' },
  { name: 'nginx_requests_total', type: 'gauge', help: 'Number of requests total' },
  { name: 'node_info', type: 'gauge', help: 'Kong Node metadata information' },
  { name: 'request_latency_ms', type: 'histogram', help: 'Total latency incurred during requests for each service/route in Kong', buckets: UPSTREAM_LATENCY_BUCKETS },
  { name: 'upstream_latency_ms', type: 'histogram', help: 'Latency added by upstream response for each service/route in Kong', buckets: UPSTREAM_LATENCY_BUCKETS },
  { name: 'upstream_target_health', type: 'gauge', help: 'Health status of targets of upstream. States = healthchecks_off|healthy|unhealthy|dns_error, value is 1 when state is populated.' },
] satisfies Family[]).map((f) => [f.name, f]))

/** A label value as the exposition format quotes it: backslash, double quote and newline escaped. */
export function escapeLabel (v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v
}

/** `a="x",b="y"` from names and values. */
export function labels (names: readonly string[], values: readonly (string | number)[]): string {
  let out = ''
  for (let i = 0; i < names.length; i++) out += `${i === 0 ? '' : ','}${names[i]}="${escapeLabel(String(values[i]))}"`
  return out
}

interface Histogram {
  /** Observations per bucket, not cumulative; the last one is +Inf. */
  counts: number[]
  sum: number
}

/**
 * One process's increments since its last flush. Label sets are the exposition's label
 * text, so a flush writes keys in the exposition's own form: `name{labels}`.
 */
export class LocalMetrics {
  readonly #counters = new Map<string, number>()
  readonly #histograms = new Map<string, Map<string, Histogram>>()

  /** Adds `by` to counter `name` with label text `labelText`. */
  inc (name: string, labelText: string, by: number): void {
    const key = `${name}{${labelText}}`
    this.#counters.set(key, (this.#counters.get(key) ?? 0) + by)
  }

  observe (family: Family, labelText: string, value: number): void {
    const buckets = family.buckets as readonly number[]
    let byLabels = this.#histograms.get(family.name)
    if (byLabels === undefined) this.#histograms.set(family.name, byLabels = new Map())
    let h = byLabels.get(labelText)
    if (h === undefined) byLabels.set(labelText, h = { counts: new Array<number>(buckets.length + 1).fill(0), sum: 0 })
    let i = 0
    while (i < buckets.length && value > (buckets[i] as number)) i++
    h.counts[i]!++
    h.sum += value
  }

  get empty (): boolean {
    return this.#counters.size === 0 && this.#histograms.size === 0
  }

  /**
   * Adds everything counted since the last flush to `dict` and forgets it. A histogram's
   * buckets are cumulative there, as the exposition wants them, and every bucket of a label
   * set is written, so none is missing from a scrape. Returns how many keys failed (an
   * over-long key, a full disk): Kong counts those in nginx_metric_errors_total.
   */
  flush (dict: SharedDict): number {
    let errors = 0
    const add = (key: string, by: number): void => {
      try { dict.incr(key, by, 0) } catch { errors++ }
    }
    for (const [key, by] of this.#counters) add(key, by)
    this.#counters.clear()
    for (const [name, byLabels] of this.#histograms) {
      const buckets = (FAMILIES[name] as Family).buckets as readonly number[]
      for (const [labelText, h] of byLabels) {
        const sep = labelText === '' ? '' : ','
        let cumulative = 0
        for (let i = 0; i <= buckets.length; i++) {
          cumulative += h.counts[i] as number
          add(`${name}_bucket{${labelText}${sep}le="${i === buckets.length ? '+Inf' : String(buckets[i])}"}`, cumulative)
        }
        add(`${name}_count{${labelText}}`, cumulative)
        add(`${name}_sum{${labelText}}`, h.sum)
      }
    }
    this.#histograms.clear()
    if (errors > 0) add('nginx_metric_errors_total{}', errors)
    return errors
  }
}
