// Assembles gateway processes from three parts: the store, the Admin API and the proxy.
// With worker_processes = 1 one process holds all three (startGateway); with more, the
// primary holds the store's writer and the Admin API, and node:cluster workers each run
// the proxy over the same LMDB environment (see cluster.ts).

import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { AddressInfo } from 'node:net'
import { useNodeSecrets } from './secrets.js'
import { createAdminServer } from './admin/server.js'
import { createGuiServer } from './admin/gui.js'
import type { Server } from 'node:http'
import { ownHeap, type WorkerMemory } from './admin/node-facts.js'
import { configChanged } from './events.js'
import { preparePrefix, type Config } from './config/index.js'
import { listen, sweepIdle } from './listen.js'
import { createLogger, type Logger } from './log.js'
import { TrafficWindow } from './proxy/traffic.js'
import { createProxyServer, newProxyStats, type ProxyServer, type ProxyStats } from './proxy/server.js'
import { Pipeline, readBody } from './proxy/pipeline.js'
import { clientLimits } from './proxy/client-limits.js'
import { headerFlags } from './proxy/respond.js'
import { Routing } from './proxy/upstream-request.js'
import { UpstreamPools } from './proxy/upstream-pools.js'
import { UpstreamTls } from './proxy/upstream-tls.js'
import type { PeerSelector } from './proxy/peers.js'
import { UpstreamPeers, type PassiveHealth } from './proxy/upstream-peers.js'
import { UpstreamBalancers } from './balancer/registry.js'
import { HealthHub } from './balancer/health-hub.js'
import { SharedMemory } from './shm/index.js'
import { checkEnv, sharedDictSizes } from './shm/sizes.js'

export { RATE_LIMITING_COUNTERS_SIZE, checkEnv, sharedDictSizes } from './shm/sizes.js'
import { LivePlugins } from './runtime/plugins.js'
import { LiveRouter } from './router/index.js'
import { EntityCache } from './runtime/entity-cache.js'
import { IsolationPool } from './isolation/pool.js'
import { loadPlugins } from './runtime/loader.js'
import { PhaseRunner } from './runtime/phase-runner.js'
import { InProcessRunner, type PluginRunner } from './runtime/plugin-runner.js'
import type { AnyPlugin } from './runtime/plugin.js'
import type { PluginRegistry } from './runtime/registry.js'
import { loadAtStart } from './declarative/dbless.js'
import { listenerTls, prepareTls } from './tls/index.js'
import { LmdbStore, STORE_FILE, type ConfigReader, type CounterStore, type EntityStore, type WriteThrough } from './store/index.js'
import type { PgReplica } from './store/pg/replica.js'
import { pgSettings as pgSettingsOf } from './store/pg/settings.js'

export const GRACE_MS = 10_000

export interface Gateway {
  config: Config
  store: EntityStore & ConfigReader & CounterStore
  log: Logger
  proxy: AddressInfo[]
  admin: AddressInfo[]
  /** The Status API's addresses (status_listen). */
  status: AddressInfo[]
  /** Tollgate Manager's addresses (admin_gui_listen). */
  gui: AddressInfo[]
  stop(): Promise<void>
}

export interface StartOptions {
  /** Plugins registered besides those the config names (tests, embedding). */
  plugins?: AnyPlugin[]
  /** Where each proxied attempt goes (tests, embedding); the service's host and port otherwise. */
  peers?: PeerSelector
  /** database = postgres: bootstrap or upgrade its schema first (`tollgate start --run-migrations`). */
  runMigrations?: boolean
}

/**
 * Opens the store under the prefix. Only the writer purges expired rows. With
 * `writeThrough` it is a copy of a shared database (database = postgres).
 */
export function openStore (config: Config, plugins: PluginRegistry, writer: boolean, writeThrough?: WriteThrough): LmdbStore {
  return new LmdbStore({ path: join(config.prefix, STORE_FILE), plugins, entities: plugins.entities(), ttlPurgeInterval: writer ? undefined : 0, writeThrough })
}

/** The store of a node's writing process, and, with database = postgres, what keeps it a copy. */
export interface WriterStore {
  store: LmdbStore
  replica?: PgReplica
  close(): Promise<void>
}

/**
 * Opens the writer's store. With database = postgres it first becomes a copy of the shared
 * database: the schema is checked (or migrated, with `runMigrations`), the copy caught
 * up, and followed from then on; an unreachable database leaves it serving what it has.
 */
