// A binary min-heap of addresses ordered by (heapKey, heapTie), with each address's
// position kept on the address so a changed key or a removal is O(log n). Round-robin,
// least-connections and latency all pick from one (Kong's least-connections uses a binary
// heap the same way: lua-binaryheap's minUnique).

import type { Address } from './address.js'

function less (a: Address, b: Address): boolean {
  return a.heapKey < b.heapKey || (a.heapKey === b.heapKey && a.heapTie < b.heapTie)
}

export class AddressHeap {
  readonly items: Address[] = []

  get size (): number { return this.items.length }

  peek (): Address | undefined { return this.items[0] }

  clear (): void {
    for (const a of this.items) a.heapIndex = -1
    this.items.length = 0
  }

  push (a: Address): void {
    a.heapIndex = this.items.length
    this.items.push(a)
    this.#up(a.heapIndex)
  }

  pop (): Address | undefined {
    const top = this.items[0]
    if (top !== undefined) this.remove(top)
    return top
  }

  has (a: Address): boolean {
    return a.heapIndex >= 0 && this.items[a.heapIndex] === a
  }

  remove (a: Address): void {
    if (!this.has(a)) return
    const i = a.heapIndex
    const last = this.items.pop() as Address
    a.heapIndex = -1
    if (last === a) return
    this.items[i] = last
    last.heapIndex = i
    this.#down(i)
    this.#up(last.heapIndex)
  }

  /** Restores order after `a.heapKey` / `a.heapTie` changed. */
  update (a: Address): void {
    if (!this.has(a)) return
    this.#up(a.heapIndex)
    this.#down(a.heapIndex)
  }

  #up (i: number): void {
    const items = this.items
    const a = items[i] as Address
    while (i > 0) {
      const p = (i - 1) >> 1
      const parent = items[p] as Address
      if (!less(a, parent)) break
      items[i] = parent
      parent.heapIndex = i
      i = p
    }
    items[i] = a
    a.heapIndex = i
  }

  #down (i: number): void {
    const items = this.items
    const n = items.length
    const a = items[i] as Address
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      let c = l
      if (r < n && less(items[r] as Address, items[l] as Address)) c = r
      const child = items[c] as Address
      if (!less(child, a)) break
      items[i] = child
      child.heapIndex = i
      i = c
    }
    items[i] = a
    a.heapIndex = i
  }
}
