// A worker thread's mailbox in shared memory: one batch in, its answer out, and a wake-up
// through Atomics rather than a MessagePort message. Both ends already keep exactly one
// batch out per thread (pool.ts waits for a thread's answer before it sends that thread
// more), so a single slot each way is enough: no ring, no locks.
//
// Why: under load, a MessagePort hand-off was most of an isolated phase's cost. The worker
// spent ~15 us a request for ~1 us of plugin work, most of it in structured-clone
// serialisation and the port's event machinery on both sides (bench/RESULTS.md,
// 2026-12-04 evening). Here a batch is its JSON text written as UTF-8 into the shared
// buffer, and the only cross-thread step is Atomics.notify.
//
// Both sides wait with Atomics.waitAsync, never the blocking Atomics.wait: the main thread
// is the gateway's event loop, and the worker's loop must keep serving async handlers (I/O,
// timers, configure hooks) between batches. The one exception is a quiet gateway, where
// each side may watch the mailbox for a bounded time (`poll`, `rouse`): a wake-up on a VM
// costs more than the short watch.
//
// What does not fit goes by postMessage as before: a batch or answer carrying bodies (the
// binaries), larger than its area, or a batch-wide error. Late answers (handlers still on
// I/O when the batch returned) and log lines always do.

/** Int32 words: sequence numbers, which the waits watch, and byte lengths. */
const IN_SEQ = 0
const OUT_SEQ = 1
const IN_LEN = 2
const OUT_LEN = 3
const IN_RESET = 4
/** 1 while the host waits on OUT_SEQ: only then does an answer need a wake-up. */
const HOST_WAITING = 5
/** 1 while the worker waits on IN_SEQ: only then does a batch (or a rouse) need a wake-up. */
const WORKER_WAITING = 6
/** Float64 words after the Int32 ones: ids and versions outgrow 31 bits on a long-lived node. */
const IN_ID = 0
const IN_VERSION = 1
const OUT_ID = 2

const CTL_BYTES = 32
const NUM_BYTES = 32
const HEAD = CTL_BYTES + NUM_BYTES

/**
 * How long a roused worker watches for its batch. The host rouses it as a request's plugin
 * phases begin, and the batch follows once the in-process plugins before it have run: tens
 * of microseconds. A batch that does not come (the isolated plugin's config did not apply,
 * an earlier plugin answered the request) costs the thread this much CPU, on a gateway
 * quiet enough to have it spare.
 */
const ROUSE_US = 200

/** OUT_LEN for an answer that went by message instead. */
const BY_MESSAGE = -1

/**
 * Sizes: a full batch (64 phases) with browser-like request headers is about 42 KB of
 * JSON; 1 MiB holds one even when every request is near node's 16 KB header limit.
 */
export const IN_BYTES = 1 << 20
export const OUT_BYTES = 1 << 18

export interface ChannelBatch { id: number, version: number, reset: boolean, json: string }

/** Host and worker views of one shared buffer; each side uses its own half of the methods. */
export class Channel {
  readonly buffer: SharedArrayBuffer
  readonly #ctl: Int32Array
  readonly #num: Float64Array
  readonly #in: Buffer
  readonly #out: Buffer
  /** The last input (worker) or output (host) sequence this side has read. */
  #seen = 0

  constructor (buffer = new SharedArrayBuffer(HEAD + IN_BYTES + OUT_BYTES)) {
    this.buffer = buffer
    this.#ctl = new Int32Array(buffer, 0, CTL_BYTES / 4)
    this.#num = new Float64Array(buffer, CTL_BYTES, NUM_BYTES / 8)
    this.#in = Buffer.from(buffer, HEAD, IN_BYTES)
    this.#out = Buffer.from(buffer, HEAD + IN_BYTES, OUT_BYTES)
  }

  // --- host ------------------------------------------------------------------------------

