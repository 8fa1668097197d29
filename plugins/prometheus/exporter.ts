// Kong's exporter.metric_data: the node's gauges read at scrape time, then every family
// counted in the shared dictionary, in the Prometheus text exposition format (0.0.4).

import type { AdminContext, AdminNode } from '@tollgate/sdk'
import { flush } from './handler.js'
import { DICT, FAMILIES, PREFIX, labels, type Family } from './metrics.js'
import type { PrometheusConfig } from './schema.js'

const SUBSYSTEM = 'http'
const HEALTH_STATES = ['healthchecks_off', 'healthy', 'unhealthy', 'dns_error'] as const
const CONNECTION_STATES = ['accepted', 'active', 'handled', 'reading', 'total', 'waiting', 'writing'] as const

type Samples = Map<string, Array<[key: string, value: number]>>

function add (samples: Samples, family: string, labelText: string, value: number, suffix = ''): void {
  let list = samples.get(family)
  if (list === undefined) samples.set(family, list = [])
  list.push([`${family}${suffix}${labelText === '' ? '' : `{${labelText}}`}`, value])
}

/** The node's own gauges: Kong's LOCAL_STORAGE metrics, set on every scrape. */
function nodeGauges (samples: Samples, node: AdminNode, upstreamHealth: boolean): void {
  const id = node.id
  add(samples, 'datastore_reachable', '', node.databaseReachable() ? 1 : 0)
  add(samples, 'node_info', labels(['node_id', 'version'], [id, node.version]), 1)
  const s = node.statistics()
  const counts: Record<typeof CONNECTION_STATES[number], number> = {
    accepted: s.connectionsAccepted, active: s.connectionsActive, handled: s.connectionsHandled, reading: s.connectionsReading,
    total: s.totalRequests, waiting: s.connectionsWaiting, writing: s.connectionsWriting,
  }
  for (const state of CONNECTION_STATES) add(samples, 'nginx_connections_total', labels(['node_id', 'subsystem', 'state'], [id, SUBSYSTEM, state]), counts[state])
  add(samples, 'nginx_requests_total', labels(['node_id', 'subsystem'], [id, SUBSYSTEM]), s.totalRequests)
  const memory = node.memory()
  for (const d of memory.sharedDicts) {
    add(samples, 'memory_lua_shared_dict_bytes', labels(['node_id', 'shared_dict', 'kong_subsystem'], [id, d.name, SUBSYSTEM]), d.allocated)
    add(samples, 'memory_lua_shared_dict_total_bytes', labels(['node_id', 'shared_dict', 'kong_subsystem'], [id, d.name, SUBSYSTEM]), d.capacity)
  }
  for (const w of memory.workers) add(samples, 'memory_workers_lua_vms_bytes', labels(['node_id', 'pid', 'kong_subsystem'], [id, w.pid, SUBSYSTEM]), w.heapUsed)
  if (upstreamHealth) {
    for (const a of node.upstreamHealth()) {
      for (const state of HEALTH_STATES) {
        add(samples, 'upstream_target_health', labels(['upstream', 'target', 'address', 'state', 'subsystem'], [a.upstream, a.target, a.address, state, SUBSYSTEM]), a.health === state ? 1 : 0)
      }
    }
  }
}

/** The family a stored key belongs to: `name{...}`, or a histogram's `name_bucket{...}`, `_count`, `_sum`. */
function familyOf (key: string): string | undefined {
  const brace = key.indexOf('{')
  const name = brace === -1 ? key : key.slice(0, brace)
  if (FAMILIES[name] !== undefined) return name
  const m = /^(.*)_(?:bucket|count|sum)$/.exec(name)
  return m !== null && FAMILIES[m[1] as string]?.type === 'histogram' ? m[1] : undefined
}

const SUFFIX_ORDER: Record<string, number> = { bucket: 0, count: 1, sum: 2 }

/**
 * A histogram's lines: each label set's buckets in increasing `le` (the exposition
 * requires it; the stored keys sort as text), then its _count and _sum.
 */
function histogramOrder (a: string, b: string): number {
  const parse = (k: string): [string, number, number] => {
    const m = /^[a-z_]+_(bucket|count|sum)\{(.*)\}$/.exec(k)
    if (m === null) return [k, 0, 0]
    const le = /(?:^|,)le="([^"]*)"$/.exec(m[2] as string)
    const rest = le === null ? m[2] as string : (m[2] as string).slice(0, le.index)
    return [rest, SUFFIX_ORDER[m[1] as string] as number, le === null ? 0 : le[1] === '+Inf' ? Infinity : Number(le[1])]
  }
  const [ra, sa, la] = parse(a)
  const [rb, sb, lb] = parse(b)
  return ra < rb ? -1 : ra > rb ? 1 : sa - sb || la - lb
}

const format = (n: number): string => Number.isInteger(n) ? String(n) : n === Infinity ? '+Inf' : n === -Infinity ? '-Inf' : Number.isNaN(n) ? 'NaN' : String(n)

/** GET /metrics, on the Admin API and the Status API. */
export function collect (ctx: AdminContext): string {
  // In a process that also proxies (worker_processes = 1), its own counts first, as Kong
  // syncs the scraping worker's counters.
  flush()
  const configs = ctx.configs().filter((c) => c.enabled)
  const samples: Samples = new Map()
  nodeGauges(samples, ctx.node, configs.some((c) => (c.config as unknown as PrometheusConfig).upstream_health_metrics))
  // Kong: with no prometheus plugin enabled, only the node's gauges.
  if (configs.length > 0) {
    const dict = ctx.shm(DICT)
    for (const key of dict.keys()) {
      const family = familyOf(key)
      const value = dict.get(key)
      if (family === undefined || typeof value !== 'number') continue
      let list = samples.get(family)
      if (list === undefined) samples.set(family, list = [])
      list.push([key.endsWith('{}') ? key.slice(0, -2) : key, value])
    }
  }
  let errors = 0
  const stored = configs.length > 0 ? ctx.shm(DICT).get('nginx_metric_errors_total{}') : undefined
  if (typeof stored === 'number') errors = stored
  samples.set('nginx_metric_errors_total', [['nginx_metric_errors_total', errors]])
  let out = ''
  for (const name of [...samples.keys()].sort()) {
    const family = FAMILIES[name] as Family
    const list = samples.get(name) as Array<[string, number]>
    if (family.type === 'histogram') list.sort((a, b) => histogramOrder(a[0], b[0]))
    else list.sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)
    out += `# HELP ${PREFIX}${name} ${family.help}\n# TYPE ${PREFIX}${name} ${family.type}\n`
    for (const [key, value] of list) out += `${PREFIX}${key} ${format(value)}\n`
  }
  return out
}
