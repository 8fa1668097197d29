// Runs inside an isolation worker thread (pool.ts). One message is a batch: the phases of
// isolated plugins that the host reached in one event-loop turn, each with its own snapshot.
// Each phase is rebuilt into a RequestContext, run with the same PDK as in-process, and
// answered with what it changed as an ordered list of mutations.
//
// Handlers that finish within the batch's turn (synchronous ones, and async ones that only
// await promises already settled) answer in the task's result: one message back for the
// whole batch. A handler still waiting on I/O answers later in a message of its own, so a
// slow request never holds up its batch-mates.

import type { PgSettings } from '../store/pg/settings.js'
import { SharedMemory } from '../shm/index.js'
import { parentPort, workerData } from 'node:worker_threads'
import { readlinkSync } from 'node:fs'
import { getPriority, setPriority } from 'node:os'
import { EntityCache } from '../runtime/entity-cache.js'
import { Kong } from '../pdk/index.js'
import { loadPlugins } from '../runtime/loader.js'
import { useKeyHashing } from '../../plugins/key-auth/hashing.js'
import type { AnyPlugin, HandlerName } from '../runtime/plugin.js'
import type { PluginRegistry } from '../runtime/registry.js'
import { LmdbStore, type ConfigReader, type CounterStore } from '../store/index.js'
import { Configurer, configsFromEntities } from '../runtime/configure.js'
import { captureLogger } from './capture-log.js'
import { Channel } from './channel.js'
import { mutationsOf, rebuild, readBatch, writeOutcomes, type Mutation, type Outcome, type Wire } from './snapshot.js'

export interface WorkerData {
  /** Plugin modules to load: the isolated ones. */
  plugins: string[]
  cwd: string
  /** The store's LMDB file, opened here for kong.db reads. */
  storePath: string
  /** database = postgres: where counters are kept (pg/counters.ts). */
  pg?: PgSettings
  /** The node's shared dictionaries (shm/index.ts), opened here too: the same entries. */
  shmPath: string
  /** The declared dictionaries' capacities, as in the processes. */
  shmSizes: Record<string, number>
  nodeId: string
  /** Names of the isolated plugins: the ones this thread configures (the others are loaded for their schemas only). */
  isolated: string[]
  /** key-auth's pepper when keyauth_hash_keys is on: kong.db lookups of keys hash them. */
  keyauthPepper?: string
  /** The thread's shared-memory mailbox (channel.ts). */
  channel: SharedArrayBuffer
}

export interface Batch {
  id: number
  /** The host's config version; a newer one drops cached entities. */
  version: number
  /** Forget the objects held from earlier batches (see Resident in snapshot.ts). */
  reset: boolean
  /** The phases: snapshots, plugin names, handlers and configs (see snapshot.ts). */
  tasks: Wire
}

/** A batch's synchronous pass, answered; `error` when the batch as a whole could not run. */
export type BatchResult =
  | { id: number, /** Outcomes by task index; null where the handler is still running and will answer by message. */ outcomes: Wire }
  | { id: number, outcomes: null, error: string }

/** Posted once the plugins are loaded (or failed to load); the host sends batches only after. */
export type WorkerState = { state: 'ready' } | { state: 'failed', error: string }

/** A log line from outside any request (a configure hook failing), posted on parentPort. */
export interface WorkerLog {
  tollgateLog: { level: 'error', plugin: string, message: string, stack: string | undefined }
}

/** A late answer, posted on the worker's parentPort. */
export interface LateOutcome {
  tollgateBatch: number
  index: number
  /** One outcome, written as a list of one. */
  outcome: Wire
}

const data = workerData as WorkerData
useKeyHashing(data.keyauthPepper)
// The threads run below the event loop's priority (nice +10, Linux): woken by a batch,
// a thread at the same priority preempted the main thread mid-turn, and on a busy CPU
// those switches, not the plugin, were most of isolation's cost (isolated / in-process
// header plugin, one CPU: 0.80x -> 0.84x; the main thread's involuntary switches fell by
// a fifth). It also keeps a plugin spinning until its timeout from taking the CPU
// that proxies everything else. Raising one's own nice needs no privilege.
try {
  const tid = Number(readlinkSync('/proc/thread-self').split('/').pop())
  setPriority(tid, Math.min(19, getPriority(tid) + 10))
} catch {
  // Not Linux (no /proc/thread-self): setPriority would apply to the whole process.
}
let seenVersion = -1
const shm = new SharedMemory({ path: data.shmPath, sizes: data.shmSizes })

async function init (): Promise<{ registry: PluginRegistry, store: ConfigReader, counters: CounterStore, cache: EntityCache, configurer: Configurer }> {
  const registry = await loadPlugins(data.plugins, data.cwd)
  const store = new LmdbStore({ path: data.storePath, plugins: registry, entities: registry.entities(), ttlPurgeInterval: 0 })
  const counters: CounterStore = data.pg === undefined ? store : new (await import('../store/pg/counters.js')).PgCounters(data.pg)
  const isolated = new Set(data.isolated)
  // The isolated plugins' configure runs here, in every thread, because their state lives
  // where their handlers run; the host configures only the plugins it runs itself.
  const configurer = new Configurer(registry.all().filter((p) => isolated.has(p.name)), (plugin, err) => {
    parentPort?.postMessage({ tollgateLog: { level: 'error', plugin, message: message(err), stack: err instanceof Error ? err.stack : undefined } } satisfies WorkerLog)
  })
  if (configurer.any) {
    // The version read with the configs: the first batch at that version does not configure again.
    seenVersion = store.version()
    await configurer.run(configsFromEntities(store.each('plugins')))
  }
  return { registry, store, counters, cache: new EntityCache(store), configurer }
}