export async function openWriterStore (config: Config, plugins: PluginRegistry, log: Logger, opts: { runMigrations?: boolean } = {}): Promise<WriterStore> {
  if (config.database !== 'postgres') {
    const store = openStore(config, plugins, true)
    return { store, close: () => store.close() }
  }
  // Loaded only here: a node on lmdb never loads pg.
  const [{ PgReplica }, { pgSettings }] = await Promise.all([import('./store/pg/replica.js'), import('./store/pg/settings.js')])
  const replica = new PgReplica(pgSettings(config), { log })
  const store = openStore(config, plugins, true, replica)
  replica.attach(store)
  const close = async (): Promise<void> => { await replica.close(); await store.close() }
  try {
    await replica.start(opts)
  } catch (err) {
    await close()
    throw err
  }
  return { store, replica, close }
}

/** Where a proxy process keeps the rate-limiting `cluster` policy's counters. */
export async function openCounters (config: Config, store: CounterStore): Promise<CounterStore & { close?(): Promise<void> }> {
  if (config.database !== 'postgres') return store
  const [{ PgCounters }, { pgSettings }] = await Promise.all([import('./store/pg/counters.js'), import('./store/pg/settings.js')])
  return new PgCounters(pgSettings(config))
}

/**
 * What a proxy shares with the rest of its node: its process's upstream balancers, where
 * passive health evidence goes, and the node's shared dictionaries.
 */
export interface NodeParts {
  balancers: UpstreamBalancers
  health: PassiveHealth
  shm: SharedMemory
  /** The counters kong.db.incrCounter keeps (the store's, or the shared database's). */
  counters: CounterStore
}

/** How often the node's first process drops expired shared-dictionary entries. */
const SHM_PURGE_MS = 10_000

/**
 * The node's shared dictionaries, for its first process (the single one, or the cluster
 * primary): emptied as nginx's zones are at start, purged of expired entries from then on.
 * Workers and isolation threads open the same file without emptying it. `alone`: this
 * process is the whole node (no workers, no isolation threads), so they can live in its
 * memory.
 */
export function openNodeShm (config: Config, log: Logger, alone: boolean): { shm: SharedMemory, stop: () => Promise<void> } {
  const sizes = sharedDictSizes(config)
  const shm = alone ? new SharedMemory({ sizes }) : new SharedMemory({ path: shmPath(config), reset: true, sizes })
  const timer = setInterval(() => {
    try { shm.purgeExpired() } catch (err) { log.error({ err }, 'purging expired shared dictionary entries failed') }
  }, SHM_PURGE_MS)
  timer.unref()
  return { shm, stop: async () => { clearInterval(timer); await shm.close() } }
}

export function shmPath (config: Config): string {
  return join(config.prefix, 'shm.mdb')
}

/** What the Admin API's health endpoints read and change: the node's checkers. */
export interface NodeHealth {
  balancers: UpstreamBalancers
  hub: HealthHub
  /** database = postgres: the link to the shared database, for /status. */
  replica?: PgReplica
}

export interface ProxyPart {
  addresses: AddressInfo[]
  stats: ProxyStats
  /** This process's traffic by the second. */
  traffic: TrafficWindow
  /** Drops compiled routes, plugins and cached entities, for writes made elsewhere. */
  invalidate(): void
  stop(): Promise<void>
}

