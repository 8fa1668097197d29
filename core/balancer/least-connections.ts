// Least-connections, as Kong's kong/runloop/balancer/least_connections.lua: a min-heap of
// available addresses keyed by (active attempts + 1) / weight. The +1 is Kong's: with no
// connections anywhere the heaviest address goes first instead of any idle one. The
// balancer counts attempts (`active`) for every algorithm, so the counts stay right when an
// upstream switches algorithm with requests in flight. A retry skips addresses
// already tried; when all were tried it starts over from the best (Kong drops its list of
// failed addresses then).

import type { Address } from './address.js'
import { pickUntried, type Algorithm } from './algorithm.js'
import { AddressHeap } from './heap.js'

export class LeastConnections implements Algorithm {
  readonly #heap = new AddressHeap()
  readonly #parked: Address[] = []

  rebuild (addresses: readonly Address[]): void {
    this.#heap.clear()
    for (let i = 0; i < addresses.length; i++) {
      const a = addresses[i] as Address
      a.heapKey = (a.active + 1) / a.weight
      a.heapTie = i
      if (a.available) this.#heap.push(a)
    }
  }

  availabilityChanged (a: Address): void {
    if (a.available) {
      a.heapKey = (a.active + 1) / a.weight
      this.#heap.push(a)
    } else {
      this.#heap.remove(a)
    }
  }

  pick (_hash: string, tried: ReadonlySet<string> | undefined): Address | undefined {
    const a = pickUntried(this.#heap, tried, this.#parked)
    return a
  }

  started (a: Address): void {
    a.heapKey = (a.active + 1) / a.weight
    this.#heap.update(a)
  }

  release (a: Address): void {
    // update() is a no-op for an address no longer in the heap.
    a.heapKey = (a.active + 1) / a.weight
    this.#heap.update(a)
  }
}
