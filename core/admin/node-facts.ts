// What the Admin API (and the Status API) know of the node, in one place: the counts
// /status shows and what plugin routes read through AdminContext.node (prometheus's
// exporter). Each is read when asked, never kept: a scrape sees the node as it is.

import { getHeapStatistics } from 'node:v8'
import { addressHealth, targetHealth } from '../balancer/index.js'
import type { Config } from '../config/index.js'
import { VERSION } from '../meta.js'
import type { ProxyStats } from '../proxy/server.js'
import type { AddressHealthRow, AdminNode, NodeStatistics } from '../runtime/plugin.js'
import type { SharedMemory } from '../shm/index.js'
import { sharedDictSizes } from '../shm/sizes.js'
import { targetsOf, type ConfigReader } from '../store/index.js'
import type { HealthDeps } from './upstream-health.js'

/** A proxy process and the JavaScript heap it uses. */
export interface WorkerMemory {
  pid: number
  heapUsed: number
}

export interface NodeFactsDeps {
  config: Config
  store: ConfigReader
  proxyStats: ProxyStats
  health: HealthDeps
  shm: SharedMemory
  database?: { status(): { reachable: boolean } }
  /** The proxy processes' heaps; this process's alone when not given. */
  workerMemory?: () => WorkerMemory[]
}

/**
 * Kong's connection counts as Tollgate keeps them: accepted and active per worker, summed.
 * Node does not tell reading from writing connections: like nginx's stub_status on an idle
 * node, every active connection counts as waiting.
 */
export function statistics (s: ProxyStats): NodeStatistics {
  return {
    connectionsAccepted: s.connectionsAccepted,
    connectionsHandled: s.connectionsAccepted,
    connectionsActive: s.connectionsActive,
    connectionsReading: 0,
    connectionsWriting: 0,
    connectionsWaiting: s.connectionsActive,
    totalRequests: s.totalRequests,
  }
}

/** This process as the node's one proxy process, with the heap it uses. */
export const ownHeap = (): WorkerMemory[] => [{ pid: process.pid, heapUsed: getHeapStatistics().used_heap_size }]

export function nodeFacts (deps: NodeFactsDeps): AdminNode {
  const { store, health, shm } = deps
  return {
    get id () { return store.nodeId() },
    version: VERSION,
    statistics: () => statistics(deps.proxyStats),
    databaseReachable: () => deps.database === undefined ? true : deps.database.status().reachable,
    upstreamHealth: () => {
      const rows: AddressHealthRow[] = []
      const upstreams = [...store.each('upstreams')].sort((a, b) => String(a.name).localeCompare(String(b.name)))
      for (const u of upstreams) {
        const balanced = health.balancers.byId(u.id as string)
        const on = health.hub.has(u.id as string)
        const byTarget = new Map((balanced?.balancer.status().hosts ?? []).map((h) => [`${h.host}:${h.port}`, h]))
        for (const t of targetsOf(store, u.id as string)) {
          const s = byTarget.get(t.target as string)
          if (s === undefined || targetHealth(s, on) === 'DNS_ERROR') {
            rows.push({ upstream: u.name as string, target: t.target as string, address: '', health: 'dns_error' })
            continue
          }
          for (const a of s.addresses) {
            const address = a.ip.includes(':') ? `[${a.ip}]:${a.port}` : `${a.ip}:${a.port}`
            rows.push({ upstream: u.name as string, target: t.target as string, address, health: addressHealth(a, on, s.nodeWeight).toLowerCase() as AddressHealthRow['health'] })
          }
        }
      }
      return rows
    },
    memory: () => ({
      sharedDicts: Object.entries(sharedDictSizes(deps.config)).map(([name, capacity]) => ({ name, capacity, allocated: shm.used(name) })),
      workers: (deps.workerMemory ?? ownHeap)(),
    }),
  }
}
