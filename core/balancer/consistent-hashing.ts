// Consistent hashing on a ring of `slots` points (ketama style), built as Kong builds it
// (kong/runloop/balancer/consistent_hashing.lua):
// - the ring has max(slots, 1000) points: Kong never builds a continuum smaller than 1000
//   (MIN_CONTINUUM_SIZE), whatever the upstream's `slots` (which may be as low as 10);
// - targets are sorted by name then port, their addresses by `ip:port`, so collisions
//   resolve the same way whatever the order targets were added in;
// - an address gets floor(weight / total weight × number of targets × 160) points (at least
//   one), placed at xxhash32("<ip>:<:port> <i>") mod points; a taken point moves the
//   problem forward to the next i. (`<ip>::<port>`, double colon included, is Kong's
//   point name; keeping it keeps the layout Kong's for the same addresses.)
// - a value goes to the owner of point xxhash32(value) mod points, or of the first owned
//   point going backwards (counter-clockwise) whose address is available.
// Where we differ:
// - Kong gives up (logs CRIT, keeps the old ring) when the points do not fit, which with
//   the default 10,000 slots happens past about 62 equally weighted targets; we scale every
//   address's share down to fit instead, so 1,000 targets balance (coarser: slots bounds
//   the resolution, as Kong's docs say of it);
// - a retry skips addresses already tried (the next owner backwards is where the value
//   would go with the failed address gone); Kong asks the same point again and reaches
//   another address only once health checks mark the first one down.
// A pick is O(1) plus one step per unavailable or tried owner passed: `prev` maps every
// point to the nearest owned point at or before it.

import type { Address } from './address.js'
import type { Algorithm } from './algorithm.js'
import { xxhash32 } from './xxhash32.js'

/** Kong's SERVER_POINTS: points per target when all weights are equal. */
const POINTS_PER_TARGET = 160
/** Kong's MIN_CONTINUUM_SIZE. */
const MIN_POINTS = 1000

export class ConsistentHashing implements Algorithm {
  readonly points: number
  /** Owner (index into #addresses) of each point, -1 for none. */
  #owner: Int32Array
  /** Nearest owned point at or before each point, wrapping; -1 when the ring is empty. */
  #prev: Int32Array
  #owned = 0
  #addresses: readonly Address[] = []

  constructor (slots: number) {
    this.points = Math.max(Math.floor(slots), MIN_POINTS)
    this.#owner = new Int32Array(this.points).fill(-1)
    this.#prev = new Int32Array(this.points).fill(-1)
  }

  rebuild (input: readonly Address[]): void {
    const points = this.points
    const owner = this.#owner.fill(-1)
    const addresses = [...input].sort(byTargetThenAddress)
    let total = 0
    const targets = new Set<object>()
    for (const a of addresses) { total += a.weight; targets.add(a.owner) }
    const entries = addresses.map((a) => Math.max(1, Math.floor(a.weight / total * targets.size * POINTS_PER_TARGET)))
    let sum = 0
    for (const e of entries) sum += e
    if (sum > points) {
      // Kong would stop here; fit every share into the ring instead (see the top).
      const scale = points / sum
      for (let i = 0; i < entries.length; i++) entries[i] = Math.max(1, Math.floor((entries[i] as number) * scale))
    }
    let owned = 0
    for (let k = 0; k < addresses.length && owned < points; k++) {
      const a = addresses[k] as Address
      let want = entries[k] as number
      const name = `${a.ip}::${a.port} `
      // `i <= points` is Kong's guard against an address that cannot find free points.
      for (let i = 1; i <= want && i <= points; i++) {
        const p = xxhash32(name + i) % points
        if (owner[p] === -1) { owner[p] = k; owned++ } else want++
      }
    }
    this.#addresses = addresses
    this.#owned = owned
    const prev = this.#prev
    let last = -1
    for (let p = points - 1; p >= 0 && last === -1; p--) if (owner[p] !== -1) last = p
    for (let p = 0; p < points; p++) {
      if (owner[p] !== -1) last = p
      prev[p] = last
    }
  }

  availabilityChanged (): void {}

  pick (hash: string, tried: ReadonlySet<string> | undefined): Address | undefined {
    const found = this.#walk(xxhash32(hash) % this.points, tried)
    // Every available owner was tried: go where the value goes, as Kong always does.
    return found ?? (tried !== undefined && tried.size > 0 ? this.#walk(xxhash32(hash) % this.points, undefined) : undefined)
  }

  #walk (point: number, tried: ReadonlySet<string> | undefined): Address | undefined {
    const prev = this.#prev
    const owner = this.#owner
    const points = this.points
    let p = prev[point] as number
    if (p === -1) return undefined
    for (let n = 0; n < this.#owned; n++) {
      const a = this.#addresses[owner[p] as number] as Address
      if (a.available && (tried === undefined || !tried.has(a.key))) return a
      p = prev[p === 0 ? points - 1 : p - 1] as number
    }
    return undefined
  }

  started (): void {}
  release (): void {}
}

function byTargetThenAddress (a: Address, b: Address): number {
  const x = a.owner
  const y = b.owner
  if (x.host !== y.host) return x.host < y.host ? -1 : 1
  if (x.port !== y.port) return x.port - y.port
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0
}
