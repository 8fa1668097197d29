// Kong's GET /status, served by the Admin API and the Status API alike.

import type { Config } from '../config/index.js'
import type { AdminNode } from '../runtime/plugin.js'
import type { ConfigReader } from '../store/index.js'
import { configurationHash } from './config-routes.js'
import { HttpError } from './http-error.js'
import { TRAFFIC_SECONDS, type TrafficWindow } from '../proxy/traffic.js'

export function nodeStatus (config: Config, store: ConfigReader, node: AdminNode): Record<string, unknown> {
  let reachable = true
  let version: number | null = null
  try { version = store.version() } catch { reachable = false }
  // Kong's database.reachable: whether the shared database answers. This node serves
  // its local copy either way.
  if (config.database === 'postgres') reachable = node.databaseReachable()
  const s = node.statistics()
  const mem = process.memoryUsage()
  return {
    server: {
      connections_accepted: s.connectionsAccepted,
      connections_active: s.connectionsActive,
      connections_handled: s.connectionsHandled,
      connections_reading: s.connectionsReading,
      connections_writing: s.connectionsWriting,
      connections_waiting: s.connectionsWaiting,
      total_requests: s.totalRequests,
    },
    // DB-less, Kong shows the configuration's hash and no database.
    ...(config.database === 'off' ? { configuration_hash: configurationHash(store) } : { database: { reachable } }),
    configuration_version: version,
    memory: { rss: mem.rss, heap_used: mem.heapUsed, heap_total: mem.heapTotal },
  }
}

/**
 * GET /status/traffic: the last `seconds` (default and most: five minutes) of the node's
 * traffic, one row per second that had requests, oldest first; a missing second had none.
 */
export function trafficAnswer (traffic: TrafficWindow, seconds: unknown): Record<string, unknown> {
  let n = TRAFFIC_SECONDS
  if (seconds !== undefined) {
    n = typeof seconds === 'string' && /^\d+$/.test(seconds) ? Number(seconds) : NaN
    if (!(n >= 1 && n <= TRAFFIC_SECONDS)) throw new HttpError(400, `seconds: expected an integer from 1 to ${TRAFFIC_SECONDS}`)
  }
  return { interval_seconds: 1, now: Math.floor(Date.now() / 1000), data: traffic.seconds(n) }
}
