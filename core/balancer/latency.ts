// Latency (Kong 3.2+ `latency`, kong/runloop/balancer/latency.lua): an exponentially
// weighted moving average of each address's response time with a 10 s decay, picking the
// lowest average / weight among the addresses not yet tried for the request.
//
// Kong parity:
// - a sample of `rtt` ms taken `dt` s after the previous one gives
//   ewma = ewma × e^(−dt/10) + rtt × (1 − e^(−dt/10));
// - scores are read decayed to now, as if a 0 ms sample arrived now, so an address that has
//   not answered for a while drifts back towards 0 and is tried again;
// - addresses that appear later start at the mean of the current ones (Kong's "slow
//   start"), so a new address is not flooded, nor starved.
// Where we differ:
// - Kong compares two candidates (its PICK_SET_SIZE, taken in table order); we take the
//   best of all untried addresses, as the issue asks, in O(log n): e^(−(now−t)/10) is the
//   same factor for every address, so ordering by ln(ewma / weight) + t/10 orders by the
//   decayed score at any `now`, and that key only changes when a sample arrives;
// - equal scores (every address before its first sample) go to the least recently picked
//   one, so a cold balancer spreads its first requests instead of sending all to one;
// - the first sample of an address is its average (Kong blends it with the initial 0, which
//   makes a first sample count for almost nothing);
// - with every address tried, a retry starts over from the best rather than failing with
//   "no peers" as Kong's does.

import type { Address } from './address.js'
import { pickUntried, type Algorithm } from './algorithm.js'
import { AddressHeap } from './heap.js'

/** Kong's DECAY_TIME, seconds. */
export const DECAY_SECONDS = 10

export class Latency implements Algorithm {
  readonly #heap = new AddressHeap()
  readonly #parked: Address[] = []
  readonly #now: () => number
  /** Addresses this balancer has had before, to tell new ones apart for the slow start. */
  readonly #seen = new WeakSet<Address>()
  #picks = 0

  /** `now`: seconds, on any monotonic clock. */
  constructor (now: () => number) {
    this.#now = now
  }

  rebuild (addresses: readonly Address[]): void {
    const now = this.#now()
    // On the very first build there is nothing to average: all start unmeasured.
    let sum = 0
    let n = 0
    for (const a of addresses) {
      if (this.#seen.has(a) && a.available) { sum += decayed(a, now); n++ }
    }
    this.#heap.clear()
    for (const a of addresses) {
      if (!this.#seen.has(a)) {
        this.#seen.add(a)
        if (n > 0) { a.ewma = sum / n; a.ewmaAt = now }
        a.heapTie = 0 // never picked here: first among equals
      }
      a.heapKey = score(a)
      if (a.available) this.#heap.push(a)
    }
  }

  availabilityChanged (a: Address): void {
    if (a.available) { a.heapKey = score(a); this.#heap.push(a) } else this.#heap.remove(a)
  }

  pick (_hash: string, tried: ReadonlySet<string> | undefined): Address | undefined {
    const a = pickUntried(this.#heap, tried, this.#parked)
    if (a === undefined) return undefined
    a.heapTie = ++this.#picks
    this.#heap.update(a)
    return a
  }

  started (): void {}

  release (a: Address, elapsedMs: number | undefined): void {
    if (elapsedMs === undefined || !(elapsedMs >= 0)) return
    const now = this.#now()
    const w = Math.exp(-(now - a.ewmaAt) / DECAY_SECONDS)
    a.ewma = a.ewma * w + elapsedMs * (1 - w)
    a.ewmaAt = now
    a.heapKey = score(a)
    this.#heap.update(a)
  }
}

/** The address's average decayed to `now` (Kong's get_or_update_ewma with rtt 0). */
export function decayed (a: Address, now: number): number {
  if (a.ewma === 0) return 0
  return a.ewma * Math.exp(-(now - a.ewmaAt) / DECAY_SECONDS)
}

function score (a: Address): number {
  return a.ewma > 0 ? Math.log(a.ewma / a.weight) + a.ewmaAt / DECAY_SECONDS : Number.NEGATIVE_INFINITY
}
