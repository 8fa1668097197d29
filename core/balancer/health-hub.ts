// Health state per node, as Kong keeps it (one checker per upstream, its state shared by
// every worker of the node, nodes not sharing it):
//
// - HealthHub runs where the node's one set of checkers lives: the single process, or the
//   primary with worker_processes > 1. It keeps a HealthChecker for each upstream whose
//   checks are on, feeds it the addresses its balancer resolves, applies every change of
//   state to its own balancers and publishes it (to the workers).
// - HealthMirror runs in each worker: it applies the published states to the worker's own
//   balancers and forwards passive evidence to the hub, but only evidence that can change
//   a state (a failure of an address not yet unhealthy, a success of one not fully
//   healthy, for a kind of evidence whose threshold is on), so a steady stream of
//   healthy traffic sends nothing.

import type { Logger } from '../log.js'
import type { Upstream } from '../store/entities/upstreams.js'
import type { PeerAddress } from './address.js'
import type { Balancer } from './balancer.js'
import { HealthChecker, checksOn, evidenceOf, isHealthy, passiveOn, type CheckTarget, type InternalHealth } from './health-checker.js'
import type { BalancedUpstream, UpstreamBalancers } from './registry.js'

export type PassiveOutcome = 'response' | 'tcp' | 'timeout'

/** One address's new state, as the hub publishes it. */
export interface HealthChange {
  upstream: string
  ip: string
  port: number
  hostname: string
  health: InternalHealth
}

/** Passive evidence a worker forwards to the hub. */
export interface PassiveReport {
  upstream: string
  ip: string
  port: number
  hostname: string
  outcome: PassiveOutcome
  status?: number | undefined
}

/** Why a manual health change was refused: Kong's 400 `no healthchecker found for <name>`. */
export class NoHealthChecker extends Error {
  constructor (name: string) { super(`no healthchecker found for ${name}`) }
}

interface Checked {
  checker: HealthChecker
  unsubscribe: () => void
}

const stateKey = (upstream: string, ip: string, port: number, hostname: string): string => `${upstream}|${ip}:${port}|${hostname}`

/** Checker targets: every address of the balancer, weight 0 included (Kong adds them all). */
function checkTargets (b: Balancer): CheckTarget[] {
  return b.addresses().map((a) => ({ ip: a.ip, port: a.port, hostname: a.hostname }))
}

export class HealthHub {
  readonly #balancers: UpstreamBalancers
  readonly #log: Logger | undefined
  readonly #publish: ((changes: HealthChange[]) => void) | undefined
  readonly #checked = new Map<string, Checked>()
  /** Addresses not fully healthy, for snapshots: what a new worker must be told. */
  readonly #states = new Map<string, HealthChange>()
  /**
   * The states of deleted upstreams, by name: Kong keeps health in its shm under the
   * upstream's name (kong/runloop/balancer/healthcheckers.lua), so an upstream deleted and
   * made again with the same name and targets finds its targets as they were.
   */
  readonly #byName = new Map<string, HealthChange[]>()
  readonly #unsubscribe: () => void
  #stopped = false

