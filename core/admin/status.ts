// Kong's GET /status, served by the Admin API and the Status API alike.

import type { Config } from '../config/index.js'
import type { AdminNode } from '../runtime/plugin.js'
import type { ConfigReader } from '../store/index.js'
import { configurationHash } from './config-routes.js'

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
