// worker_processes > 1: the primary owns the store's writer and the Admin API and
// supervises node:cluster workers, each running the proxy over the same LMDB environment
// (LMDB is safe for many readers across processes). After every committed write the
// primary announces the new config version; workers also poll the version, so a lost
// message cannot leave one stale for long. A worker that dies is replaced; SIGHUP replaces
// them one by one; SIGTERM drains them and stops.

import cluster, { type Worker } from 'node:cluster'
import { getHeapStatistics } from 'node:v8'
import type { AddressInfo } from 'node:net'
import type { Config } from './config/index.js'
import { prepareTls } from './tls/index.js'
import { useNodeSecrets } from './secrets.js'
import { GRACE_MS, VERSION_POLL_MS, checkEnv, followOtherWriters, openCounters, openNodeShm, openStore, openWriterStore, sharedDictSizes, shmPath, startAdmin, startProxy } from './gateway.js'
import type { CounterStore } from './store/index.js'
import { SharedMemory } from './shm/index.js'
import { loadAtStart } from './declarative/dbless.js'
import type { Logger } from './log.js'
import type { ProxyStats } from './proxy/server.js'
import { TrafficWindow, type TrafficRow } from './proxy/traffic.js'
import { loadPlugins } from './runtime/loader.js'
import { UpstreamBalancers } from './balancer/registry.js'
import { HealthHub, HealthMirror, type HealthChange, type PassiveReport } from './balancer/health-hub.js'

const STATS_MS = 1000

type ToWorker =
  | { type: 'config', version: number }
  | { type: 'shutdown' }
  // Health states: all of them that are not healthy in answer to `hello`, then each change.
  | { type: 'health', changes: HealthChange[] }
type ToPrimary =
  | { type: 'hello' }
  | { type: 'ready', addresses: AddressInfo[] }
  | { type: 'passive', report: PassiveReport }
  | { type: 'stats', stats: ProxyStats, heapUsed: number, traffic: TrafficRow[] }
  | { type: 'failed', message: string }

export interface Primary {
  admin: AddressInfo[]
  /** The Status API's addresses (status_listen). */
  status: AddressInfo[]
  /** Tollgate Manager's addresses (admin_gui_listen). */
  gui: AddressInfo[]
  proxy: AddressInfo[]
  reload(): Promise<void>
  stop(): Promise<void>
}

/** Runs in each cluster worker: the proxy, kept in step with the primary's writes. */
export async function runWorker (config: Config, log: Logger): Promise<void> {
  const send = (m: ToPrimary): void => { process.send?.(m) }
  // The node's health states arrive before this worker serves: it never sends traffic to
  // an address the others already avoid.
  let mirror: HealthMirror | undefined
  const early: HealthChange[] = []
  let snapshot!: () => void
  const snapshotSeen = new Promise<void>((resolve) => { snapshot = resolve })
  const onHealth = (m: ToWorker): void => {
    if (m.type !== 'health') return
    if (mirror === undefined) early.push(...m.changes); else mirror.apply(m.changes)
    snapshot()
  }
  process.on('message', onHealth)
  send({ type: 'hello' })
  let part: Awaited<ReturnType<typeof startProxy>>
  let store: ReturnType<typeof openStore>
  let balancers: UpstreamBalancers
  let shm: SharedMemory | undefined
  let counters: CounterStore & { close?(): Promise<void> } | undefined
  try {
    useNodeSecrets(config)
    const plugins = await loadPlugins(config.plugins, process.cwd(), [], config.isolated_plugins)
    store = openStore(config, plugins, false)
    balancers = new UpstreamBalancers(store)
    const m = new HealthMirror(balancers, (report) => send({ type: 'passive', report }))
    await snapshotSeen
    m.apply(early)
    mirror = m
    shm = new SharedMemory({ path: shmPath(config), sizes: sharedDictSizes(config) })
    counters = await openCounters(config, store)
    part = await startProxy(config, store, plugins, log, { balancers, health: m, shm, counters })
  } catch (err) {
    send({ type: 'failed', message: (err as Error).message })
    process.exit(1)
  }
  let seen = store.version()
  const follow = (version: number): void => {
    if (version === seen) return
    seen = version
    part.invalidate()
  }
  const poll = setInterval(() => { store.refresh(); follow(store.version()) }, VERSION_POLL_MS)
  const stats = setInterval(() => send({ type: 'stats', stats: { ...part.stats }, heapUsed: getHeapStatistics().used_heap_size, traffic: part.traffic.take() }), STATS_MS)
  poll.unref()
  stats.unref()
  let stopping = false
  const shutdown = async (): Promise<void> => {
    if (stopping) return
    stopping = true
    clearInterval(poll)
    clearInterval(stats)
    await part.stop()
    mirror?.close()
    balancers.close()
    await shm?.close()
    if (counters !== store) await counters?.close?.()
    await store.close()
    process.exit(0)
  }
  process.on('message', (m: ToWorker) => {
    if (m.type === 'config') follow(m.version)
    else if (m.type === 'shutdown') shutdown().catch(() => process.exit(1))
  })
  // The primary decides when workers stop; a signal to the group is left to it.
  process.on('SIGTERM', () => {})
  process.on('SIGINT', () => {})
  process.on('disconnect', () => { shutdown().catch(() => process.exit(1)) })
  send({ type: 'ready', addresses: part.addresses })
}

