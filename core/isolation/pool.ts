// Host side of worker isolation: a fixed set of worker threads per gateway process. Each
// phase of an isolated plugin is a task (snapshot in, mutations out); the tasks reached in
// one event-loop turn travel to a thread together as one batch, because a round trip
// costs a thread wake-up on each side whatever it carries and a busy gateway reaches many
// phases per turn.
//
// The threads are ours, not a piscina pool's, and a batch goes through the thread's
// shared-memory mailbox (channel.ts), not a message: piscina's task machinery measured
// 52 us a round trip against 33 us for bare messages (one in flight, this machine), more
// than the whole budget for an isolated phase, and under load the messages' own
// machinery was most of what isolation cost. What piscina gave beyond that (replacing a
// dead thread, terminating a stuck one, heap limits) is a few dozen lines here.
//
// Failures stay with their request: a thrown error fails its own phase; a timeout fails
// its own phase (and, if the thread is stuck in synchronous code, the batch it is stuck
// in: the thread is then terminated and replaced); a thread that exits or outgrows its
// memory limit fails the phases it was running. Each gets Kong's 500 and a log line
// naming the plugin; other requests go on.

import type { PgSettings } from '../store/pg/settings.js'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import type { Logger } from '../log.js'
import type { RequestContext } from '../runtime/context.js'
import { readsBody, type AnyPlugin, type HandlerName } from '../runtime/plugin.js'
import type { PluginRunner, RunInstance } from '../runtime/plugin-runner.js'
import { Channel } from './channel.js'
import { applyMutations, BatchWriter, readOutcomes, Resident, type Outcome, type Wire } from './snapshot.js'
import { keyHashingPepper } from '../../plugins/key-auth/hashing.js'
import type { Batch, BatchResult, LateOutcome, WorkerData, WorkerLog, WorkerState } from './worker.js'

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
  /**
   * Whether the process is serving one request only (the one asking): the gateway's own
   * count. Without it the pool judges from its batches alone (see POLL_US).
   */
  alone?: () => boolean
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
  ? new URL('../../dist/core/isolation/worker.js', import.meta.url)
  : new URL('./worker.js', import.meta.url)

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
    } else if (a === '--enable-source-maps' || a.startsWith('--conditions=') || a === '--cpu-prof' || a.startsWith('--cpu-prof-')) {
      out.push(a)
    }
  }
  return out
}

/** How long a thread may take to load its plugins before it is given up and replaced. */
const COLD_START_MS = 10_000

/** The wait before replacing a thread that died before it had loaded. */
const RESPAWN_MS = 1000

/** Phases per batch: enough to amortise a round trip, few enough to spread over threads. */
const MAX_BATCH = 64

/** How long a batch may be out before the next one goes to another thread regardless. */
const SLOW_MS = 10

/**
 * Pacing under load. When the threads can run on other CPUs than the main thread, a batch
 * comes back sooner and batches shrink, and each costs a wake-up on both sides across CPUs:
 * 20-30 us on a VM. So once batches carry PACE_FROM phases or more (a loaded gateway;
 * one request at a time never waits), the next leaves no sooner than PACE_MS after the
 * last, unless a quarter of MAX_BATCH is waiting. Isolated / in-process header plugin, 50
 * connections, nothing pinned: 0.81x -> 0.90x-0.93x. On a single CPU the threads (at a
 * lower priority) only run when the event loop yields, which batches as well; pacing there
 * only delayed (0.87x -> 0.81x), so it is off.
 */
const PACE_MS = 0.5
const PACE_FROM = 4
/**
 * A lone request (the only one the process is serving, one phase in the batch, one in the
 * batch before, nothing else out or waiting): the host watches the mailbox for up to
 * POLL_US instead of going back to its event loop, where the answer would have to wake
 * it. The loop has nothing else to do then, and the wake-up (a cross-thread task on top of
 * a futex, 15-40 us on this VM) is the larger part of what an isolated phase adds at one
 * connection. Never with one CPU, where the watching would keep the worker from running;
 * never with other requests open, whose I/O the watching would hold up: at 4 connections,
 * judging by batches alone left the isolated gateway at 0.58-0.62x of in-process against
 * 0.71-0.73x without watching (bench/RESULTS.md, 2026-12-04 last).
 */
