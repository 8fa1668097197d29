// Name resolution for hostname targets, re-resolved as their records expire.
//
// Kong (kong/runloop/balancer/targets.lua with kong/resty/dns/client.lua, and the 3.8+
// kong/dns/client.lua) decides, and we follow:
// - the hosts file is read once and wins over DNS; `localhost` resolves even when the file
//   does not list it (127.0.0.1, else [::1]); a name listed for both families gets its IPv4;
// - record types are tried in order (A, then AAAA) and the first type with records is the
//   answer: a name with A records is not also balanced over its AAAA ones;
// - IPv6 addresses are written in brackets;
// - a name error (NXDOMAIN) takes the target's addresses away at once: the target shows the
//   error in `dns` and has no addresses (the health endpoint's DNS_ERROR);
// - other failures (timeouts, SERVFAIL, REFUSED) and empty answers keep the last good
//   addresses (Kong's "stale" records) for a while;
// - failed names are asked again later (Kong: every 30 s, REQUERY_INTERVAL).
// What we chose (Kong's values in brackets):
// - the record TTL is clamped to [minTtl 1 s, maxTtl 300 s] [no clamp]. TTL 0 therefore
//   means "ask again in 1 s" [Kong re-resolves on every request through a virtual SRV
//   record]: a pick never waits for DNS, and a TTL-0 name costs one query a second per
//   target rather than one per request. The cap of 300 s bounds how long a changed record
//   goes unnoticed when its TTL says a day;
// - stale addresses are kept up to staleTtl 3600 s past their expiry [dns_stale_ttl: 4 s in
//   3.2]: with 4 s, any DNS outage longer than a record's TTL takes every hostname target
//   down, while a stale address is still subject to health checks;
// - failures are retried after 1 s, doubling up to 30 s [a flat 30 s], so a name that was
//   briefly unresolvable at start is not out for half a minute;
// - no SRV: node's resolver gives no TTL for SRV records, and SRV targets would need a second
//   resolution step for their names. No resolv.conf search domains either (node's resolve4
//   queries the name as given; Kong applies `search`/`ndots`).

import { Resolver } from 'node:dns/promises'
import { readFileSync } from 'node:fs'
import { isIPv4, isIPv6 } from 'node:net'
import { bracket } from './address.js'

/** The part of node's `dns.promises.Resolver` used here. */
export interface DnsResolver {
  resolve4 (name: string, options: { ttl: true }): Promise<{ address: string, ttl: number }[]>
  resolve6 (name: string, options: { ttl: true }): Promise<{ address: string, ttl: number }[]>
}

export interface DnsOptions {
  /** Default: a node Resolver on the system's name servers (2 s timeout, 3 tries). */
  resolver?: DnsResolver
  /** Name → addresses from a hosts file. A path, or the table itself. Default: /etc/hosts. */
  hosts?: string | ReadonlyMap<string, string>
  /** Record types to try, in order. Default ['A', 'AAAA']. */
  order?: readonly ('A' | 'AAAA')[]
  /** Seconds. TTLs below (TTL 0 included) count as this. Default 1. */
  minTtl?: number
  /** Seconds. Longer TTLs count as this. Default 300. */
  maxTtl?: number
  /** Seconds past expiry that the last good addresses survive failures. Default 3600. */
  staleTtl?: number
  /** Seconds before the first retry of a failed name; doubles per failure. Default 1. */
  retryMin?: number
  /** Seconds: longest wait between retries. Default 30 (Kong's REQUERY_INTERVAL). */
  retryMax?: number
  /** Milliseconds, monotonic. For tests. */
  clock?: () => number
}

export type DnsAnswer =
  | { ok: true, type: 'A' | 'AAAA', ips: string[], ttl: number }
  | { ok: false, kind: 'name-error' | 'empty' | 'failure', message: string }