  constructor (balancers: UpstreamBalancers, opts: { log?: Logger, publish?: (changes: HealthChange[]) => void } = {}) {
    this.#balancers = balancers
    this.#log = opts.log
    this.#publish = opts.publish
    this.#unsubscribe = balancers.onChange((changed, removed) => {
      for (const u of removed) {
        const kept = [...this.#states.values()].filter((s) => s.upstream === u.id)
        if (kept.length > 0) this.#remember(u.upstream.name, kept)
        this.#drop(u.id)
      }
      for (const u of changed) this.#follow(u)
    })
    for (const u of balancers.all()) this.#follow(u)
  }

  /** Whether upstream `id` has a checker (its checks are on). */
  has (id: string): boolean { return this.#checked.has(id) }

  /** Passive evidence from this process's own traffic (UpstreamPeers). */
  report (u: BalancedUpstream, address: PeerAddress, outcome: PassiveOutcome, status?: number): void {
    this.#checked.get(u.id)?.checker.report(address.ip, address.port, address.hostname, outcome, status)
  }

  /** Passive evidence a worker forwarded. */
  forwarded (r: PassiveReport): void {
    this.#checked.get(r.upstream)?.checker.report(r.ip, r.port, r.hostname, r.outcome, r.status)
  }

  /**
   * Kong's PUT /upstreams/{u}/targets/{t}[/{address}]/healthy|unhealthy: every address of
   * target `host:port` (or only `ip`'s) made healthy or unhealthy, counters reset.
   * Throws NoHealthChecker when the upstream's checks are off; returns the number of
   * addresses set.
   */
  set (u: BalancedUpstream, host: string, port: number, healthy: boolean, ip?: string): number {
    const c = this.#checked.get(u.id)
    if (c === undefined) throw new NoHealthChecker(u.upstream.name)
    let n = 0
    for (const a of u.balancer.addresses()) {
      if (a.hostname !== host || a.port !== port || (ip !== undefined && a.ip !== ip)) continue
      if (c.checker.set(a.ip, a.port, a.hostname, healthy)) n++
    }
    return n
  }

  /** The current state of every address that is not fully healthy (for a new worker). */
  snapshot (): HealthChange[] {
    return [...this.#states.values()]
  }

  async stop (): Promise<void> {
    this.#stopped = true
    this.#unsubscribe()
    const all = [...this.#checked.values()]
    this.#checked.clear()
    for (const c of all) c.unsubscribe()
    await Promise.all(all.map((c) => c.checker.stop()))
  }

  #follow (u: BalancedUpstream): void {
    if (this.#stopped) return
    const hc = u.upstream.healthchecks
    const existing = this.#checked.get(u.id)
    if (!checksOn(hc)) {
      if (existing !== undefined) this.#drop(u.id)
      return
    }
    if (existing !== undefined) {
      existing.checker.update(hc, u.upstream.host_header)
      existing.checker.setTargets(checkTargets(u.balancer))
      this.#prune(u.id, existing.checker)
      this.#recall(u, existing.checker)
      return
    }
    const balancers = this.#balancers
    const clientCertificate = (): { cert: string, key: string } | undefined => {
      const id = balancers.byId(u.id)?.upstream.client_certificate?.id
      return id === undefined ? undefined : balancers.certificate(id)
    }
    const checker = new HealthChecker({ name: u.upstream.name, healthchecks: hc, hostHeader: u.upstream.host_header, clientCertificate, log: this.#log })
    const offChange = checker.onChange((t, health) => this.#changed(u.id, t, health))
    // New DNS answers bring addresses; the checker follows them.
    const offAddresses = u.balancer.onAddressChange(() => {
      const cur = this.#balancers.byId(u.id)
      if (cur === undefined) return
      checker.setTargets(checkTargets(cur.balancer))
      this.#prune(u.id, checker)
    })
    this.#checked.set(u.id, { checker, unsubscribe: () => { offChange(); offAddresses() } })
    checker.setTargets(checkTargets(u.balancer))
    this.#recall(u, checker)
    checker.start()
  }

  /**
   * Forgets the states of addresses the checker no longer has (a target removed, a name
   * that stopped resolving to an address), and tells the workers: one that comes back
   * starts healthy everywhere, as Kong's remove_target clears its state.
   */
  #prune (upstream: string, checker: HealthChecker): void {
    const gone: HealthChange[] = []
    for (const [k, s] of this.#states) {
      if (s.upstream !== upstream || checker.health(s.ip, s.port, s.hostname) !== undefined) continue
      this.#states.delete(k)
      gone.push({ ...s, health: 'healthy' })
    }
    if (gone.length > 0) this.#publish?.(gone)
  }

  /** At most this many deleted upstreams' states are kept. */
  static readonly REMEMBERED = 1000

  #remember (name: string, states: HealthChange[]): void {
    this.#byName.delete(name)
    this.#byName.set(name, states)
    if (this.#byName.size > HealthHub.REMEMBERED) this.#byName.delete(this.#byName.keys().next().value as string)
  }

  /** Applies a deleted namesake's states to the targets this upstream has of them. */
  #recall (u: BalancedUpstream, checker: HealthChecker): void {
    const kept = this.#byName.get(u.upstream.name)
    if (kept === undefined) return
    const left = kept.filter((s) => {
      if (checker.health(s.ip, s.port, s.hostname) === undefined) return true
      // The counters are not carried over: a mostly_* state comes back as its full state.
      checker.set(s.ip, s.port, s.hostname, isHealthy(s.health))
      return false
    })
    if (left.length === 0) this.#byName.delete(u.upstream.name); else this.#byName.set(u.upstream.name, left)
  }

  /** Checks turned off or the upstream deleted: its addresses all count as available again. */
  #drop (id: string): void {
    const c = this.#checked.get(id)
    if (c === undefined) return
    this.#checked.delete(id)
    c.unsubscribe()
    c.checker.stop().catch((err: unknown) => this.#log?.error({ err }, 'stopping a health checker failed'))
    const changes: HealthChange[] = []
    for (const [k, s] of this.#states) {
      if (s.upstream !== id) continue
      this.#states.delete(k)
      changes.push({ ...s, health: 'healthy' })
    }
    const u = this.#balancers.byId(id)
    for (const a of u?.balancer.addresses() ?? []) u?.balancer.setAvailable(a.key, true, a.hostname)
    if (changes.length > 0) this.#publish?.(changes)
  }

  #changed (upstream: string, t: CheckTarget, health: InternalHealth): void {
    const change: HealthChange = { upstream, ip: t.ip, port: t.port, hostname: t.hostname, health }
    const k = stateKey(upstream, t.ip, t.port, t.hostname)
    if (health === 'healthy') this.#states.delete(k); else this.#states.set(k, change)
    const u = this.#balancers.byId(upstream)
    const flipped = u?.balancer.setAvailable(`${t.ip}:${t.port}`, isHealthy(health), t.hostname) ?? 0
    if (flipped > 0) {
      this.#log?.warn({ upstream: u?.upstream.name, address: `${t.ip}:${t.port}`, hostname: t.hostname, health }, isHealthy(health) ? 'target is healthy again' : 'target is unhealthy')
    }
    this.#publish?.([change])
  }
}

/** A worker's copy of the hub's states, and its passive reporter. */
export class HealthMirror {
  readonly #balancers: UpstreamBalancers
  readonly #send: (r: PassiveReport) => void
  readonly #states = new Map<string, HealthChange>()
  readonly #watched = new WeakSet<Balancer>()
  readonly #unsubscribe: () => void

  constructor (balancers: UpstreamBalancers, send: (r: PassiveReport) => void) {
    this.#balancers = balancers
    this.#send = send
    // A balancer made or given new addresses (DNS, target edits) starts them available:
    // the known states are applied again.
    this.#unsubscribe = balancers.onChange((changed) => { for (const u of changed) this.#watch(u) })
  }

  /** States the hub published (or its snapshot). */
  apply (changes: readonly HealthChange[]): void {
    for (const c of changes) {
      const k = stateKey(c.upstream, c.ip, c.port, c.hostname)
      if (c.health === 'healthy') this.#states.delete(k); else this.#states.set(k, c)
      this.#balancers.byId(c.upstream)?.balancer.setAvailable(`${c.ip}:${c.port}`, isHealthy(c.health), c.hostname)
    }
  }

  report (u: BalancedUpstream, address: PeerAddress, outcome: PassiveOutcome, status?: number): void {
    const hc = u.upstream.healthchecks
    if (!passiveOn(hc)) return
    const evidence = passiveEvidence(hc.passive, outcome, status)
    if (evidence === undefined) return
    const health = this.#states.get(stateKey(u.id, address.ip, address.port, address.hostname))?.health ?? 'healthy'
    if (evidence === 'success' ? health === 'healthy' : health === 'unhealthy') return
    this.#send({ upstream: u.id, ip: address.ip, port: address.port, hostname: address.hostname, outcome, status })
  }

  close (): void { this.#unsubscribe() }

  #watch (u: BalancedUpstream): void {
    this.#reapply(u)
    if (this.#watched.has(u.balancer)) return
    this.#watched.add(u.balancer)
    u.balancer.onAddressChange(() => this.#reapply(u))
  }

  #reapply (u: BalancedUpstream): void {
    for (const s of this.#states.values()) {
      if (s.upstream === u.id) u.balancer.setAvailable(`${s.ip}:${s.port}`, isHealthy(s.health), s.hostname)
    }
  }
}

/**
 * What passive evidence an attempt's outcome is, under the upstream's passive settings
 * (the same rule the checker applies): undefined when that kind of evidence is off or the
 * status is in neither list.
 */
export function passiveEvidence (passive: Upstream['healthchecks']['passive'], outcome: PassiveOutcome, status?: number): 'success' | 'failure' | undefined {
  const ev = evidenceOf(passive, outcome, status)
  if (ev === undefined || ev.limit === 0) return undefined
  return ev.toward === 'healthy' ? 'success' : 'failure'
}
