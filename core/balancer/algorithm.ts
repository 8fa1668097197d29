// What every balancing algorithm implements. The balancer owns the addresses, their
// weights and availability; an algorithm keeps only the structure it picks from.

import type { Address } from './address.js'

export interface Algorithm {
  /**
   * The set of addresses in play (weight > 0), or their weights, changed: rebuild.
   * `addresses` is sorted by target then address, and includes unavailable ones.
   */
  rebuild (addresses: readonly Address[]): void
  /** `address.available` flipped (the address is one of those given to `rebuild`). */
  availabilityChanged (address: Address): void
  /**
   * Picks an available address, avoiding the keys in `tried` while an untried available
   * one exists. Undefined only when no address is available.
   */
  pick (hash: string, tried: ReadonlySet<string> | undefined): Address | undefined
  /** An attempt on `address` began: the balancer has just counted it in `address.active`. */
  started (address: Address): void
  /**
   * The attempt ended, `elapsedMs` after it began (undefined: it failed before a response);
   * the balancer has already taken it off `address.active`. The address may have left the
   * balancer meanwhile (a DNS change during the request).
   */
  release (address: Address, elapsedMs: number | undefined): void
}

export type AlgorithmName = 'round-robin' | 'consistent-hashing' | 'least-connections' | 'latency'

/** Shared by the heap algorithms: the best untried entry, tried ones popped and put back. */
export function pickUntried (heap: { peek (): Address | undefined, pop (): Address | undefined, push (a: Address): void }, tried: ReadonlySet<string> | undefined, parked: Address[]): Address | undefined {
  const top = heap.peek()
  if (top === undefined || tried === undefined || tried.size === 0 || !tried.has(top.key)) return top
  // At most |tried| pops: retries are few (service.retries, 5 by default).
  let found: Address | undefined
  for (;;) {
    const a = heap.pop()
    if (a === undefined) break
    parked.push(a)
    if (!tried.has(a.key)) { found = a; break }
  }
  for (const a of parked) heap.push(a)
  parked.length = 0
  // Everything was tried already: start over from the best, as Kong's least-connections
  // drops its failed list when it runs out of addresses.
  return found ?? heap.peek()
}