type Loaded = Awaited<ReturnType<typeof init>>

// Started as the thread starts, so a plugin's first phase does not pay for loading.
const ready = init()
/** What `ready` resolved to, once it has: batches then run without a promise hop. */
let loaded: Loaded | undefined
ready.then(
  (l) => {
    loaded = l
    parentPort?.postMessage({ state: 'ready' } satisfies WorkerState)
  },
  (err: unknown) => parentPort?.postMessage({ state: 'failed', error: message(err) } satisfies WorkerState),
)

/** Entities and configs from earlier batches, by the slots the host gave them. */
const resident = new Map<number, unknown>()

const message = (err: unknown): string => err instanceof Error ? err.message : String(err)

/** The outcomes on the wire; one that cannot be written (a BigInt in a consumer, say)
 * becomes that phase's error instead of failing its batch-mates. */
function encode (outcomes: Array<Outcome | null>): Wire {
  try {
    return writeOutcomes(outcomes)
  } catch {
    return writeOutcomes(outcomes.map((o) => {
      if (o === null) return o
      try {
        writeOutcomes([o])
        return o
      } catch (err) {
        return { error: `its changes cannot be sent to the gateway: ${message(err)}` }
      }
    }))
  }
}

type Answered = Extract<BatchResult, { outcomes: Wire }>

/** A batch that failed as a whole (the plugins did not load, say): every phase in it fails. */
const failed = (id: number, err: unknown): BatchResult => ({ id, outcomes: null, error: message(err) })

parentPort?.on('message', (batch: Batch) => {
  run(batch).then(
    (result) => parentPort?.postMessage(result),
    (err: unknown) => parentPort?.postMessage(failed(batch.id, err)),
  )
})

// Batches that came through the mailbox are answered there, unless the answer carries
// bodies, does not fit, or is the batch's failure: then the mailbox says so, and the
// answer goes as a message.
const channel = new Channel(data.channel)
channel.listen((b) => {
  const batch: Batch = { id: b.id, version: b.version, reset: b.reset, tasks: { json: b.json, bins: [] } }
  const replied = (result: Answered): void => {
    const { json, bins } = result.outcomes
    if (!channel.reply(result.id, bins.length > 0 ? undefined : json)) parentPort?.postMessage(result)
  }
  const failedAll = (err: unknown): void => {
    channel.reply(b.id, undefined)
    parentPort?.postMessage(failed(b.id, err))
  }
  // A batch whose handlers all finish synchronously is answered within this call: the
  // host of a lone request is watching the mailbox (pool.ts, POLL_US) while this runs.
  let result: Answered | Promise<Answered>
  try {
    result = loaded === undefined ? run(batch) : pass(batch, loaded)
  } catch (err) {
    failedAll(err)
    return
  }
  if (result instanceof Promise) result.then(replied, failedAll)
  else replied(result)
})

async function run (batch: Batch): Promise<Answered> {
  return await pass(batch, await ready)
}

/** One batch: its phases run in order; a promise only when a handler is still waiting. */
function pass (batch: Batch, { registry, store, counters, cache, configurer }: Loaded): Answered | Promise<Answered> {
  if (batch.version !== seenVersion) {
    store.refresh()
    cache.clear()
    seenVersion = batch.version
    // Not awaited: as in the host, requests do not wait on an async hook (a synchronous
    // one has run before this batch's handlers).
    if (configurer.any) void configurer.run(configsFromEntities(store.each('plugins')))
  }
  if (batch.reset) resident.clear()
  const tasks = readBatch(batch.tasks, resident)
  const outcomes: Array<Outcome | null> = new Array(tasks.length).fill(null)
  let returned = false
  const answer = (index: number, outcome: Outcome): void => {
    if (!returned) outcomes[index] = outcome
    else parentPort?.postMessage({ tollgateBatch: batch.id, index, outcome: encode([outcome]) } satisfies LateOutcome)
  }
  let waiting = 0
  for (let i = 0; i < tasks.length; i++) {
    const task = tasks[i] as (typeof tasks)[number]
    try {
      const plugin = registry.get(task.plugin) as AnyPlugin | undefined
      const handler = plugin?.[task.handler as HandlerName]
      if (plugin === undefined || handler === undefined) throw new Error(`plugin '${task.plugin}' has no ${task.handler} handler in this worker`)
      const rebuilt = rebuild(task.snapshot, task.plugin)
      const ctx = rebuilt.ctx
      const logs: Mutation[] = []
      // What the handler changed; a change that cannot cross (ctx.shared with a cycle, a
      // BigInt) fails this phase like an error thrown by the handler.
      const done = (): Outcome => {
        try {
          return { mutations: [...mutationsOf(task.snapshot, rebuilt, task.plugin), ...logs] }
        } catch (err) {
          return { error: message(err) }
        }
      }
      const result = handler(new Kong(ctx, { db: cache, log: captureLogger(logs), nodeId: data.nodeId, shm, counters }, task.plugin, task.instance), task.conf) as unknown
      if (typeof (result as Promise<void> | undefined)?.then === 'function') {
        waiting++
        ;(result as Promise<void>).then(() => answer(i, done()), (err: unknown) => answer(i, { error: message(err) }))
      } else {
        outcomes[i] = done()
      }
    } catch (err) {
      outcomes[i] = { error: message(err) }
    }
  }
  const finish = (): Answered => {
    returned = true
    return { id: batch.id, outcomes: encode(outcomes) }
  }
  // Async handlers that await nothing slow settle within a turn: wait one, so they ride
  // back with the batch rather than each in a message of its own.
  if (waiting > 0) {
    return new Promise((resolve, reject) => setImmediate(() => {
      try {
        resolve(finish())
      } catch (err) {
        reject(err)
      }
    }))
  }
  return finish()
}
