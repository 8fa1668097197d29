// The node's recent traffic, second by second, for Tollgate Manager's live view
// (GET /status/traffic): requests, status classes and a latency histogram per second over
// the last five minutes. Kong has nothing like it (Kong Manager's charts are Enterprise's
// Vitals); prometheus's counters tell totals, not what the last minutes looked like.
//
// Recording is on every request's path, so it is a few array writes: no allocation, no
// timer. Cluster workers each keep their own window and send the primary their completed
// seconds with their stats (cluster.ts); the primary merges them into the node's window.

/** How many seconds are kept: what the live view shows. */
export const TRAFFIC_SECONDS = 300

const CLASSES = 5
/** Latency bins: bin i holds (LOWEST * GROWTH^(i-1), LOWEST * GROWTH^i] ms; the last is open. */
const BINS = 64
const LOWEST_MS = 0.1
const GROWTH = 1.25
const LOG_GROWTH = Math.log(GROWTH)
const WIDTH = CLASSES + BINS

const upper = (bin: number): number => LOWEST_MS * GROWTH ** bin

function binOf (ms: number): number {
  if (!(ms > LOWEST_MS)) return 0
  const b = Math.ceil(Math.log(ms / LOWEST_MS) / LOG_GROWTH)
  return b < BINS ? b : BINS - 1
}

/** One second's counts as sent between processes: [second, ...counts], counts of WIDTH. */
export type TrafficRow = number[]

export interface TrafficSecond {
  /** Unix time in seconds. */
  time: number
  requests: number
  status: { '1xx': number, '2xx': number, '3xx': number, '4xx': number, '5xx': number }
  /** From the histogram: within 12.5% of the true value; null without requests. */
  latency_ms: { p50: number, p95: number, p99: number } | null
}

export class TrafficWindow {
  /** The second each slot holds, or -1. */
  readonly #seconds = new Float64Array(TRAFFIC_SECONDS).fill(-1)
  readonly #counts = new Uint32Array(TRAFFIC_SECONDS * WIDTH)
  /** The last second handed out by take(). */
  #taken = 0
  readonly #now: () => number

  /** `now`: the clock in ms (tests set it). */
  constructor (now: () => number = Date.now) {
    this.#now = now
    this.#taken = Math.floor(now() / 1000) - 1
  }

  /** One finished request: its status code and its latency in ms. */
  record (status: number, ms: number): void {
    const base = this.#slot(Math.floor(this.#now() / 1000))
    const cls = (status / 100 | 0) - 1
    // A status outside 100-599 is no answer a client can use: counted as the server's failure.
    this.#counts[base + (cls >= 0 && cls < CLASSES ? cls : CLASSES - 1)]!++
    this.#counts[base + CLASSES + binOf(ms)]!++
  }

  /** The offset of `second`'s counts, emptied first when the slot held an older second. */
  #slot (second: number): number {
    const i = second % TRAFFIC_SECONDS
    const base = i * WIDTH
    if (this.#seconds[i] !== second) {
      this.#seconds[i] = second
      this.#counts.fill(0, base, base + WIDTH)
    }
    return base
  }

  /**
   * The completed seconds with traffic not taken before, for a worker to send the primary.
   * A second is complete once the clock has left it.
   */
  take (): TrafficRow[] {
    const current = Math.floor(this.#now() / 1000)
    const from = Math.max(this.#taken + 1, current - TRAFFIC_SECONDS + 1)
    const rows: TrafficRow[] = []
    for (let s = from; s < current; s++) {
      const i = s % TRAFFIC_SECONDS
      if (this.#seconds[i] !== s) continue
      const base = i * WIDTH
      rows.push([s, ...this.#counts.subarray(base, base + WIDTH)])
    }
    this.#taken = current - 1
    return rows
  }

  /** Adds another process's seconds (from take()) to this window's. */
  merge (rows: TrafficRow[]): void {
    const oldest = Math.floor(this.#now() / 1000) - TRAFFIC_SECONDS + 1
    for (const row of rows) {
      const second = row[0]
      if (second === undefined || row.length !== WIDTH + 1 || second < oldest) continue
      const i = second % TRAFFIC_SECONDS
      // A slot already holding a later second keeps it: this row is too old.
      if (this.#seconds[i]! > second) continue
      const base = this.#slot(second)
      for (let k = 0; k < WIDTH; k++) this.#counts[base + k]! += row[k + 1]!
    }
  }

  /** The last `seconds` completed seconds that had traffic, oldest first. */
  seconds (seconds = TRAFFIC_SECONDS): TrafficSecond[] {
    const current = Math.floor(this.#now() / 1000)
    const out: TrafficSecond[] = []
    for (let s = current - Math.min(seconds, TRAFFIC_SECONDS - 1); s < current; s++) {
      const i = s % TRAFFIC_SECONDS
      if (this.#seconds[i] !== s) continue
      const c = this.#counts.subarray(i * WIDTH, (i + 1) * WIDTH)
      const requests = c[0]! + c[1]! + c[2]! + c[3]! + c[4]!
      if (requests === 0) continue
      const bins = c.subarray(CLASSES)
      out.push({
        time: s,
        requests,
        status: { '1xx': c[0]!, '2xx': c[1]!, '3xx': c[2]!, '4xx': c[3]!, '5xx': c[4]! },
        latency_ms: { p50: quantile(bins, requests, 0.5), p95: quantile(bins, requests, 0.95), p99: quantile(bins, requests, 0.99) },
      })
    }
    return out
  }
}

/** The q-quantile of a histogram of `n` values, interpolated within its bin; ms, 3 decimals. */
function quantile (bins: Uint32Array, n: number, q: number): number {
  const rank = q * n
  let seen = 0
  for (let b = 0; b < BINS; b++) {
    const inBin = bins[b]!
    if (inBin === 0 || seen + inBin < rank) { seen += inBin; continue }
    const lo = b === 0 ? 0 : upper(b - 1)
    // The open last bin has no upper bound: its lower one is all that is known.
    const hi = b === BINS - 1 ? lo : upper(b)
    return Math.round((lo + (hi - lo) * Math.max(0, rank - seen) / inBin) * 1000) / 1000
  }
  return Math.round(upper(BINS - 2) * 1000) / 1000
}