/** Shared settings and caches for every watched name of a process. */
export class DnsContext {
  readonly resolver: DnsResolver
  readonly hosts: ReadonlyMap<string, string>
  readonly order: readonly ('A' | 'AAAA')[]
  readonly minTtl: number
  readonly maxTtl: number
  readonly staleTtl: number
  readonly retryMin: number
  readonly retryMax: number
  readonly clock: () => number

  constructor (opts: DnsOptions = {}) {
    this.resolver = opts.resolver ?? new Resolver({ timeout: 2000, tries: 3 })
    this.hosts = typeof opts.hosts === 'object' ? withLocalhost(opts.hosts) : readHosts(opts.hosts ?? '/etc/hosts')
    this.order = opts.order ?? ['A', 'AAAA']
    this.minTtl = opts.minTtl ?? 1
    this.maxTtl = opts.maxTtl ?? 300
    this.staleTtl = opts.staleTtl ?? 3600
    this.retryMin = opts.retryMin ?? 1
    this.retryMax = opts.retryMax ?? 30
    this.clock = opts.clock ?? (() => performance.now())
  }

  /** One resolution of `name` (lower-case, not an IP): hosts file, then DNS by `order`. */
  async resolve (name: string): Promise<DnsAnswer> {
    const fromHosts = this.hosts.get(name)
    if (fromHosts !== undefined) {
      return { ok: true, type: fromHosts.startsWith('[') ? 'AAAA' : 'A', ips: [fromHosts], ttl: Number.POSITIVE_INFINITY }
    }
    const failures: { kind: 'name-error' | 'empty' | 'failure', message: string }[] = []
    for (const type of this.order) {
      try {
        const records = type === 'A' ? await this.resolver.resolve4(name, { ttl: true }) : await this.resolver.resolve6(name, { ttl: true })
        if (records.length > 0) {
          let ttl = Number.POSITIVE_INFINITY
          for (const r of records) ttl = Math.min(ttl, r.ttl)
          return { ok: true, type, ips: records.map((r) => bracket(r.address)).sort(), ttl }
        }
        failures.push(classify('ENODATA'))
      } catch (err) {
        failures.push(classify((err as { code?: string }).code))
      }
    }
    // Authoritative "no such name" only when every type said so; a failure anywhere keeps
    // the stale answer (we cannot know the name is gone).
    const failure = failures.find((f) => f.kind === 'failure')
    if (failure !== undefined) return { ok: false, ...failure }
    const empty = failures.find((f) => f.kind === 'empty')
    return { ok: false, ...(empty ?? failures[0] ?? classify(undefined)) }
  }
}

/** Kong's wording of DNS errors (its `dns` field in the health output shows them). */
function classify (code: string | undefined): { kind: 'name-error' | 'empty' | 'failure', message: string } {
  switch (code) {
    case 'ENOTFOUND': return { kind: 'name-error', message: 'dns server error: 3 name error' }
    case 'ENODATA': return { kind: 'empty', message: 'dns client error: 101 empty record received' }
    case 'EFORMERR': return { kind: 'failure', message: 'dns server error: 1 format error' }
    case 'ESERVFAIL': return { kind: 'failure', message: 'dns server error: 2 server failure' }
    case 'ENOTIMP': return { kind: 'failure', message: 'dns server error: 4 not implemented' }
    case 'EREFUSED': return { kind: 'failure', message: 'dns server error: 5 refused' }
    case 'ETIMEOUT': return { kind: 'failure', message: 'dns server error: timeout' }
    default: return { kind: 'failure', message: `dns client error: ${code ?? 'unknown error'}` }
  }
}

const hostsCache = new Map<string, ReadonlyMap<string, string>>()

/**
 * Parses a hosts file once per process and path (Kong reads it once: edits need a
 * restart). Missing or unreadable: just `localhost`.
 */
export function readHosts (path: string): ReadonlyMap<string, string> {
  let table = hostsCache.get(path)
  if (table === undefined) {
    let text = ''
    try { text = readFileSync(path, 'utf8') } catch {}
    table = parseHosts(text)
    hostsCache.set(path, table)
  }
  return table
}

