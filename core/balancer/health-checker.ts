// One upstream's health checker: per target (ip, port, hostname) a four-state health and
// four counters, fed by passive reports from proxied traffic, by active probes, and by
// operators. Kong parity: lua-resty-healthcheck 3.0 as Kong 3.x drives it from
// kong/runloop/balancer/healthcheckers.lua. The balancer follows through onChange:
//
//   const hc = new HealthChecker({ name, healthchecks: upstream.healthchecks, hostHeader })
//   hc.onChange((t, h, prev) => { if (isHealthy(h) !== isHealthy(prev)) balancer.setAvailable(`${t.ip}:${t.port}`, isHealthy(h), t.hostname) })
//   hc.setTargets(addresses)        // weight > 0 addresses, as Kong adds them
//   hc.start()
//   hc.report(ip, port, hostname, 'response', 502)   // after each proxied attempt
//   await hc.stop()

import type { Logger } from '../log.js'
import type { Upstream } from '../store/entities/upstreams.js'
import { requestHead, startProbe, type Probe, type ProbeOutcome, type ProbeType } from './health-probe.js'

export type Healthchecks = Upstream['healthchecks']

/**
 * lua-resty-healthcheck's internal health. `mostly_healthy`: still healthy, but failures
 * have been counted since; `mostly_unhealthy`: still unhealthy, but successes have been.
 */
export type InternalHealth = 'healthy' | 'mostly_healthy' | 'mostly_unhealthy' | 'unhealthy'

export interface CheckTarget {
  /** IPv4, or IPv6 in brackets (`[::1]`), as PeerAddress.ip. */
  readonly ip: string
  readonly port: number
  /** The target's host as configured (a name or the IP). */
  readonly hostname: string
}

/** Called on every change of a target's internal health, synchronously. */
export type HealthListener = (target: CheckTarget, health: InternalHealth, previous: InternalHealth) => void

/** Which targets an active round probed: the healthy ones or the unhealthy ones. */
export type RoundMode = 'healthy' | 'unhealthy'

/** Called when an active round has finished (every probe settled and reported). */
export type RoundListener = (mode: RoundMode, probed: number) => void

export interface HealthCheckerOptions {
  /** Upstream name, for log lines. */
  name: string
  healthchecks: Healthchecks
  /** The upstream's host_header: the probes' Host (and SNI) instead of the target host. */
  hostHeader?: string | null
  /** The client certificate https probes present (Kong: the upstream's client_certificate), asked per probe. */
  clientCertificate?: () => { cert: string, key: string } | undefined
  log?: Logger
}

/** What a proxied attempt ended with: a response (with its status), a TCP failure, a timeout. */
export type PassiveOutcome = 'response' | 'tcp' | 'timeout'

export const isHealthy = (h: InternalHealth): boolean => h === 'healthy' || h === 'mostly_healthy'

type CheckSettings = Healthchecks['active'] | Healthchecks['passive']

/** Active probing runs when either interval is non-zero. */
export function activeOn (hc: Healthchecks | null | undefined): boolean {
  return hc != null && (hc.active.healthy.interval > 0 || hc.active.unhealthy.interval > 0)
}

/** Passive checks can take a target down when a passive failure threshold is non-zero. */
export function passiveOn (hc: Healthchecks | null | undefined): boolean {
  if (hc == null) return false
  const u = hc.passive.unhealthy
  return u.tcp_failures > 0 || u.timeouts > 0 || u.http_failures > 0
}

/**
 * Kong's is_upstream_using_healthcheck (kong/runloop/balancer/healthcheckers.lua): health
 * checking is on with an active interval or a passive failure threshold. passive.healthy
 * .successes alone does not turn it on (it can only bring back what something else took down).
 */
export function checksOn (hc: Healthchecks | null | undefined): boolean {
  return activeOn(hc) || passiveOn(hc)
}

type Counter = 'successes' | 'tcp_failures' | 'timeouts' | 'http_failures'

/** What one outcome counts toward under `checks`: a counter, its threshold (0: off), the health it leads to. */
export interface Evidence { toward: 'healthy' | 'unhealthy', limit: number, counter: Counter }

/**
 * Classes an outcome as lua-resty-healthcheck's report_* functions do: a TCP failure, a
 * timeout, or a status in `healthy.http_statuses` (a success) or `unhealthy.http_statuses`
 * (an HTTP failure); undefined for a status in neither list. The checker counts it; a
 * worker's mirror asks the same to know whether it is worth sending (health-hub.ts).
 */