const POLL_US = 150

interface Pending {
  /** performance.now() when it was queued. */
  queued: number
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
  thread: Thread
  /** The thread returned from the batch; what is left is waiting on I/O there. */
  returned: boolean
  /** Its deadline passed while the thread was still inside it: the thread is being terminated. */
  expired: boolean
  timer: NodeJS.Timeout | undefined
}

/** One worker thread and what it holds. */
interface Thread {
  worker: Worker
  /** Plugins loaded: it may take batches. */
  ready: boolean
  /** It was ready once: a thread that dies before that is not replaced at once. */
  served: boolean
  /** A batch's synchronous pass is out on it. */
  busy: boolean
  /** Terminated or exited: it takes nothing more. */
  gone: boolean
  /** What it died of, when it said ('error'): the start's failure names it. */
  error: string | undefined
  batches: Set<number>
  loading: NodeJS.Timeout | undefined
  /** The entities and configs it holds from earlier batches, and the config version they are from. */
  resident: Resident
  version: number
  /** Its shared-memory mailbox: batches and answers that fit go there (channel.ts). */
  channel: Channel
}

/** A batch's phases on the wire; with `resident`, objects the thread holds go as slots. */
function write (items: Pending[], resident?: Resident): Wire {
  const writer = new BatchWriter(resident)
  for (const p of items) writer.add(p.ctx, p.plugin.name, p.handler, p.instance, readsBody(p.plugin, p.instance.config, p.ctx))
  return writer.finish()
}

/** The runner of isolated plugins: each phase runs in a worker thread (see above). */
export class IsolationPool implements PluginRunner {
  readonly #opts: IsolationOptions
  readonly #workerData: Omit<WorkerData, 'channel'>
  readonly #threads: Thread[] = []
  readonly #size: number
  /** More than one CPU to run on: pace batches (see PACE_MS). */
  readonly #pace = availableParallelism() > 1
  #closing = false
  #started = false
  /** The first load: resolves once every thread has loaded, rejects on a plugin failing to. */
  #warm: { resolve: () => void, reject: (err: Error) => void, left: number, lost: number } | undefined
  #queue: Pending[] = []
  #scheduled = false
  #lastSent = 0
  #lastSize = 0
  #waiting: NodeJS.Timeout | undefined
  #starve: NodeJS.Timeout | undefined
  #nextId = 0
  /** Threads whose mailbox has a batch out that the next loop turn looks for the answer to. */
  #looking: Thread[] = []
  readonly #inFlight = new Map<number, InFlight>()

  constructor (opts: IsolationOptions) {
    this.#opts = opts
    this.#workerData = { plugins: opts.plugins, isolated: opts.isolated ?? [], cwd: opts.cwd, storePath: opts.storePath, pg: opts.pg, shmPath: opts.shmPath, shmSizes: opts.shmSizes ?? {}, nodeId: opts.nodeId, keyauthPepper: keyHashingPepper() }
    this.#size = Math.max(1, Math.min(opts.size, availableParallelism() * 4))
  }

