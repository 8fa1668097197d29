// Weighted round-robin, smooth: stride scheduling over a heap.
//
// Kong (kong/runloop/balancer/round_robin.lua) puts each address weight/gcd times on a
// wheel, shuffles it when the address set changes and walks it, skipping unavailable
// entries. We keep its results (exact weight ratios per cycle, strict alternation for equal
// weights, a random start so worker processes do not move in step) but not its wheel:
// - the wheel has sum(weight)/gcd entries, which for weights such as 65535 and 65534 over
//   many targets is tens of millions of slots; stride scheduling needs one heap entry per
//   address;
// - a shuffled wheel sends bursts (A A A B B B) within a cycle; stride scheduling
//   interleaves as evenly as the weights allow (nginx's smooth weighted round-robin does
//   the same in O(n) per pick; the heap makes it O(log n));
// - skipping unavailable entries walks the wheel (O(wheel) when many are down); here an
//   unavailable address simply is not in the heap.
// Each address has a pass (virtual time) and a stride of 1/weight; a pick takes the lowest
// pass and advances it by its stride, so over any stretch each address is picked in
// proportion to its weight, within one pick.

import type { Address } from './address.js'
import { pickUntried, type Algorithm } from './algorithm.js'
import { AddressHeap } from './heap.js'

export class RoundRobin implements Algorithm {
  readonly #heap = new AddressHeap()
  readonly #parked: Address[] = []
  readonly #random: () => number

  constructor (random: () => number = Math.random) {
    this.#random = random
  }

  rebuild (addresses: readonly Address[]): void {
    const base = this.#heap.peek()?.heapKey ?? 0
    this.#heap.clear()
    for (let i = 0; i < addresses.length; i++) {
      const a = addresses[i] as Address
      a.stride = 1 / a.weight
      // A random phase within one stride: Kong shuffles its wheel for the same reason,
      // so that processes rebuilt at the same moment do not all start on one address.
      a.heapKey = base + this.#random() * a.stride
      a.heapTie = i
      if (a.available) this.#heap.push(a)
    }
  }

  availabilityChanged (a: Address): void {
    if (!a.available) { this.#heap.remove(a); return }
    // Rejoin at the current virtual time, not at the pass it left with: otherwise an
    // address back from a long outage would take every pick until it caught up.
    const now = this.#heap.peek()?.heapKey
    if (now !== undefined && a.heapKey < now) a.heapKey = now
    this.#heap.push(a)
  }

  pick (_hash: string, tried: ReadonlySet<string> | undefined): Address | undefined {
    const a = pickUntried(this.#heap, tried, this.#parked)
    if (a === undefined) return undefined
    a.heapKey += a.stride
    this.#heap.update(a)
    return a
  }

  started (): void {}
  release (): void {}
}