/** Runs in the primary: store writer, Admin API, and the worker supervisor. */
export async function startPrimary (config: Config, log: Logger, opts: { runMigrations?: boolean } = {}): Promise<Primary> {
  // Certificates and session ticket keys, made once for the node before any worker reads them.
  prepareTls(config)
  // Made here, before any worker reads it (keyauth_pepper under the prefix).
  useNodeSecrets(config)
  const plugins = await loadPlugins(config.plugins, process.cwd(), [], config.isolated_plugins)
  plugins.useEnv(checkEnv(config))
  // With database = postgres, caught up with the shared database before any worker serves.
  const writer = await openWriterStore(config, plugins, log, opts)
  const store = writer.store
  store.nodeId() // made before any worker reads it
  try {
    // DB-less: the declarative file is loaded before any worker starts serving.
    await loadAtStart(config, store, log)
  } catch (err) {
    await writer.close()
    throw err
  }
  // Emptied before any worker opens it.
  const shm = openNodeShm(config, log, false)
  // The node's one set of health checkers: workers follow its states and send it the
  // passive evidence that matters (health-hub.ts).
  // Workers that were sent the snapshot get every change after it, ready or not yet.
  const greeted = new Set<Worker>()
  const balancers = new UpstreamBalancers(store)
  const hub = new HealthHub(balancers, {
    log,
    publish: (changes) => {
      for (const w of greeted) if (w.isConnected()) w.send({ type: 'health', changes } satisfies ToWorker)
    },
  })
  const workerStats = new Map<number, ProxyStats>()
  const workerHeaps = new Map<Worker, number>()
  const sum = (k: keyof ProxyStats): number => [...workerStats.values()].reduce((a, s) => a + s[k], 0)
  const stats: ProxyStats = {
    get connectionsAccepted () { return sum('connectionsAccepted') },
    get connectionsActive () { return sum('connectionsActive') },
    get totalRequests () { return sum('totalRequests') },
    get requestsActive () { return sum('requestsActive') },
  }
  // The node's traffic: each worker's completed seconds, sent with its stats.
  const traffic = new TrafficWindow()
  const live = new Set<Worker>()
  let stopping = false
  let proxy: AddressInfo[] = []

  const fork = (): Promise<Worker> => new Promise((resolve, reject) => {
    const w = cluster.fork()
    const onMessage = (m: ToPrimary): void => {
      if (m.type === 'passive') hub.forwarded(m.report)
      else if (m.type === 'stats') { workerStats.set(w.id, m.stats); workerHeaps.set(w, m.heapUsed); traffic.merge(m.traffic) }
      else if (m.type === 'hello') { w.send({ type: 'health', changes: hub.snapshot() } satisfies ToWorker); greeted.add(w) }
      else if (m.type === 'ready') { proxy = m.addresses; live.add(w); resolve(w) }
      else if (m.type === 'failed') reject(new Error(m.message))
    }
    w.on('message', onMessage)
    w.once('exit', (code, signal) => {
      workerStats.delete(w.id)
      workerHeaps.delete(w)
      greeted.delete(w)
      const wasLive = live.delete(w)
      reject(new Error(`worker exited (${signal ?? code ?? 'unknown'}) before it was ready`))
      // A worker that dies on its own is replaced; the others keep serving meanwhile.
      if (wasLive && !stopping && !retiring.has(w)) {
        log.error({ pid: w.process.pid, code, signal }, 'worker died; starting a replacement')
        fork().catch((err: unknown) => log.error({ err }, 'could not replace a worker'))
      }
    })
  })
  const retiring = new Set<Worker>()
  /** Asks a worker to drain and waits for it to exit (killed after the grace period). */
  const retire = (w: Worker): Promise<void> => new Promise((resolve) => {
    retiring.add(w)
    if (w.isDead()) { resolve(); return }
    const timer = setTimeout(() => w.process.kill('SIGKILL'), GRACE_MS + 2000)
    w.once('exit', () => { clearTimeout(timer); retiring.delete(w); resolve() })
    w.send({ type: 'shutdown' } satisfies ToWorker)
  })

  // Workers accept connections themselves. With round-robin the primary accepts and hands
  // each connection over, and one handed to a worker that dies at that moment is never
  // answered nor closed (node keeps it waiting for the dead worker's acknowledgement).
  cluster.schedulingPolicy = cluster.SCHED_NONE
  cluster.setupPrimary({ silent: false })
  store.onChange((e) => {
    for (const w of live) if (w.isConnected()) w.send({ type: 'config', version: e.version } satisfies ToWorker)
  })

  // The CLI's writes: the primary's checkers and Admin API follow them too (workers poll).
  const unfollow = followOtherWriters(store)
  let admin: Awaited<ReturnType<typeof startAdmin>> | undefined
  const stop = async (): Promise<void> => {
    stopping = true
    unfollow()
    await admin?.stop()
    await Promise.all([...live].map(retire))
    await hub.stop()
    balancers.close()
    await shm.stop()
    await writer.close()
  }
  try {
    await Promise.all(Array.from({ length: config.worker_processes }, () => fork()))
    // A worker's heap is as of its last stats message (each second); 0 before the first.
    const workers = () => [...live].map((w) => ({ pid: w.process.pid as number, heapUsed: workerHeaps.get(w) ?? 0 }))
    admin = await startAdmin(config, store, plugins, log, { proxyStats: stats, traffic, workers, health: { balancers, hub, replica: writer.replica }, shm: shm.shm })
  } catch (err) {
    await stop()
    throw err
  }

  let reloading: Promise<void> | undefined
  /** Replaces every worker, one at a time: the new one serves before the old one drains. */
  const reload = (): Promise<void> => {
    reloading ??= (async () => {
      for (const old of [...live]) {
        await fork()
        live.delete(old)
        await retire(old)
      }
    })().finally(() => { reloading = undefined })
    return reloading
  }
  return { admin: admin.addresses, status: admin.status, gui: admin.gui, proxy, reload, stop }
}