  /** Starts the threads; resolves once they have loaded the plugins, rejects if a plugin fails to load. */
  async warm (): Promise<void> {
    if (this.#started) return
    await new Promise<void>((resolve, reject) => {
      this.#warm = { resolve, reject, left: this.#size, lost: 0 }
      for (let i = 0; i < this.#size; i++) this.#spawn()
    })
    this.#started = true
  }

  #spawn (): void {
    const channel = new Channel()
    const worker = new Worker(WORKER, {
      workerData: { ...this.#workerData, channel: channel.buffer } satisfies WorkerData,
      execArgv: workerExecArgv(),
      resourceLimits: { maxOldGenerationSizeMb: this.#opts.maxMemoryMb, maxYoungGenerationSizeMb: Math.max(8, Math.floor(this.#opts.maxMemoryMb / 8)) },
    })
    const thread: Thread = { worker, ready: false, served: false, busy: false, gone: false, error: undefined, batches: new Set(), loading: undefined, resident: new Resident(), version: -1, channel }
    this.#threads.push(thread)
    // A replacement that never finishes loading would hold its share of the traffic forever.
    if (this.#started) thread.loading = setTimeout(() => this.#end(thread, 'it did not load within 10 s'), COLD_START_MS)
    worker.on('message', (m: BatchResult | LateOutcome | WorkerLog | WorkerState) => this.#message(thread, m))
    // An uncaught error or the heap limit: the thread exits next ('exit' below).
    worker.on('error', (err: Error) => {
      thread.error = err.message
      this.#opts.log.error({ err }, 'isolated plugin worker failed')
    })
    worker.on('exit', (code) => this.#exited(thread, code))
  }

  #message (thread: Thread, m: BatchResult | LateOutcome | WorkerLog | WorkerState): void {
    if ('outcomes' in m) return this.#returned(thread, m)
    if ('tollgateBatch' in m) return this.#late(m)
    if ('tollgateLog' in m) {
      const { level, plugin, message, stack } = m.tollgateLog
      this.#opts.log[level]({ err: { message, stack }, plugin, phase: 'configure' }, `plugin ${plugin} failed in configure (isolated)`)
      return
    }
    clearTimeout(thread.loading)
    if (m.state === 'failed') {
      if (this.#warm !== undefined) {
        const warm = this.#warm
        this.#warm = undefined
        void this.close().finally(() => warm.reject(new Error(m.error)))
        return
      }
      this.#opts.log.error({ err: { message: m.error } }, 'isolated plugin worker failed to load')
      this.#end(thread, m.error)
      return
    }
    thread.ready = true
    thread.served = true
    if (this.#warm !== undefined && --this.#warm.left === 0) {
      this.#warm.resolve()
      this.#warm = undefined
    }
    if (this.#queue.length > 0) this.#schedule()
  }

  /** Terminates a thread (stuck, or failing to load); 'exit' then fails what it held and replaces it. */
  #end (thread: Thread, why: string): void {
    if (thread.gone) return
    thread.gone = true
    thread.ready = false
    void thread.worker.terminate().catch((err: unknown) => this.#opts.log.error({ err }, `isolated plugin worker did not stop (${why})`))
  }

  #exited (thread: Thread, code: number): void {
    thread.gone = true
    thread.ready = false
    // A wait on its mailbox would hold the shared buffer for ever.
    thread.channel.abandon()
    clearTimeout(thread.loading)
    this.#threads.splice(this.#threads.indexOf(thread), 1)
    if (this.#warm !== undefined) {
      // A thread lost while loading (out of its heap on a crowded machine, say) is replaced,
      // as piscina did; only a plugin that fails to load ('failed' above) or repeated
      // losses stop the start.
      if (this.#warm.lost++ < 3 && !this.#closing) {
        this.#opts.log.error(`an isolation worker exited with code ${code} while loading plugins${thread.error === undefined ? '' : ` (${thread.error})`}; starting another`)
        this.#spawn()
        return
      }
      const warm = this.#warm
      this.#warm = undefined
      void this.close().finally(() => warm.reject(new Error(`an isolation worker exited with code ${code} while loading plugins${thread.error === undefined ? '' : `: ${thread.error}`}`)))
      return
    }
    // Phases it was running, or that were waiting on I/O in it, will never answer.
    for (const id of thread.batches) {
      const batch = this.#inFlight.get(id)
      if (batch !== undefined) this.#fail(id, batch, batch.expired ? `timed out after ${Date.now() - batch.submitted} ms` : `its worker thread ended (exit code ${code})`)
    }
    if (this.#closing) return
    // A thread that could not even load would fail the same way again at once: wait a
    // little, rather than spin and flood the log.
    if (thread.served) this.#spawn()
    else setTimeout(() => { if (!this.#closing) this.#spawn() }, RESPAWN_MS).unref()
  }

  /**
   * Runs one phase of an isolated plugin; settles once its mutations are applied to ctx.
   * Returns nothing (or throws the phase's failure) when it was answered at once: a lone
   * request on a quiet gateway (see #alone).
   */
  run (ctx: RequestContext, plugin: AnyPlugin, handler: HandlerName, instance: RunInstance): Promise<void> | undefined {
    const thread = this.#alone()
    if (thread !== undefined) {
      let settled = false
      let failure: Error | undefined
      const p: Pending = { queued: performance.now(), ctx, plugin, handler, instance, resolve: () => { settled = true }, reject: (err) => { settled = true; failure = err }, done: false }
      // What else reaches the pool this turn waits for the flush, as usual: only the first
      // phase of a turn goes at once, so a busier gateway is back to batches at once.
      this.#schedule()
      this.#send(thread, [p])
      if (failure !== undefined) throw failure
      if (settled) return
      return new Promise<void>((resolve, reject) => {
        p.resolve = resolve
        p.reject = reject
      })
    }
    return new Promise<void>((resolve, reject) => {
      if (this.#closing) {
        reject(new IsolatedPluginError(plugin.name, 'the isolation pool is closed'))
        return
      }
      this.#queue.push({ queued: performance.now(), ctx, plugin, handler, instance, resolve, reject, done: false })
      this.#schedule()
    })
  }

  /**
   * A request's phase with an isolated plugin in it begins. On a quiet gateway (the same
   * test as POLL_US's), wake the thread the batch will go to now: its wake-up then runs
   * alongside the plugins before the isolated one, and it watches for the batch.
   */
  readonly expect = (): void => {
    if (this.#inFlight.size === 0 && this.#quiet()) this.#free()?.channel.rouse()
  }

  /** POLL_US's test, less what is in flight (each caller has its own): nothing else going on. */
  #quiet (): boolean {
    return this.#pace && this.#lastSize <= 1 && this.#queue.length === 0 && (this.#opts.alone?.() ?? true)
  }

  /**
   * The thread a phase may go to at once, skipping the turn's flush: none unless the
   * gateway is quiet by POLL_US's test and this is the first phase to reach the pool this
   * turn. A flush's turn gathers company for a batch; a lone request has none to wait for,
   * and the turn (with its promise hops) was a tenth of what it paid for isolation.
   */
  #alone (): Thread | undefined {
    if (this.#scheduled || this.#closing || this.#inFlight.size > 0 || this.#waiting !== undefined || !this.#quiet()) return undefined
    return this.#free()
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
    // Under load, with CPUs to spread over: a batch leaves PACE_MS after the one before, so
    // more phases share each cross-CPU wake-up (see PACE_MS).
    if (this.#pace && this.#lastSize >= PACE_FROM && this.#queue.length < MAX_BATCH / 4 && performance.now() - this.#lastSent < PACE_MS) {
      this.#waiting ??= setTimeout(() => { this.#waiting = undefined; this.#flush() }, this.#lastSent + PACE_MS - performance.now())
      return
    }
    let thread: Thread | undefined
    while (this.#queue.length > 0 && (thread = this.#free()) !== undefined) this.#send(thread, this.#queue.splice(0, MAX_BATCH))
    if (this.#queue.length > 0 && !this.#threads.some((t) => t.ready)) this.#starving()
    if (this.#queue.length > 0 && this.#waiting === undefined && this.#threads.some((t) => t.ready && !t.busy)) {
      this.#waiting = setTimeout(() => { this.#waiting = undefined; this.#flush() }, Math.max(0, this.#lastSent + SLOW_MS - performance.now()))
    }
  }

  /**
   * No thread is ready (all of them replaced and loading): what waits gets a replacement's
   * start-up time plus the timeout, then fails, as a batch sent to a thread would.
   */
  #starving (): void {
    if (this.#starve !== undefined) return
    const limit = COLD_START_MS + this.#opts.timeoutMs
    this.#starve = setTimeout(() => {
      this.#starve = undefined
      const now = performance.now()
      this.#queue = this.#queue.filter((p) => {
        if (now - p.queued < limit) return true
        p.reject(new IsolatedPluginError(p.plugin.name, `no isolation thread could take it within ${limit} ms (in ${p.handler})`))
        return false
      })
      this.#flush()
    }, limit)
  }

  /** The thread the next batch may go to, if one may leave now. The first free one: its caches are warm. */
  #free (): Thread | undefined {
    let free: Thread | undefined
    let busy = false
    for (const t of this.#threads) {
      if (t.busy) busy = true
      else if (t.ready && free === undefined) free = t
    }
    if (free === undefined) return undefined
    return !busy || performance.now() - this.#lastSent >= SLOW_MS ? free : undefined
  }

  #send (thread: Thread, all: Pending[]): void {
    // A new config version, or a full table: the thread starts its table over.
    const version = this.#opts.version()
    const reset = thread.version !== version || thread.resident.slots.size >= thread.resident.max
    if (reset) {
      thread.resident.clear()
      thread.version = version
    }
    let items = all
    let tasks: Wire
    try {
      tasks = write(items, thread.resident)
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
      tasks = write(items, thread.resident)
    }
    const id = this.#nextId++
    const batch: InFlight = { items, left: items.length, submitted: Date.now(), thread, returned: false, expired: false, timer: undefined }
    this.#inFlight.set(id, batch)
    thread.batches.add(id)
    thread.busy = true
    const lone = items.length === 1 && this.#inFlight.size === 1 && this.#looking.length === 0 && this.#quiet()
    this.#lastSent = performance.now()
    this.#lastSize = items.length
    const deadline = (): void => { batch.timer = setTimeout(() => this.#expire(id, batch), this.#opts.timeoutMs) }
    // Bodies travel as binaries, which only a message carries.
    if (tasks.bins.length > 0 || !thread.channel.send({ id, version, reset, json: tasks.json })) {
      deadline()
      thread.worker.postMessage({ id, version, reset, tasks } satisfies Batch)
      return
    }
    if (lone && thread.channel.poll(POLL_US)) {
      this.#answered(thread)
      // Most lone batches are answered whole while the host watches, and never need the
      // timer; one still out (an async handler, an answer by message) gets its deadline now.
      if (this.#inFlight.get(id) === batch) deadline()
      return
    }
    deadline()
    this.#looking.push(thread)
    if (this.#looking.length === 1) setImmediate(this.#look)
  }

  /**
   * A loop turn after a batch went into a thread's mailbox, look whether it is answered:
   * under load the turn between takes long enough, and an answer found so costs neither
   * side a wake-up. Otherwise wait to be woken.
   */
  readonly #look = (): void => {
    const threads = this.#looking
    this.#looking = []
    for (const thread of threads) {
      if (thread.channel.ready) this.#answered(thread)
      else thread.channel.wait(() => this.#answered(thread))
    }
  }

  /** The thread wrote to its mailbox: an answer, or word that it comes by message. */
  #answered (thread: Thread): void {
    if (thread.gone) return
    const answer = thread.channel.answer()
    if (answer !== undefined) this.#returned(thread, { id: answer.id, outcomes: { json: answer.json, bins: [] } })
  }

  /** A batch's synchronous pass ended: its answers, and what waits can leave. */
  #returned (thread: Thread, result: BatchResult): void {
    thread.busy = false
    if (this.#queue.length > 0) this.#schedule()
    const batch = this.#inFlight.get(result.id)
    if (batch === undefined) return
    batch.returned = true
    if ('error' in result) {
      this.#fail(result.id, batch, result.error)
      return
    }
    const outcomes = readOutcomes(result.outcomes)
    for (let i = 0; i < outcomes.length; i++) {
      const outcome = outcomes[i]
      if (outcome != null) this.#settle(result.id, batch, i, outcome)
    }
  }

  #expire (id: number, batch: InFlight): void {
    if (!this.#inFlight.has(id)) return
    // Still inside the batch means stuck in synchronous code: only terminating the thread
    // frees it (its exit fails what is left). Otherwise the late ones are awaiting I/O;
    // they fail, and the thread goes on serving.
    if (!batch.returned) {
      batch.expired = true
      this.#end(batch.thread, 'a batch timed out')
    } else {
      this.#fail(id, batch, `timed out after ${Date.now() - batch.submitted} ms`)
    }
  }

  #late (m: LateOutcome): void {
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
    batch.thread.batches.delete(id)
  }

  async close (): Promise<void> {
    if (this.#closing) return
    this.#closing = true
    clearTimeout(this.#waiting)
    clearTimeout(this.#starve)
    // Nothing may be left waiting on threads that are gone (nor a timer holding the process).
    const queued = this.#queue
    this.#queue = []
    for (const p of queued) p.reject(new IsolatedPluginError(p.plugin.name, 'the isolation pool is closed'))
    await Promise.all(this.#threads.map(async (t) => { clearTimeout(t.loading); await t.worker.terminate() }))
    for (const [id, batch] of this.#inFlight) this.#fail(id, batch, 'the isolation pool is closed')
  }
}
