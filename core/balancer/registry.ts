// Every upstream's balancer in one process, kept in step with the store: Kong's
// kong/runloop/balancer/upstreams.lua + balancers.lua. A service whose host names an
// upstream asks `get(host)`; the registry re-reads upstreams and targets after a change
// (its own process's writes through onChange, other processes' through invalidate) and
// updates the balancers in place, so health, connection counts and the round-robin
// position survive edits.

import type { ConfigReader } from '../store/store.js'
import { readUpstreams } from '../store/balancer-config.js'
import type { Upstream } from '../store/entities/upstreams.js'
import type { Target } from '../store/entities/targets.js'
import { Balancer, type BalancerOptions } from './balancer.js'
import { compileHashValue, type HashRequest, type HashValue } from './hash-value.js'

/** One upstream as the proxy and the health checker use it. */
export interface BalancedUpstream {
  readonly id: string
  /** The latest stored row. */
  readonly upstream: Upstream
  /** The latest stored targets, weight 0 included, oldest first. */
  readonly targets: readonly Target[]
  readonly balancer: Balancer
  /** The request's hash value; undefined unless the algorithm is consistent-hashing. */
  readonly hash: ((req: HashRequest) => HashValue) | undefined
  /** Bumped whenever the row or its targets change: caches derived from it compare it. */
  readonly generation: number
}

interface Entry {
  id: string
  upstream: Upstream
  targets: Target[]
  balancer: Balancer
  hash: ((req: HashRequest) => HashValue) | undefined
  generation: number
}

/** Upstreams that appeared or changed, and those removed (their balancers closed). */
export type RegistryListener = (changed: readonly BalancedUpstream[], removed: readonly BalancedUpstream[]) => void

const BALANCER_ENTITIES = new Set(['upstreams', 'targets'])

export class UpstreamBalancers {
  readonly #reader: ConfigReader
  readonly #opts: BalancerOptions
  readonly #byName = new Map<string, Entry>()
  readonly #byId = new Map<string, Entry>()
  readonly #listeners = new Set<RegistryListener>()
  readonly #unsubscribe: () => void
  #stale = true
  #scheduled = false
  #closed = false

  constructor (reader: ConfigReader, opts: BalancerOptions = {}) {
    this.#reader = reader
    this.#opts = opts
    // Writes to other entities leave balancers alone: a service or plugin change must not
    // cost a re-read of every target.
    this.#unsubscribe = reader.onChange((e) => { if (BALANCER_ENTITIES.has(e.entity)) this.invalidate() })
  }

  /** The upstream named `name` (a service's host), or undefined: not an upstream. */
  get (name: string): BalancedUpstream | undefined {
    if (this.#stale) this.#refresh()
    return this.#byName.get(name)
  }

  /**
   * A `certificates` row's certificate and key (an upstream's client_certificate, which
   * Kong's active https probes present): read from the store each time, so a changed row
   * is the next probe's.
   */
  certificate (id: string): { cert: string, key: string } | undefined {
    const row = this.#reader.get('certificates', id)
    return typeof row?.cert === 'string' && typeof row.key === 'string' ? { cert: row.cert, key: row.key } : undefined
  }

  byId (id: string): BalancedUpstream | undefined {
    if (this.#stale) this.#refresh()
    return this.#byId.get(id)
  }

  all (): BalancedUpstream[] {
    if (this.#stale) this.#refresh()
    return [...this.#byId.values()]
  }

  /**
   * Another process (or a write not announced here) may have changed upstreams: re-read
   * them before the next use, and soon anyway when something listens (the health checker
   * must see new targets without waiting for traffic).
   */
  invalidate (): void {
    this.#stale = true
    if (this.#listeners.size === 0 || this.#scheduled || this.#closed) return
    this.#scheduled = true
    setImmediate(() => {
      this.#scheduled = false
      if (this.#stale && !this.#closed) this.#refresh()
    })
  }

  /** Calls `fn` after each re-read with what changed; returns the unsubscribe function. */
  onChange (fn: RegistryListener): () => void {
    this.#listeners.add(fn)
    return () => { this.#listeners.delete(fn) }
  }

  /** Stops every balancer's DNS refreshes and forgets them. */
  close (): void {
    this.#closed = true
    this.#unsubscribe()
    for (const e of this.#byId.values()) e.balancer.close()
    this.#byId.clear()
    this.#byName.clear()
  }

  #refresh (): void {
    this.#stale = false
    if (this.#closed) return
    const configs = readUpstreams(this.#reader)
    const seen = new Set<string>()
    const changed: Entry[] = []
    this.#byName.clear()
    for (const { upstream, targets } of configs.values()) {
      seen.add(upstream.id)
      let e = this.#byId.get(upstream.id)
      if (e === undefined) {
        e = { id: upstream.id, upstream, targets, balancer: new Balancer(upstream, targets, this.#opts), hash: hashOf(upstream), generation: 0 }
        this.#byId.set(upstream.id, e)
        changed.push(e)
      } else if (!sameRow(e.upstream, upstream) || !sameTargets(e.targets, targets)) {
        e.balancer.update(upstream, targets)
        e.upstream = upstream
        e.targets = targets
        e.hash = hashOf(upstream)
        e.generation++
        changed.push(e)
      }
      this.#byName.set(upstream.name, e)
    }
    const removed: Entry[] = []
    for (const [id, e] of this.#byId) {
      if (seen.has(id)) continue
      this.#byId.delete(id)
      e.balancer.close()
      removed.push(e)
    }
    if (changed.length === 0 && removed.length === 0) return
    for (const fn of this.#listeners) fn(changed, removed)
  }
}

function hashOf (u: Upstream): ((req: HashRequest) => HashValue) | undefined {
  return u.algorithm === 'consistent-hashing' && u.hash_on !== 'none' ? compileHashValue(u) : undefined
}

// Stored rows are plain JSON: comparing their JSON is exact and, at a few upstreams per
// config change, cheap.
function sameRow (a: Upstream, b: Upstream): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b)
}

function sameTargets (a: readonly Target[], b: readonly Target[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as Target
    const y = b[i] as Target
    if (x.id !== y.id || x.target !== y.target || x.weight !== y.weight) return false
  }
  return true
}