export function evidenceOf (checks: CheckSettings, outcome: PassiveOutcome, status?: number): Evidence | undefined {
  switch (outcome) {
    case 'tcp': return { toward: 'unhealthy', limit: checks.unhealthy.tcp_failures, counter: 'tcp_failures' }
    case 'timeout': return { toward: 'unhealthy', limit: checks.unhealthy.timeouts, counter: 'timeouts' }
    default: {
      // lua-resty-healthcheck: tonumber(status) or 0; 0 is an invalid response.
      const code = status !== undefined && Number.isFinite(status) ? status : 0
      if (checks.healthy.http_statuses.includes(code)) return { toward: 'healthy', limit: checks.healthy.successes, counter: 'successes' }
      if (code === 0 || checks.unhealthy.http_statuses.includes(code)) return { toward: 'unhealthy', limit: checks.unhealthy.http_failures, counter: 'http_failures' }
      return undefined
    }
  }
}

interface Entry {
  readonly target: CheckTarget
  health: InternalHealth
  successes: number
  tcp_failures: number
  timeouts: number
  http_failures: number
}

/** Kong keys targets by ip, port and hostname; `ip:port` is PeerAddress.key. */
const keyOf = (ip: string, port: number, hostname: string): string => `${ip}:${port} ${hostname}`

/** lua-socket's settimeout(0) falls back to nginx's default socket timeouts (60 s). */
const DEFAULT_PROBE_TIMEOUT_MS = 60_000

export class HealthChecker {
  readonly name: string
  readonly #log: Logger | undefined
  readonly #targets = new Map<string, Entry>()
  readonly #listeners = new Set<HealthListener>()
  readonly #roundListeners = new Set<RoundListener>()
  readonly #probes = new Set<Probe>()
  readonly #rounds = new Map<RoundMode, Promise<void>>()
  readonly #timers = new Map<RoundMode, NodeJS.Timeout>()
  #hc: Healthchecks
  #hostHeader: string | null
  readonly #clientCertificate: HealthCheckerOptions['clientCertificate']
  #started = false

  constructor (opts: HealthCheckerOptions) {
    this.name = opts.name
    this.#hc = opts.healthchecks
    this.#hostHeader = opts.hostHeader ?? null
    this.#clientCertificate = opts.clientCertificate
    this.#log = opts.log
  }