/** Name → address: the first IPv4 listed for it, else the first IPv6 (bracketed). */
export function parseHosts (text: string): ReadonlyMap<string, string> {
  const v4 = new Map<string, string>()
  const v6 = new Map<string, string>()
  for (const raw of text.split('\n')) {
    const hash = raw.indexOf('#')
    const parts = (hash === -1 ? raw : raw.slice(0, hash)).trim().split(/\s+/)
    if (parts.length < 2) continue
    const ip = parts[0] as string
    const family = isIPv4(ip) ? v4 : isIPv6(ip) ? v6 : undefined
    if (family === undefined) continue
    for (const name of parts.slice(1)) {
      const n = name.toLowerCase()
      if (!family.has(n)) family.set(n, family === v6 ? bracket(ip) : ip)
    }
  }
  const out = new Map(v6)
  for (const [n, ip] of v4) out.set(n, ip)
  return withLocalhost(out)
}

function withLocalhost (table: ReadonlyMap<string, string>): ReadonlyMap<string, string> {
  if (table.has('localhost')) return table
  return new Map([...table, ['localhost', '127.0.0.1']])
}

/**
 * Keeps one name resolved: asks on start, again when the answer's TTL runs out, and
 * after failures with backoff. Calls `onChange` when the address list changes.
 */
export class NameWatch {
  readonly name: string
  /** Kong's `dns` field: 'A' / 'AAAA', or the error that left no addresses. */
  status = 'unknown'
  ips: readonly string[] = []
  readonly #ctx: DnsContext
  readonly #onChange: (ips: readonly string[]) => void
  #timer: NodeJS.Timeout | undefined
  #inflight: Promise<void> | undefined
  #stopped = false
  /** When the last good answer expired or will (ms, ctx clock). */
  #expires = Number.NEGATIVE_INFINITY
  #failures = 0

  constructor (name: string, ctx: DnsContext, onChange: (ips: readonly string[]) => void) {
    this.name = name
    this.#ctx = ctx
    this.#onChange = onChange
  }

  /** Resolves now (joining a query under way); settles when the answer is applied. */
  refresh (): Promise<void> {
    if (this.#stopped) return Promise.resolve()
    this.#inflight ??= this.#run().finally(() => { this.#inflight = undefined })
    return this.#inflight
  }

  stop (): void {
    this.#stopped = true
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
  }

  async #run (): Promise<void> {
    if (this.#timer !== undefined) { clearTimeout(this.#timer); this.#timer = undefined }
    const ctx = this.#ctx
    const answer = await ctx.resolve(this.name)
    if (this.#stopped) return
    const now = ctx.clock()
    let next: number
    let ips: readonly string[] | undefined
    if (answer.ok) {
      this.#failures = 0
      const ttl = Math.min(Math.max(answer.ttl, ctx.minTtl), ctx.maxTtl)
      this.#expires = now + ttl * 1000
      this.status = answer.type
      ips = answer.ips
      next = ttl
    } else {
      const keep = answer.kind !== 'name-error' && this.ips.length > 0 && now < this.#expires + ctx.staleTtl * 1000
      if (!keep) {
        this.status = answer.message
        ips = []
      }
      next = Math.min(ctx.retryMin * 2 ** this.#failures, ctx.retryMax)
      this.#failures++
    }
    // Scheduled before telling anyone, so a listener that throws cannot end the refreshes.
    this.#timer = setTimeout(() => { this.refresh().catch(() => {}) }, next * 1000)
    this.#timer.unref()
    if (ips !== undefined) this.#set(ips)
  }

  #set (ips: readonly string[]): void {
    if (ips.length === this.ips.length && ips.every((ip, i) => ip === this.ips[i])) return
    this.ips = ips
    this.#onChange(ips)
  }
}