/** The proxy listeners of one process, over `store`. */
export async function startProxy (config: Config, store: ConfigReader, plugins: PluginRegistry, log: Logger, node: NodeParts, selector?: PeerSelector): Promise<ProxyPart> {
  const stats = newProxyStats()
  const traffic = new TrafficWindow()
  const peers = selector ?? new UpstreamPeers(node.balancers, node.health)
  const pools = new UpstreamPools()
  const router = new LiveRouter(store)
  router.get() // compile now, so the first request does not pay for it
  const cache = new EntityCache(store)
  // The config version as this process last saw it, for isolation workers to know when
  // their cached entities are stale: read from LMDB on change, not per batch.
  let version = store.version()
  const published = configChanged()
  published(version)
  store.onChange((e) => { version = e.version; published(version) })
  const isolation = config.isolated_plugins.length > 0
    ? new IsolationPool({
      plugins: config.plugins,
      isolated: config.isolated_plugins,
      cwd: process.cwd(),
      storePath: join(config.prefix, STORE_FILE),
      shmPath: shmPath(config),
      shmSizes: sharedDictSizes(config),
      nodeId: store.nodeId(),
      pg: config.database === 'postgres' ? pgSettingsOf(config) : undefined,
      size: config.isolation_pool_size,
      timeoutMs: config.isolation_timeout,
      alone: () => stats.requestsActive <= 1,
      maxMemoryMb: config.isolation_max_memory,
      log,
      version: () => version,
    })
    : undefined
  await isolation?.warm()
  const inProcess = new InProcessRunner({ db: cache, log, nodeId: store.nodeId(), shm: node.shm, counters: node.counters })
  const isolated = new Set(config.isolated_plugins)
  const runnerFor = (p: AnyPlugin): PluginRunner => isolation !== undefined && isolated.has(p.name) ? isolation : inProcess
  // Isolated plugins are configured in their worker threads (isolation/worker.ts), where their handlers run.
  const livePlugins = new LivePlugins(store, plugins, runnerFor, { log, here: (p) => runnerFor(p) === inProcess })
  // Built now, like the router, and configured before the first request: Kong runs
  // configure from init_worker, before the worker serves.
  livePlugins.get()
  await livePlugins.configured()
  const flags = headerFlags({ response: config.headers, upstream: config.headers_upstream })
  const limits = clientLimits(config)
  const phases = new PhaseRunner({ plugins: livePlugins, routing: new Routing(router, flags.upstreamRequestId), readBody: (ctx) => readBody(ctx, limits), log, expects: isolation !== undefined })
  const upstreamTls = new UpstreamTls(cache, log, (f) => store.onChange(f))
  const pipeline = new Pipeline({ phases, headers: flags, debugHeader: config.allow_debug_header, pools, tls: upstreamTls, peers, log, limits })
  const servers: ProxyServer[] = []
  const addresses: AddressInfo[] = []
  const tls = listenerTls(config, 'proxy', store, log)
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((p) => p.drain(GRACE_MS)))
    tls?.selector?.close()
    livePlugins.close()
    await Promise.all([pools.close(), isolation?.close()])
  }
  try {
    for (const l of config.proxy_listen) {
      const p = createProxyServer({ pipeline, log, stats, traffic, limits, tls: l.ssl === true && tls !== undefined ? { options: tls.options, http2: l.http2 === true } : undefined })
      servers.push(p)
      addresses.push(await listen(p.server, l, 'proxy_listen'))
    }
  } catch (err) {
    await stop()
    throw err
  }
  return {
    addresses,
    stats,
    traffic,
    invalidate: () => { store.refresh(); version = store.version(); router.invalidate(); tls?.selector?.clear(); livePlugins.invalidate(); cache.clear(); upstreamTls.clear(); node.balancers.invalidate(); published(version) },
    stop,
  }
}

export interface AdminPart {
  addresses: AddressInfo[]
  /** The Status API's addresses. */
  status: AddressInfo[]
  /** Tollgate Manager's addresses. */
  gui: AddressInfo[]
  stop(): Promise<void>
}

/** What the Admin and Status APIs read of the node besides its store. */
export interface AdminParts {
  proxyStats: ProxyStats
  /** The proxy processes, with their heaps. */
  workers: () => WorkerMemory[]
  health: NodeHealth
  shm: SharedMemory
  /** The node's traffic by the second, for the Manager's live view. */
  traffic: TrafficWindow
}

/**
 * The Admin API's listeners (admin_listen), the Status API's (status_listen) and Tollgate
 * Manager's (admin_gui_listen), which is told the Admin API's bound ports.
 */
