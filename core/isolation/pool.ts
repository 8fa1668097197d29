// Host side of worker isolation: a piscina pool per gateway process. Each phase of an
// isolated plugin is one task (snapshot in, mutations out). A timeout, a thrown error, a
// worker that exits or outgrows its memory limit fails that request with a 500 and a log
// line naming the plugin; piscina replaces the worker and other requests go on.

import { availableParallelism } from 'node:os'
import { Piscina } from 'piscina'
import type { Logger } from '../log.js'
import type { RequestContext } from '../runtime/context.js'
import type { AnyPlugin } from '../runtime/plugin.js'
import { applyMutations, snapshotOf, type Mutation } from './snapshot.js'
import type { Task, WorkerData } from './worker.js'

export interface IsolationOptions {
  /** Module names or paths of the isolated plugins, as in the plugins setting. */
  plugins: string[]
  cwd: string
  storePath: string
  nodeId: string
  size: number
  timeoutMs: number
  maxMemoryMb: number
  log: Logger
  /** The current config version, so workers know when cached entities are stale. */
  version: () => number
}

/** An isolated plugin's failure; the pipeline turns it into Kong's 500. */
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

/** How long a replacement worker may take to load before its queue counts against timeouts. */
const COLD_START_MS = 10_000

export class IsolationPool {
  readonly #pool: Piscina
  readonly #opts: IsolationOptions
  #started = false
  #coldUntil = 0

  constructor (opts: IsolationOptions) {
    this.#opts = opts
    const workerData: WorkerData = { plugins: opts.plugins, cwd: opts.cwd, storePath: opts.storePath, nodeId: opts.nodeId }
    this.#pool = new Piscina({
      filename: WORKER,
      workerData,
      // A fixed set of threads, all loaded at start: the timeout measures plugin code,
      // not a thread being created and loading modules.
      minThreads: Math.max(1, Math.min(opts.size, availableParallelism() * 4)),
      maxThreads: Math.max(1, Math.min(opts.size, availableParallelism() * 4)),
      idleTimeout: Number.POSITIVE_INFINITY,
      resourceLimits: { maxOldGenerationSizeMb: opts.maxMemoryMb, maxYoungGenerationSizeMb: Math.max(8, Math.floor(opts.maxMemoryMb / 8)) },
    })
    // A worker that dies (process.exit, memory limit) is replaced by piscina; say so.
    this.#pool.on('error', (err: Error) => opts.log.error({ err }, 'isolated plugin worker failed'))
    // While a replacement loads, tasks queued behind it get extra time: the timeout is
    // meant for plugin code, not for a thread starting up. piscina replaces a thread as
    // soon as one is destroyed (and says 'workerCreate' only once the new one is ready).
    this.#pool.on('workerDestroy', () => { if (this.#started) this.#coldUntil = Date.now() + COLD_START_MS })
  }

  /** Resolves once the threads have loaded the plugins; rejects if a plugin fails to load. */
  async warm (): Promise<void> {
    const size = this.#pool.options.maxThreads
    await Promise.all(Array.from({ length: size * 2 }, () => this.#pool.run({ warmup: true } as Task)))
    this.#started = true
  }

  async run (ctx: RequestContext, plugin: AnyPlugin, handler: Task['handler'], conf: Record<string, unknown>): Promise<void> {
    const reads = plugin.readsBody
    const withBody = reads === true || (typeof reads === 'function' && reads(conf as never))
    const task: Task = { plugin: plugin.name, handler, conf, snapshot: snapshotOf(ctx, plugin.name, withBody), version: this.#opts.version() }
    const abort = new AbortController()
    const submitted = Date.now()
    let timeout = this.#opts.timeoutMs + Math.max(0, this.#coldUntil - submitted)
    // If a replacement thread starts while this task waits, the task may be queued behind
    // its start-up: allow for that before giving up.
    const check = (): void => {
      const end = this.#coldUntil > submitted ? Math.max(submitted + timeout, this.#coldUntil + this.#opts.timeoutMs) : submitted + timeout
      if (Date.now() >= end) { timeout = Date.now() - submitted; abort.abort(); return }
      timer = setTimeout(check, end - Date.now())
    }
    let timer = setTimeout(check, timeout)
    let mutations: Mutation[]
    try {
      mutations = await this.#pool.run(task, { signal: abort.signal }) as Mutation[]
    } catch (err) {
      const message = abort.signal.aborted ? `timed out after ${timeout} ms in ${handler}` : (err as Error).message
      throw new IsolatedPluginError(plugin.name, message)
    } finally {
      clearTimeout(timer)
    }
    applyMutations(ctx, plugin.name, mutations, (m) => {
      this.#opts.log[m.level]({ plugin: plugin.name, request_id: ctx.id }, m.message)
    })
  }

  async close (): Promise<void> {
    await this.#pool.destroy()
  }
}
