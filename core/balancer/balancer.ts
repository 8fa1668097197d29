// One balancer per upstream: its targets, the addresses they resolve to, which of those are
// available, and the algorithm that picks among them (Kong's kong/runloop/balancer/
// balancers.lua `balancer_mt`).
//
// Lifecycle, for the proxy:
//   const b = new Balancer(upstream, targets)     // IP and hosts-file targets usable at once
//   await b.whenResolved()                        // hostname targets have their first answer
//   const peer = b.select(hashValue, tried)       // per attempt; undefined: 503
//   ... b.release(peer, elapsedMs)                // when that attempt is over
//   b.update(upstream, targets)                   // on config change; keeps health, counts
//   b.close()                                     // stops DNS refreshes
//
// Address-set changes (DNS, targets, weights) only mark the balancer dirty; the next pick
// rebuilds the algorithm's structures once, so a burst of DNS answers costs one rebuild.

import { Address, Target, type PeerAddress } from './address.js'
import type { Algorithm, AlgorithmName } from './algorithm.js'
import { ConsistentHashing } from './consistent-hashing.js'
import { DnsContext, NameWatch } from './dns.js'
import { Latency } from './latency.js'
import { LeastConnections } from './least-connections.js'
import { RoundRobin } from './round-robin.js'

/** The upstream fields the balancer reads (Kong's `upstreams` entity). */
export interface BalancerUpstream {
  algorithm?: AlgorithmName | string | null
  slots?: number | null
  healthchecks?: { threshold?: number | null } | null
}

/** The target fields the balancer reads (Kong's `targets` entity): `host:port`, weight. */
export interface BalancerTarget {
  target: string
  weight?: number | null
}

export interface BalancerOptions {
  /** Shared DNS settings; one per process is enough. Default: a process-wide default. */
  dns?: DnsContext
  /** [0, 1) source for round-robin's start phase. Default Math.random. */
  random?: () => number
  /** Milliseconds, monotonic, for latency's decay. Default: the DNS context's clock. */
  clock?: () => number
}

/** Kong's message for "no address to send to" (kong/runloop/balancer/init.lua), with 503. */
export const NO_PEER_MESSAGE = 'failure to get a peer from the ring-balancer'

export interface WeightStatus { total: number, available: number, unavailable: number }

/** Kong's `balancer:getTargetStatus(target)`. */
export interface TargetStatus {
  host: string
  port: number
  /** 'A' / 'AAAA' (also for IP and hosts-file targets), or the DNS error. */
  dns: string
  nodeWeight: number
  weight: WeightStatus
  addresses: { ip: string, port: number, weight: number, healthy: boolean }[]
}

/** Kong's `balancer:getStatus()`. */
export interface BalancerStatus {
  healthy: boolean
  weight: WeightStatus
  hosts: TargetStatus[]
}

/** Addresses that appeared or went away (a DNS answer, a target change). */
export type AddressListener = (added: readonly PeerAddress[], removed: readonly PeerAddress[]) => void

let defaultDns: DnsContext | undefined

interface TargetEntry {
  target: Target
  watch: NameWatch | undefined
  first: Promise<void> | undefined
}

export class Balancer {
  readonly #dns: DnsContext
  readonly #random: () => number
  readonly #clock: () => number
  readonly #targets = new Map<string, TargetEntry>()
  readonly #byKey = new Map<string, Address[]>()
  readonly #listeners = new Set<AddressListener>()
  #algorithmName: AlgorithmName = 'round-robin'
  #slots = 10000
  #algorithm: Algorithm
  #threshold = 0
  #dirty = true
  #total = 0
  #unavailable = 0
  #healthy = false
  #closed = false

  constructor (upstream: BalancerUpstream, targets: readonly BalancerTarget[], opts: BalancerOptions = {}) {
    this.#dns = opts.dns ?? (defaultDns ??= new DnsContext())
    this.#random = opts.random ?? Math.random
    this.#clock = opts.clock ?? this.#dns.clock
    this.#algorithm = this.#makeAlgorithm()
    this.update(upstream, targets)
  }