  /** Puts a batch in the mailbox and wakes the worker; false, without sending, when the JSON does not fit. */
  send (batch: ChannelBatch): boolean {
    const len = write(this.#in, batch.json)
    if (len < 0) return false
    this.#num[IN_ID] = batch.id
    this.#num[IN_VERSION] = batch.version
    this.#ctl[IN_RESET] = batch.reset ? 1 : 0
    this.#ctl[IN_LEN] = len
    Atomics.add(this.#ctl, IN_SEQ, 1)
    // A worker that is not waiting is at work or watching for this batch (after a rouse).
    if (Atomics.load(this.#ctl, WORKER_WAITING) === 1) Atomics.notify(this.#ctl, IN_SEQ)
    return true
  }

  /**
   * Wakes an idle worker ahead of a batch that is about to come: it then watches for the
   * batch for up to ROUSE_US instead of sleeping, so its own wake-up overlaps the host's
   * work on the request. True when it was idle and has been woken.
   */
  rouse (): boolean {
    if (Atomics.load(this.#ctl, WORKER_WAITING) !== 1) return false
    Atomics.notify(this.#ctl, IN_SEQ)
    return true
  }

  /** The worker has written to the mailbox since the last answer was taken. */
  get ready (): boolean {
    return Atomics.load(this.#ctl, OUT_SEQ) !== this.#seen
  }

  /**
   * Watches for the answer for up to `us` microseconds without yielding the thread: true
   * once it is there. This burns the host's CPU, so the pool does it only when nothing
   * else is going on; then it spares the host a wake-up, which is most of what one
   * isolated phase costs a lone request on a VM.
   */
  poll (us: number): boolean {
    const until = performance.now() + us / 1000
    do {
      if (Atomics.load(this.#ctl, OUT_SEQ) !== this.#seen) return true
    } while (performance.now() < until)
    return false
  }

  /**
   * Calls `answered` once the worker writes to the mailbox (at once if it has). Only this
   * costs the worker a wake-up call, so the pool first looks with `ready` when it can.
   */
  wait (answered: () => void): void {
    // Flag, then look: the worker stores its sequence, then reads the flag, so either it
    // sees the flag and wakes this wait, or the look below sees its answer.
    Atomics.store(this.#ctl, HOST_WAITING, 1)
    const wait = Atomics.waitAsync(this.#ctl, OUT_SEQ, this.#seen)
    if (wait.async) void wait.value.then(answered)
    else queueMicrotask(answered)
  }

  /**
   * The worker's answer: its batch id and outcomes JSON; undefined when there is none yet,
   * or it went by message.
   */
  answer (): { id: number, json: string } | undefined {
    const seq = Atomics.load(this.#ctl, OUT_SEQ)
    if (seq === this.#seen) return undefined
    this.#seen = seq
    Atomics.store(this.#ctl, HOST_WAITING, 0)
    const len = this.#ctl[OUT_LEN] as number
    if (len === BY_MESSAGE) return undefined
    return { id: this.#num[OUT_ID] as number, json: this.#out.toString('utf8', 0, len) }
  }

  /** Releases a wait on a thread being dropped (its answer will never come). */
  abandon (): void {
    Atomics.store(this.#ctl, OUT_LEN, BY_MESSAGE)
    Atomics.add(this.#ctl, OUT_SEQ, 1)
    Atomics.notify(this.#ctl, OUT_SEQ)
  }

  // --- worker ----------------------------------------------------------------------------

  /** Calls `take` with each batch as it arrives, for as long as the thread lives. */
  listen (take: (batch: ChannelBatch) => void): void {
    const next = (): void => {
      Atomics.store(this.#ctl, WORKER_WAITING, 0)
      let seq = Atomics.load(this.#ctl, IN_SEQ)
      // Woken with nothing new: the host roused this thread for a batch it is about to send.
      if (seq === this.#seen) {
        const until = performance.now() + ROUSE_US / 1000
        while (seq === this.#seen && performance.now() < until) seq = Atomics.load(this.#ctl, IN_SEQ)
      }
      if (seq !== this.#seen) {
        this.#seen = seq
        // Read out before anything else runs: the host writes the next batch over it once
        // this one is answered.
        take({ id: this.#num[IN_ID] as number, version: this.#num[IN_VERSION] as number, reset: this.#ctl[IN_RESET] === 1, json: this.#in.toString('utf8', 0, this.#ctl[IN_LEN]) })
      }
      // Flag, then wait: the host adds to IN_SEQ, then reads the flag, so either it sees the
      // flag and notifies, or the wait sees the new sequence and returns at once.
      Atomics.store(this.#ctl, WORKER_WAITING, 1)
      const wait = Atomics.waitAsync(this.#ctl, IN_SEQ, this.#seen)
      if (wait.async) void wait.value.then(next)
      else queueMicrotask(next)
    }
    next()
  }

  /** Answers the batch in the mailbox; false, having told the host to expect a message, when it does not fit. */
  reply (id: number, json: string | undefined): boolean {
    const len = json === undefined ? -1 : write(this.#out, json)
    this.#num[OUT_ID] = id
    this.#ctl[OUT_LEN] = len < 0 ? BY_MESSAGE : len
    Atomics.add(this.#ctl, OUT_SEQ, 1)
    // A host that is not waiting looks for itself on its next turn: a wake-up costs this
    // thread a system call and the host an event-loop round, under load once per batch.
    if (Atomics.load(this.#ctl, HOST_WAITING) === 1) Atomics.notify(this.#ctl, OUT_SEQ)
    return len >= 0
  }
}

/** Writes `text` as UTF-8 at the start of `into`; its length, or -1 when it does not fit. */
function write (into: Buffer, text: string): number {
  // UTF-8 takes at most 3 bytes per UTF-16 unit: most batches are known to fit without
  // measuring them first.
  if (text.length * 3 > into.length && Buffer.byteLength(text) > into.length) return -1
  return into.write(text, 0, 'utf8')
}
