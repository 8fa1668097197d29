// Host side of worker isolation: a piscina pool per gateway process. Each phase of an
// isolated plugin is a task (snapshot in, mutations out); the tasks reached in one
// event-loop turn travel to a worker together as one piscina task, because a piscina round
// trip costs ~25 us whatever it carries and a busy gateway reaches many phases per turn.
//
// Failures stay with their request: a thrown error fails its own phase; a timeout fails
// its own phase (and, if the thread is stuck in synchronous code, the batch it is stuck
// in: piscina then terminates and replaces the thread); a worker that exits or outgrows
// its memory limit fails the phases it was running. Each gets Kong's 500 and a log line
// naming the plugin; other requests go on.

import type { PgSettings } from '../store/pg/settings.js'
import { availableParallelism } from 'node:os'
import { Piscina } from 'piscina'
import type { Logger } from '../log.js'
import type { RequestContext } from '../runtime/context.js'
import { readsBody, type AnyPlugin, type HandlerName } from '../runtime/plugin.js'
import type { PluginRunner, RunInstance } from '../runtime/plugin-runner.js'
import { applyMutations, BatchWriter, readOutcomes, type Outcome, type Wire } from './snapshot.js'
import { keyHashingPepper } from '../../plugins/key-auth/hashing.js'
import type { Batch, BatchResult, LateOutcome, WorkerData, WorkerLog } from './worker.js'

export interface IsolationOptions {
  /** Module names or paths of the isolated plugins, as in the plugins setting. */
  plugins: string[]
  /** Names of the isolated plugins: their configure hooks run in the workers. */
  isolated?: string[]
  cwd: string
  storePath: string
  /** database = postgres: the rate-limiting cluster policy's counters are there. */
  pg?: PgSettings
  shmPath: string
  /** The declared dictionaries' capacities (bytes), as every process of the node has them. */
  shmSizes?: Record<string, number>
  nodeId: string
  size: number
  timeoutMs: number
  maxMemoryMb: number
  log: Logger
  /** The current config version, so workers know when cached entities are stale. */
  version: () => number
}

/** An isolated plugin's failure; the phase runner answers it as it answers any handler's (Kong's 500 before the response exists). */
export class IsolatedPluginError extends Error {
  constructor (readonly plugin: string, message: string) {
    super(`plugin ${plugin} (isolated): ${message}`)
    this.name = 'IsolatedPluginError'
  }
}

// Workers always run the compiled worker: node 20 does not apply tsx's loader hooks inside
// worker threads, so under tsx (tests) this file points at its build in dist/.
const WORKER = import.meta.url.endsWith('.ts')
  ? new URL('../../dist/core/isolation/worker.js', import.meta.url).href
  : new URL('./worker.js', import.meta.url).href

/**
 * The process's node options for the worker threads, less tsx's loader: what they run is
 * compiled (above), and tsx half-applied in a thread resolved @tollgate/sdk through
 * tsconfig's paths to the TypeScript sources, so one thread mixed two builds of core (and
 * coverage tools saw two different transforms of each file under one name). Only module
 * loading and source-map options are passed: a thread refuses process-wide ones
 * (--expose-gc...), which inheriting had silently dropped.
 */
export function workerExecArgv (): string[] {
  const out: string[] = []
  const args = process.execArgv
  const isTsx = (spec: string): boolean => /(^|[/\\])tsx([/\\]|$)/.test(spec)
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string
    if ((a === '--import' || a === '--require') && i + 1 < args.length) {
      const spec = args[++i] as string
      if (!isTsx(spec)) out.push(a, spec)
    } else if (a.startsWith('--import=') || a.startsWith('--require=')) {
      if (!isTsx(a.slice(a.indexOf('=') + 1))) out.push(a)
    } else if (a === '--enable-source-maps' || a.startsWith('--conditions=')) {
      out.push(a)
    }
  }
  return out
}

/** How long a replacement worker may take to load before its queue counts against timeouts. */
const COLD_START_MS = 10_000

/** Phases per batch: enough to amortise a round trip, few enough to spread over threads. */
const MAX_BATCH = 64

/** How long a batch may be out before the next one goes to another thread regardless. */
const SLOW_MS = 10

interface Pending {
  ctx: RequestContext
  plugin: AnyPlugin
  handler: HandlerName
  instance: RunInstance
  resolve: () => void
  reject: (err: Error) => void
  done: boolean
}

interface InFlight {
  items: Pending[]
  left: number
  submitted: number
  /** The worker returned from the batch; what is left is waiting on I/O there. */
  returned: boolean
  threadId: number
  abort: AbortController
  timer: NodeJS.Timeout | undefined
}

/** A batch's phases on the wire. */
function write (items: Pending[]): Wire {
  const writer = new BatchWriter()
  for (const p of items) writer.add(p.ctx, p.plugin.name, p.handler, p.instance, readsBody(p.plugin, p.instance.config, p.ctx))
  return writer.finish()
}