export async function startAdmin (config: Config, store: EntityStore & ConfigReader, plugins: PluginRegistry, log: Logger, parts: AdminParts): Promise<AdminPart> {
  const admins: FastifyInstance[] = []
  const guis: Server[] = []
  const addresses: AddressInfo[] = []
  const status: AddressInfo[] = []
  const gui: AddressInfo[] = []
  const stop = async (): Promise<void> => {
    await Promise.all([
      ...admins.map(async (a) => {
        const stopSweep = sweepIdle(a.server, GRACE_MS)
        await a.close()
        stopSweep()
      }),
      ...guis.map(async (g) => {
        const stopSweep = sweepIdle(g, GRACE_MS)
        await new Promise<void>((resolve) => g.close(() => resolve()))
        stopSweep()
      }),
    ])
  }
  const deps = {
    config, store, plugins, log,
    proxyStats: parts.proxyStats,
    workerPids: () => parts.workers().map((w) => w.pid),
    workerMemory: parts.workers,
    health: parts.health,
    shm: parts.shm,
    traffic: parts.traffic,
    database: parts.health.replica,
  }
  try {
    for (const [api, key] of [['admin', 'admin_listen'], ['status', 'status_listen']] as const) {
      const tls = listenerTls(config, api, undefined, log)
      for (const l of config[key]) {
        const a = createAdminServer({ ...deps, api, https: l.ssl === true ? tls?.options : undefined })
        admins.push(a)
        await a.ready()
        const address = await listen(a.server, l, key)
        if (api === 'admin') addresses.push(address)
        else status.push(address)
      }
    }
    const tls = listenerTls(config, 'gui', undefined, log)
    const admin = addresses.map((a, i) => ({ port: a.port, ssl: config.admin_listen[i]?.ssl === true }))
    for (const l of config.admin_gui_listen) {
      const g = createGuiServer({ config, log, admin, https: l.ssl === true ? tls?.options : undefined })
      guis.push(g)
      gui.push(await listen(g, l, 'admin_gui_listen'))
    }
  } catch (err) {
    await stop()
    throw err
  }
  return { addresses, status, gui, stop }
}

/** How often a process compares its config version with the store's (see followOtherWriters). */
export const VERSION_POLL_MS = 200

/**
 * The store announces only this process's own commits. Another process writing to the same
 * store (the `tollgate config sync` / `db_import` CLI) shows only as a greater version: poll
 * it and announce it here as a replacement of everything, so the router, plugins, caches and
 * balancers rebuild, as cluster workers do with the primary's writes. Returns the stop.
 */
export function followOtherWriters (store: EntityStore & ConfigReader): () => void {
  let seen = store.version()
  const off = store.onChange((e) => { if (e.version > seen) seen = e.version })
  const timer = setInterval(() => {
    store.refresh()
    const v = store.version()
    if (v > seen) {
      seen = v
      store.adoptReplace()
    }
  }, VERSION_POLL_MS)
  timer.unref()
  return () => { clearInterval(timer); off() }
}

/** One process with everything: the store's writer, the Admin API and the proxy. */
export async function startGateway (config: Config, log: Logger = createLogger(config.log_level), opts: StartOptions = {}): Promise<Gateway> {
  preparePrefix(config.prefix)
  prepareTls(config)
  useNodeSecrets(config)
  const plugins = await loadPlugins(config.plugins, process.cwd(), opts.plugins, config.isolated_plugins)
  plugins.useEnv(checkEnv(config))
  const writer = await openWriterStore(config, plugins, log, opts)
  const store = writer.store
  try {
    // DB-less: the declarative file is loaded before the proxy serves.
    await loadAtStart(config, store, log)
  } catch (err) {
    await writer.close()
    throw err
  }
  const counters = await openCounters(config, store)
  // One process: its checkers feed its own balancers directly.
  const balancers = new UpstreamBalancers(store)
  const hub = new HealthHub(balancers, { log })
  const shm = openNodeShm(config, log, config.isolated_plugins.length === 0)
  let proxy: ProxyPart | undefined
  let admin: AdminPart | undefined
  const unfollow = followOtherWriters(store)
  const stop = async (): Promise<void> => {
    unfollow()
    await Promise.all([proxy?.stop(), admin?.stop(), hub.stop()])
    balancers.close()
    await shm.stop()
    if (counters !== store) await counters.close?.()
    await writer.close()
  }
  try {
    proxy = await startProxy(config, store, plugins, log, { balancers, health: hub, shm: shm.shm, counters }, opts.peers)
    admin = await startAdmin(config, store, plugins, log, { proxyStats: proxy.stats, traffic: proxy.traffic, workers: ownHeap, health: { balancers, hub, replica: writer.replica }, shm: shm.shm })
  } catch (err) {
    await stop()
    throw err
  }
  return { config, store, log, proxy: proxy.addresses, admin: admin.addresses, status: admin.status, gui: admin.gui, stop }
}
