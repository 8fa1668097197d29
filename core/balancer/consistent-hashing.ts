// Consistent hashing on a ring of `slots` points (ketama style), built from Kong's recipe
// (kong/runloop/balancer/consistent_hashing.lua):
// - the ring has max(slots, 1000) points: Kong never builds a continuum smaller than 1000
//   (MIN_CONTINUUM_SIZE), whatever the upstream's `slots` (which may be as low as 10);
// - an address gets floor(weight / total weight × number of targets × 160) points (at least
//   one), the i-th at xxhash32("<ip>::<port> <i>") mod points (Kong's point names, double
//   colon included);
// - a value goes to the owner of point xxhash32(value) mod points, or of the first owned
//   point going backwards (counter-clockwise) whose address is available.
// Where we differ, and why:
// - two addresses hashing to one point: Kong gives it to the one placed first (targets
//   sorted by name and port) and moves the other to its next name (i + 1). On a crowded
//   ring that cascades: one added or removed target changes who wins many other
//   collisions, and keys move between targets that did not change (measured: a quarter of
//   all keys for 1,000 targets). We give the point to the lower full 32-bit hash (then the
//   lower address), with no replacement for the loser: the outcome of every point depends
//   only on the names contending for it, so adding a target moves only keys to it and
//   removing one moves only its keys. Shares stay proportional to weight on average.
// - Kong gives up (logs CRIT, keeps the old ring) when 160 points per target do not fit in
//   the ring, which with the default 10,000 slots happens past about 62 targets. With the
//   rule above there is no such limit: with 1,000 targets every point is contended by ~16
//   names and each target wins about its share (slots bounds the resolution, as Kong's
//   docs say of it).
// - a retry skips addresses already tried (the next owner backwards is where the value
//   would go with the failed address gone); Kong asks the same point again and reaches
//   another address only once health checks mark the first one down.
// A pick is O(1) plus one step per unavailable or tried owner passed: `prev` maps every
// point to the nearest owned point at or before it.

import type { Address } from './address.js'
import type { Algorithm } from './algorithm.js'
import { xxhash32, xxhash32Bytes } from './xxhash32.js'

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
  /** Full hash of the name that won each point. */
  #best: Uint32Array
  #owned = 0
  #addresses: readonly Address[] = []

  constructor (slots: number) {
    this.points = Math.max(Math.floor(slots), MIN_POINTS)
    this.#owner = new Int32Array(this.points).fill(-1)
    this.#prev = new Int32Array(this.points).fill(-1)
    this.#best = new Uint32Array(this.points)
  }

  rebuild (input: readonly Address[]): void {
    const points = this.points
    const owner = this.#owner.fill(-1)
    const best = this.#best
    const buf = new Uint8Array(80)
    const addresses = [...input].sort(byTargetThenAddress)
    let total = 0
    const targets = new Set<object>()
    for (const a of addresses) { total += a.weight; targets.add(a.owner) }
    for (let k = 0; k < addresses.length; k++) {
      const a = addresses[k] as Address
      const entries = Math.min(points, Math.max(1, Math.floor(a.weight / total * targets.size * POINTS_PER_TARGET)))
      // The name's bytes once, then only the decimal i after them (no string per point).
      const len = writeAscii(buf, `${a.ip}::${a.port} `)
      for (let i = 1; i <= entries; i++) {
        const h = xxhash32Bytes(buf, len + writeDecimal(buf, len, i))
        const p = h % points
        // Lower hash wins; on equal hashes the address sorted first (it was placed first).
        if (owner[p] === -1 || h < (best[p] as number)) { owner[p] = k; best[p] = h }
      }
    }
    let owned = 0
    for (let p = 0; p < points; p++) if (owner[p] !== -1) owned++
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
    const point = xxhash32(hash) % this.points
    const untried = tried !== undefined && tried.size > 0
    // Every available owner tried: go where the value goes, as Kong always does.
    return this.#walk(point, tried) ?? (untried ? this.#walk(point, undefined) : undefined) ??
      // Available addresses that won no point (every one of their names lost its contest,
      // possible on a crowded ring) are still better than no answer.
      this.#addresses.find((a) => a.available && !(untried && tried.has(a.key))) ??
      this.#addresses.find((a) => a.available)
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

/** Writes an address name (ASCII: an IP and a port) at the start of `buf`; returns its length. */
function writeAscii (buf: Uint8Array, s: string): number {
  for (let i = 0; i < s.length; i++) buf[i] = s.charCodeAt(i)
  return s.length
}

/** Writes `n` (> 0) in decimal at `at`; returns the number of digits. */
function writeDecimal (buf: Uint8Array, at: number, n: number): number {
  const digits = n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : n < 10000 ? 4 : Math.floor(Math.log10(n)) + 1
  for (let k = digits - 1; k >= 0; k--) { buf[at + k] = 48 + (n % 10); n = Math.floor(n / 10) }
  return digits
}

function byTargetThenAddress (a: Address, b: Address): number {
  const x = a.owner
  const y = b.owner
  if (x.host !== y.host) return x.host < y.host ? -1 : 1
  if (x.port !== y.port) return x.port - y.port
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0
}