  get healthchecks (): Healthchecks { return this.#hc }

  /**
   * New settings (and host_header). Targets keep their health and counters; active timers
   * are rescheduled, the next round of each kind one new interval from now.
   */
  update (healthchecks: Healthchecks, hostHeader?: string | null): void {
    this.#hc = healthchecks
    this.#hostHeader = hostHeader ?? null
    if (this.#started) this.#schedule()
  }

  /**
   * The complete target list: new ones start healthy with zero counters, missing ones are
   * forgotten (added again later, they start over), the rest are kept as they are.
   */
  setTargets (targets: readonly CheckTarget[]): void {
    const wanted = new Map<string, CheckTarget>()
    for (const t of targets) wanted.set(keyOf(t.ip, t.port, t.hostname), t)
    for (const key of this.#targets.keys()) if (!wanted.has(key)) this.#targets.delete(key)
    for (const [key, t] of wanted) {
      if (this.#targets.has(key)) continue
      this.#targets.set(key, {
        target: { ip: t.ip, port: t.port, hostname: t.hostname },
        health: 'healthy',
        successes: 0,
        tcp_failures: 0,
        timeouts: 0,
        http_failures: 0,
      })
    }
  }

  targets (): CheckTarget[] {
    return [...this.#targets.values()].map((e) => e.target)
  }

  health (ip: string, port: number, hostname: string): InternalHealth | undefined {
    return this.#targets.get(keyOf(ip, port, hostname))?.health
  }

  /** The counters of a target, for status output and tests. */
  counters (ip: string, port: number, hostname: string): Readonly<Record<Counter, number>> | undefined {
    const e = this.#targets.get(keyOf(ip, port, hostname))
    if (e === undefined) return undefined
    return { successes: e.successes, tcp_failures: e.tcp_failures, timeouts: e.timeouts, http_failures: e.http_failures }
  }

  /**
   * Passive evidence from a proxied attempt: `response` with the upstream's status (classed
   * by passive.healthy/unhealthy.http_statuses; in neither list: ignored; missing or 0: an
   * invalid response, an HTTP failure), `tcp` for a refused or reset connection, `timeout`.
   *
   * Kong parity: passive.type is not consulted. Kong reports every proxied status through
   * report_http_status, which classes it by the lists whatever the type (the type only
   * matters to lua-resty-healthcheck's generic report_failure, which Kong does not use).
   */
  report (ip: string, port: number, hostname: string, outcome: PassiveOutcome, status?: number): void {
    const e = this.#targets.get(keyOf(ip, port, hostname))
    if (e === undefined) return
    this.#evidence(e, this.#hc.passive, outcome, status)
  }

  /**
   * An operator's verdict (Kong's PUT .../healthy|unhealthy): the health becomes fully
   * healthy or unhealthy and every counter is cleared. False for an unknown target.
   */
  set (ip: string, port: number, hostname: string, healthy: boolean): boolean {
    const e = this.#targets.get(keyOf(ip, port, hostname))
    if (e === undefined) return false
    e.successes = e.tcp_failures = e.timeouts = e.http_failures = 0
    this.#log?.warn({ upstream: this.name, target: `${hostname} ${ip}:${port}` }, `[healthchecks] ${healthy ? 'healthy' : 'unhealthy'} forced`)
    this.#setHealth(e, healthy ? 'healthy' : 'unhealthy')
    return true
  }

  /** Calls `fn` on every internal health change; returns the unsubscribe function. */
  onChange (fn: HealthListener): () => void {
    this.#listeners.add(fn)
    return () => { this.#listeners.delete(fn) }
  }

  /** Calls `fn` after every completed active round; returns the unsubscribe function. */
  onRound (fn: RoundListener): () => void {
    this.#roundListeners.add(fn)
    return () => { this.#roundListeners.delete(fn) }
  }

  /** Settles after the next completed active round (of `mode`, or of either kind). */
  nextRound (mode?: RoundMode): Promise<{ mode: RoundMode, probed: number }> {
    return new Promise((resolve) => {
      const off = this.onRound((m, probed) => {
        if (mode !== undefined && m !== mode) return
        off()
        resolve({ mode: m, probed })
      })
    })
  }

  /** Begins active probing: each kind's first round one interval from now. */
  start (): void {
    this.#started = true
    this.#schedule()
  }

  /**
   * Stops probing: clears the timers, aborts probes in flight (they report nothing) and
   * settles once their sockets are closed. Passive reports and set() keep working.
   */
  async stop (): Promise<void> {
    this.#started = false
    this.#clearTimers()
    for (const p of this.#probes) p.abort()
    await Promise.all(this.#rounds.values())
  }

  #schedule (): void {
    this.#clearTimers()
    const active = this.#hc.active
    for (const mode of ['healthy', 'unhealthy'] as const) {
      const seconds = active[mode].interval
      if (!(seconds > 0)) continue
      const timer = setInterval(() => this.#tick(mode), seconds * 1000)
      timer.unref()
      this.#timers.set(mode, timer)
    }
  }

  #clearTimers (): void {
    for (const t of this.#timers.values()) clearInterval(t)
    this.#timers.clear()
  }

  /** Like Kong's callback lock: a round still running when its next one is due skips it. */
  #tick (mode: RoundMode): void {
    if (!this.#started || this.#rounds.has(mode)) return
    const round = this.#round(mode).finally(() => { this.#rounds.delete(mode) })
    this.#rounds.set(mode, round)
  }

  /**
   * Probes the targets whose health belongs to `mode` at the start of the round, at most
   * `concurrency` at a time (Kong splits the list into that many sequential work packages;
   * a shared queue keeps the same bound with less idle time). Healthy and unhealthy rounds
   * run independently, each with its own bound, as in Kong.
   */
  async #round (mode: RoundMode): Promise<void> {
    const wanted = mode === 'healthy' ? isHealthy : (h: InternalHealth) => !isHealthy(h)
    const queue = [...this.#targets.values()].filter((e) => wanted(e.health)).map((e) => e.target)
    const total = queue.length
    const workers = Math.min(Math.max(1, this.#hc.active.concurrency), total)
    const work = async (): Promise<void> => {
      for (let t = queue.shift(); t !== undefined && this.#started; t = queue.shift()) await this.#probeOne(t)
    }
    await Promise.all(Array.from({ length: workers }, work))
    if (!this.#started) return
    for (const fn of this.#roundListeners) {
      try { fn(mode, total) } catch (err) { this.#log?.error({ err, upstream: this.name }, '[healthchecks] round listener failed') }
    }
  }

  async #probeOne (target: CheckTarget): Promise<void> {
    // Gone since the round began (setTargets): nothing to probe.
    if (!this.#targets.has(keyOf(target.ip, target.port, target.hostname))) return
    const active = this.#hc.active
    const host = this.#hostHeader ?? (target.hostname !== '' ? target.hostname : target.ip)
    const type = active.type as ProbeType
    const probe = startProbe({
      type,
      ip: target.ip,
      port: target.port,
      timeoutMs: active.timeout > 0 ? active.timeout * 1000 : DEFAULT_PROBE_TIMEOUT_MS,
      request: requestHead(active.http_path, host, active.headers),
      // Kong: https_sni, else the Host the probe sends (host_header or the target name).
      // Tollgate drops a `:port` a host_header may carry; it is no server name.
      servername: active.https_sni ?? stripPort(host),
      verify: active.https_verify_certificate,
      ...(type === 'https' || type === 'grpcs' ? this.#clientCertificate?.() : undefined),
    })
    this.#probes.add(probe)
    let outcome: ProbeOutcome
    try {
      outcome = await probe.done
    } finally {
      this.#probes.delete(probe)
    }
    if (!this.#started || outcome.kind === 'aborted') return
    const e = this.#targets.get(keyOf(target.ip, target.port, target.hostname))
    if (e === undefined) return
    if (outcome.kind !== 'success' && outcome.kind !== 'status') {
      this.#log?.debug({ upstream: this.name, target: `${target.hostname} ${target.ip}:${target.port}` }, `[healthchecks] probe: ${outcome.kind}`)
    }
    switch (outcome.kind) {
      case 'success': this.#count(e, 'healthy', this.#hc.active.healthy.successes, 'successes'); break
      case 'status': this.#evidence(e, this.#hc.active, 'response', outcome.status); break
      default: this.#evidence(e, this.#hc.active, outcome.kind)
    }
  }

  #evidence (e: Entry, checks: CheckSettings, outcome: PassiveOutcome, status?: number): void {
    const ev = evidenceOf(checks, outcome, status)
    if (ev !== undefined) this.#count(e, ev.toward, ev.limit, ev.counter)
  }

  /**
   * lua-resty-healthcheck's incr_counter. A threshold of 0 switches the evidence off; a
   * success while fully healthy, or a failure while fully unhealthy, changes nothing. A
   * success clears the failure counters, a failure clears successes. Reaching the threshold
   * flips the health fully; below it, a failure turns `healthy` into `mostly_healthy` and a
   * success turns `unhealthy` into `mostly_unhealthy`; the mostly_* states only move on
   * when a threshold is reached.
   */
  #count (e: Entry, toward: 'healthy' | 'unhealthy', limit: number, counter: Counter): void {
    if (limit === 0 || e.health === toward) return
    e[counter]++
    if (counter === 'successes') e.tcp_failures = e.timeouts = e.http_failures = 0
    else e.successes = 0
    const { ip, port, hostname } = e.target
    this.#log?.warn({ upstream: this.name, target: `${hostname} ${ip}:${port}` },
      `[healthchecks] ${toward} ${counter} increment (${e[counter]}/${limit})`)
    let next: InternalHealth | undefined
    if (e[counter] >= limit) next = toward
    else if (e.health === 'healthy' && e.tcp_failures + e.timeouts + e.http_failures > 0) next = 'mostly_healthy'
    else if (e.health === 'unhealthy' && e.successes > 0) next = 'mostly_unhealthy'
    if (next !== undefined) this.#setHealth(e, next)
  }

  #setHealth (e: Entry, health: InternalHealth): void {
    const previous = e.health
    if (previous === health) return
    e.health = health
    for (const fn of this.#listeners) {
      try {
        fn(e.target, health, previous)
      } catch (err) {
        this.#log?.error({ err, upstream: this.name }, '[healthchecks] health listener failed')
      }
    }
  }
}

/** `example.com:8443` → `example.com`; `[::1]:8443` → `::1`. */
function stripPort (host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'))
  const colon = host.indexOf(':')
  return colon === -1 || host.indexOf(':', colon + 1) !== -1 ? host : host.slice(0, colon)
}