  get algorithm (): AlgorithmName { return this.#algorithmName }

  /**
   * Kong's balancer health: some weight is available and
   * available / total × 100 > healthchecks.threshold.
   */
  get healthy (): boolean {
    if (this.#dirty) this.#rebuild()
    return this.#healthy
  }

  /**
   * Applies a new upstream config and target list. Targets are matched by their `target`
   * string: kept ones keep their addresses, health and counters; new hostnames start
   * resolving (see whenResolved); removed ones stop.
   */
  update (upstream: BalancerUpstream, targets: readonly BalancerTarget[]): void {
    const name = algorithmOf(upstream.algorithm)
    const slots = upstream.slots ?? 10000
    if (name !== this.#algorithmName || (name === 'consistent-hashing' && slots !== this.#slots)) {
      this.#algorithmName = name
      this.#slots = slots
      this.#algorithm = this.#makeAlgorithm()
      this.#dirty = true
    }
    this.#slots = slots
    this.#threshold = upstream.healthchecks?.threshold ?? 0

    const wanted = new Map<string, number>()
    for (const t of targets) wanted.set(t.target, t.weight ?? 100)
    for (const [key, entry] of this.#targets) {
      if (!wanted.has(key)) {
        entry.watch?.stop()
        this.#targets.delete(key)
        this.#applyAddresses(entry.target, [])
      }
    }
    for (const [key, weight] of wanted) {
      const entry = this.#targets.get(key)
      if (entry === undefined) {
        this.#addTarget(new Target(key, weight))
      } else if (entry.target.weight !== weight) {
        entry.target.setWeight(weight)
        this.#dirty = true
      }
    }
    this.#refreshHealth()
  }

  /** Settles when every current hostname target has had its first DNS answer (or error). */
  async whenResolved (): Promise<void> {
    await Promise.all([...this.#targets.values()].map((e) => e.first))
  }

  /** Resolves every hostname target again now. */
  async refreshDns (): Promise<void> {
    await Promise.all([...this.#targets.values()].map((e) => e.watch?.refresh()))
  }

  /**
   * Picks an address for one attempt. `hash` is the request's hash value (consistent-
   * hashing only; see hash-value.ts), `tried` the keys of addresses this request already
   * tried, avoided while any other is available. Undefined when nothing is available or
   * the upstream is below its health threshold: answer 503 with NO_PEER_MESSAGE.
   * Every address returned must be handed back to `release` once the attempt is over.
   */
  select (hash?: string, tried?: ReadonlySet<string>): PeerAddress | undefined {
    if (this.#dirty) this.#rebuild()
    if (!this.#healthy) return undefined
    const a = this.#algorithm.pick(hash ?? '', tried)
    if (a === undefined) return undefined
    a.active++
    this.#algorithm.started(a)
    return a
  }

  /**
   * Ends the attempt `select` started on `peer`. `elapsedMs`: connect + response time when
   * the upstream answered (feeds `latency`); leave it out for an attempt that failed.
   */
  release (peer: PeerAddress, elapsedMs?: number): void {
    const a = peer as Address
    if (a.active > 0) a.active--
    this.#algorithm.release(a, elapsedMs)
  }

  /**
   * The health checker's switch: marks addresses with key `ip:port` available or not, only
   * the one of target host `hostname` when given (Kong keys health by ip, port and
   * hostname). Returns how many addresses changed.
   */
  setAvailable (key: string, available: boolean, hostname?: string): number {
    let changed = 0
    for (const a of this.#byKey.get(key) ?? []) {
      if (hostname !== undefined && a.hostname !== hostname) continue
      if (a.available === available) continue
      a.available = available
      changed++
      if (this.#dirty || a.weight === 0) continue
      this.#unavailable += available ? -a.weight : a.weight
      this.#algorithm.availabilityChanged(a)
    }
    if (changed > 0) this.#refreshHealth()
    return changed
  }

  /** Every address, including those of weight-0 targets and unavailable ones. */
  addresses (): PeerAddress[] {
    const out: PeerAddress[] = []
    for (const { target } of this.#targets.values()) out.push(...target.addresses)
    return out
  }

  /** Calls `fn` whenever addresses appear or go; returns the unsubscribe function. */
  onAddressChange (fn: AddressListener): () => void {
    this.#listeners.add(fn)
    return () => { this.#listeners.delete(fn) }
  }

  /** Kong's getStatus(): per target its DNS state, weights and addresses. */
  status (): BalancerStatus {
    const hosts: TargetStatus[] = []
    let total = 0
    let unavailable = 0
    for (const { target, watch } of this.#targets.values()) {
      const s = targetStatus(target, watch)
      total += s.weight.total
      unavailable += s.weight.unavailable
      hosts.push(s)
    }
    return { healthy: this.healthy, weight: { total, available: total - unavailable, unavailable }, hosts }
  }

  /** Stops DNS refreshes. Picks still work on the last known addresses. */
  close (): void {
    this.#closed = true
    for (const e of this.#targets.values()) e.watch?.stop()
  }

  #makeAlgorithm (): Algorithm {
    switch (this.#algorithmName) {
      case 'consistent-hashing': return new ConsistentHashing(this.#slots)
      case 'least-connections': return new LeastConnections()
      case 'latency': { const clock = this.#clock; return new Latency(() => clock() / 1000) }
      default: return new RoundRobin(this.#random)
    }
  }

  #addTarget (target: Target): void {
    const entry: TargetEntry = { target, watch: undefined, first: undefined }
    this.#targets.set(target.target, entry)
    if (target.kind !== 'name') {
      target.dns = target.kind === 'ipv4' ? 'A' : 'AAAA'
      this.#applyAddresses(target, [target.host])
      return
    }
    // The hosts file is read once (as Kong reads it): its names never change, so they are
    // settled here, usable at once, with nothing to refresh.
    const fixed = this.#dns.hosts.get(target.host)
    if (fixed !== undefined) {
      target.dns = fixed.startsWith('[') ? 'AAAA' : 'A'
      this.#applyAddresses(target, [fixed])
      return
    }
    const watch = new NameWatch(target.host, this.#dns, (ips) => {
      // A target removed meanwhile must not bring its addresses back.
      if (this.#targets.get(target.target)?.target !== target) return
      this.#applyAddresses(target, ips)
    })
    entry.watch = watch
    if (!this.#closed) entry.first = watch.refresh()
  }

  #applyAddresses (target: Target, ips: readonly string[]): void {
    const { added, removed } = target.setAddresses(ips)
    if (added.length === 0 && removed.length === 0) return
    for (const a of removed) {
      const list = this.#byKey.get(a.key)
      const i = list?.indexOf(a) ?? -1
      if (list !== undefined && i !== -1) list.splice(i, 1)
      if (list?.length === 0) this.#byKey.delete(a.key)
    }
    for (const a of added) {
      const list = this.#byKey.get(a.key)
      if (list === undefined) this.#byKey.set(a.key, [a]); else list.push(a)
    }
    this.#dirty = true
    for (const fn of this.#listeners) fn(added, removed)
  }

  #rebuild (): void {
    const inPlay: Address[] = []
    let total = 0
    let unavailable = 0
    for (const { target } of this.#targets.values()) {
      if (target.weight === 0) continue
      for (const a of target.addresses) {
        inPlay.push(a)
        total += a.weight
        if (!a.available) unavailable += a.weight
      }
    }
    this.#total = total
    this.#unavailable = unavailable
    this.#algorithm.rebuild(inPlay)
    this.#dirty = false
    this.#refreshHealth()
  }

  #refreshHealth (): void {
    if (this.#dirty) return // the rebuild will
    this.#healthy = this.#total > 0 && (this.#total - this.#unavailable) / this.#total * 100 > this.#threshold
  }
}

function algorithmOf (name: string | null | undefined): AlgorithmName {
  switch (name) {
    case 'consistent-hashing':
    case 'least-connections':
    case 'latency':
      return name
    case undefined: case null: case 'round-robin':
      return 'round-robin'
    default:
      throw new Error(`unknown balancer algorithm '${name}'`)
  }
}

function targetStatus (target: Target, watch: NameWatch | undefined): TargetStatus {
  let total = 0
  let unavailable = 0
  const addresses = target.addresses.map((a) => {
    total += a.weight
    if (!a.available) unavailable += a.weight
    return { ip: a.ip, port: a.port, weight: a.weight, healthy: a.available }
  })
  return {
    host: target.host,
    port: target.port,
    dns: watch?.status ?? target.dns,
    nodeWeight: target.weight,
    weight: { total, available: total - unavailable, unavailable },
    addresses,
  }
}

export type TargetHealth = 'HEALTHY' | 'UNHEALTHY' | 'DNS_ERROR' | 'HEALTHCHECKS_OFF'

/**
 * A target's `health` in `GET /upstreams/{u}/health` (Kong's kong/db/dao/targets.lua
 * page_for_upstream_with_health): DNS_ERROR without addresses; HEALTHCHECKS_OFF with
 * checks off or weight 0; HEALTHY when some address is healthy; else UNHEALTHY.
 */
export function targetHealth (status: TargetStatus, checksOn: boolean): TargetHealth {
  if (status.addresses.length === 0) return 'DNS_ERROR'
  if (!checksOn || status.nodeWeight === 0) return 'HEALTHCHECKS_OFF'
  return status.addresses.some((a) => a.healthy) ? 'HEALTHY' : 'UNHEALTHY'
}

/** An address's `health` in the same output. */
export function addressHealth (address: { healthy: boolean }, checksOn: boolean, targetWeight: number): TargetHealth {
  if (!checksOn || targetWeight === 0) return 'HEALTHCHECKS_OFF'
  return address.healthy ? 'HEALTHY' : 'UNHEALTHY'
}