/** The runner of isolated plugins: each phase runs in a worker thread (see above). */
export class IsolationPool implements PluginRunner {
  readonly #pool: Piscina
  readonly #opts: IsolationOptions
  #started = false
  #coldUntil = 0
  #queue: Pending[] = []
  #scheduled = false
  /** Batches sent whose synchronous pass has not come back: at most one per thread. */
  #busy = 0
  #lastSent = 0
  #waiting: NodeJS.Timeout | undefined
  readonly #threads: number
  #nextId = 0
  readonly #inFlight = new Map<number, InFlight>()

  constructor (opts: IsolationOptions) {
    this.#opts = opts
    const workerData: WorkerData = { plugins: opts.plugins, isolated: opts.isolated ?? [], cwd: opts.cwd, storePath: opts.storePath, pg: opts.pg, shmPath: opts.shmPath, shmSizes: opts.shmSizes ?? {}, nodeId: opts.nodeId, keyauthPepper: keyHashingPepper() }
    const threads = Math.max(1, Math.min(opts.size, availableParallelism() * 4))
    this.#threads = threads
    this.#pool = new Piscina({
      filename: WORKER,
      workerData,
      execArgv: workerExecArgv(),
      // A fixed set of threads, all loaded at start: the timeout measures plugin code,
      // not a thread being created and loading modules.
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: Number.POSITIVE_INFINITY,
      // piscina's default ('sync') parks an idle worker in Atomics.wait, which would
      // freeze handlers still awaiting I/O after their batch returned. Without atomics a
      // batch wakes its worker by message alone ('async' adds a second wake-up path and
      // measured no faster).
      atomics: 'disabled',
      // Run and wait-time histograms for every task: nothing here reads them.
      recordTiming: false,
      resourceLimits: { maxOldGenerationSizeMb: opts.maxMemoryMb, maxYoungGenerationSizeMb: Math.max(8, Math.floor(opts.maxMemoryMb / 8)) },
    })
    // A worker that dies (process.exit, memory limit) is replaced by piscina; say so.
    this.#pool.on('error', (err: Error) => opts.log.error({ err }, 'isolated plugin worker failed'))
    this.#pool.on('message', (m: LateOutcome | WorkerLog) => {
      if ('tollgateLog' in m) {
        const { level, plugin, message, stack } = m.tollgateLog
        opts.log[level]({ err: { message, stack }, plugin, phase: 'configure' }, `plugin ${plugin} failed in configure (isolated)`)
        return
      }
      this.#late(m)
    })
    this.#pool.on('workerDestroy', (worker: { id: number }) => {
      // While a replacement loads, batches queued behind it get extra time: the timeout
      // is meant for plugin code, not for a thread starting up. piscina replaces a thread
      // as soon as one is destroyed (and says 'workerCreate' only once the new one is ready).
      if (this.#started) this.#coldUntil = Date.now() + COLD_START_MS
      // Phases that were waiting on I/O in the dead thread will never answer.
      for (const [id, batch] of this.#inFlight) {
        if (batch.returned && batch.threadId === worker.id) this.#fail(id, batch, 'its worker thread ended')
      }
    })
  }

  /** Resolves once the threads have loaded the plugins; rejects if a plugin fails to load. */
  async warm (): Promise<void> {
    const size = this.#pool.options.maxThreads
    await Promise.all(Array.from({ length: size * 2 }, () => this.#pool.run({ warmup: true, id: -1, version: 0, tasks: { json: '[[],[]]', bins: [] } } satisfies Batch)))
    this.#started = true
  }

  /** Runs one phase of an isolated plugin; settles once its mutations are applied to ctx. */
  run (ctx: RequestContext, plugin: AnyPlugin, handler: HandlerName, instance: RunInstance): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ ctx, plugin, handler, instance, resolve, reject, done: false })
      this.#schedule()
    })
  }

  /** A flush after the I/O callbacks of this turn: every request they reached joins the batch. */
  #schedule (): void {
    if (this.#scheduled) return
    this.#scheduled = true
    setImmediate(() => this.#flush())
  }

  // One batch at a time while batches come back promptly: phases that arrive meanwhile wait
  // here and leave together when it returns, so under load batches grow and a round trip's
  // cost is shared by more requests (+10% throughput at 50 connections over letting each
  // thread take a batch). A batch out for SLOW_MS or more is stuck on a slow or hung
  // handler: then the next goes to another thread, so one bad request does not hold the rest.
  #flush (): void {
    this.#scheduled = false
    while (this.#queue.length > 0 && this.#mayLeave()) this.#send(this.#queue.splice(0, MAX_BATCH))
    if (this.#queue.length > 0 && this.#busy < this.#threads && this.#waiting === undefined) {
      this.#waiting = setTimeout(() => { this.#waiting = undefined; this.#flush() }, Math.max(0, this.#lastSent + SLOW_MS - performance.now()))
    }
  }

  #mayLeave (): boolean {
    return this.#busy === 0 || (this.#busy < this.#threads && performance.now() - this.#lastSent >= SLOW_MS)
  }

  /** A batch's synchronous pass ended: what waits can leave. */
  #back (): void {
    this.#busy--
    if (this.#queue.length > 0) this.#schedule()
  }

  #send (all: Pending[]): void {
    let items = all
    let tasks: Wire
    try {
      tasks = write(items)
    } catch {
      // A request whose state JSON cannot carry (ctx.shared with a cycle or a BigInt, set
      // by an in-process plugin) fails alone; the rest of its batch goes.
      items = all.filter((p) => {
        try {
          write([p])
          return true
        } catch (err) {
          p.reject(new IsolatedPluginError(p.plugin.name, `the request cannot be sent to a worker: ${(err as Error).message} (in ${p.handler})`))
          return false
        }
      })
      if (items.length === 0) return
      tasks = write(items)
    }
    const id = this.#nextId++
    const batch: InFlight = { items, left: items.length, submitted: Date.now(), returned: false, threadId: -1, abort: new AbortController(), timer: undefined }
    this.#inFlight.set(id, batch)
    this.#busy++
    this.#lastSent = performance.now()
    this.#arm(id, batch)
    this.#pool.run({ id, version: this.#opts.version(), tasks } satisfies Batch, { signal: batch.abort.signal }).then(
      (result: BatchResult) => {
        this.#back()
        batch.returned = true
        batch.threadId = result.threadId
        const outcomes = readOutcomes(result.outcomes)
        for (let i = 0; i < outcomes.length; i++) {
          const outcome = outcomes[i]
          if (outcome != null) this.#settle(id, batch, i, outcome)
        }
      },
      (err: Error) => {
        this.#back()
        const reason = batch.abort.signal.aborted ? `timed out after ${Date.now() - batch.submitted} ms` : err.message
        this.#fail(id, batch, reason)
      },
    )
  }

  /** The batch's deadline. A replacement thread starting up while it waits extends it. */
  #arm (id: number, batch: InFlight): void {
    const cold = Math.max(0, this.#coldUntil - batch.submitted)
    const end = batch.submitted + this.#opts.timeoutMs + cold
    batch.timer = setTimeout(() => {
      if (this.#coldUntil > batch.submitted && Date.now() < this.#coldUntil + this.#opts.timeoutMs) {
        batch.timer = setTimeout(() => this.#expire(id, batch), this.#coldUntil + this.#opts.timeoutMs - Date.now())
        return
      }
      this.#expire(id, batch)
    }, Math.max(0, end - Date.now()))
  }

  #expire (id: number, batch: InFlight): void {
    if (!this.#inFlight.has(id)) return
    // Still inside the batch means stuck in synchronous code: only terminating the thread
    // frees it (piscina does, and rejects the task: #send fails what is left). Otherwise
    // the late ones are awaiting I/O; they fail, and the thread goes on serving.
    if (!batch.returned) batch.abort.abort()
    else this.#fail(id, batch, `timed out after ${Date.now() - batch.submitted} ms`)
  }

  #late (m: LateOutcome): void {
    if (typeof m?.tollgateBatch !== 'number') return
    const batch = this.#inFlight.get(m.tollgateBatch)
    if (batch !== undefined) this.#settle(m.tollgateBatch, batch, m.index, readOutcomes(m.outcome)[0] as Outcome)
  }

  #settle (id: number, batch: InFlight, index: number, outcome: Outcome): void {
    const item = batch.items[index]
    if (item === undefined || item.done) return
    item.done = true
    if (--batch.left === 0) this.#forget(id, batch)
    if ('error' in outcome) {
      item.reject(new IsolatedPluginError(item.plugin.name, `${outcome.error} (in ${item.handler})`))
      return
    }
    try {
      applyMutations(item.ctx, item.plugin.name, outcome.mutations, (m) => {
        this.#opts.log[m.level]({ plugin: item.plugin.name, request_id: item.ctx.id }, m.message)
      })
      item.resolve()
    } catch (err) {
      item.reject(err as Error)
    }
  }

  #fail (id: number, batch: InFlight, reason: string): void {
    for (let i = 0; i < batch.items.length; i++) this.#settle(id, batch, i, { error: reason })
    this.#forget(id, batch)
  }

  #forget (id: number, batch: InFlight): void {
    clearTimeout(batch.timer)
    this.#inFlight.delete(id)
  }

  async close (): Promise<void> {
    clearTimeout(this.#waiting)
    // Nothing may be left waiting on a pool that is gone (nor a timer holding the process).
    const queued = this.#queue
    this.#queue = []
    for (const p of queued) p.reject(new IsolatedPluginError(p.plugin.name, 'the isolation pool is closed'))
    await this.#pool.destroy()
    for (const [id, batch] of this.#inFlight) this.#fail(id, batch, 'the isolation pool is closed')
  }
}
