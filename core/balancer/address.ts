// Targets and the addresses they resolve to: the units every balancing algorithm works on.
// Kong parity (kong/runloop/balancer/targets.lua, balancers.lua): a target is `host:port`
// with a weight; each address it resolves to is a separate entry carrying the target's
// whole weight (so a name with three A records weighs three times one IP target), and an
// IPv6 address is written in brackets, as Kong's DNS client writes it.

import { isIPv4, isIPv6 } from 'node:net'

/** What the proxy gets from a pick: where to connect and what to call it. */
export interface PeerAddress {
  /** IPv4, or IPv6 in brackets (`[::1]`), as Kong shows addresses. */
  readonly ip: string
  readonly port: number
  /** `ip:port`: the key of this address in `tried` sets and for the health checker. */
  readonly key: string
  /** The target's host (name or IP) as configured: Kong's hostname for the Host header. */
  readonly hostname: string
  /** The target as configured, `host:port`. */
  readonly target: string
  readonly weight: number
  /** False while the health checker (or an operator) holds it out of balancing. */
  readonly available: boolean
}

/**
 * One balancer entry. The algorithm fields live on the address itself so that a pick
 * allocates nothing and state (connection counts, latency averages) survives a rebuild
 * of the algorithm's structures when the address set changes.
 */
export class Address implements PeerAddress {
  readonly ip: string
  readonly port: number
  readonly key: string
  readonly owner: Target
  weight: number
  available = true

  /** Position in the algorithm's heap, -1 when not in it. */
  heapIndex = -1
  /** Primary heap order (pass, load, or latency score). */
  heapKey = 0
  /** Tie-break between equal heapKeys. */
  heapTie = 0
  /** Round-robin step: 1 / weight. */
  stride = 0
  /** In-flight attempts (least-connections). */
  active = 0
  /** Latency: decaying average in ms, and when it was last updated (s, balancer clock). */
  ewma = 0
  ewmaAt = Number.NEGATIVE_INFINITY

  constructor (owner: Target, ip: string, port: number) {
    this.owner = owner
    this.ip = ip
    this.port = port
    this.key = `${ip}:${port}`
    this.weight = owner.weight
  }

  get hostname (): string { return this.owner.host }
  get target (): string { return this.owner.target }
}

export type HostKind = 'ipv4' | 'ipv6' | 'name'

/** A configured target and its current addresses. */
export class Target {
  readonly target: string
  /** Host as written (IPv6 in brackets). */
  readonly host: string
  readonly port: number
  readonly kind: HostKind
  weight: number
  /** Sorted by key, for a deterministic layout. */
  addresses: Address[] = []
  /** Kong's `dns` field: the record type the addresses came from, or the DNS error. */
  dns = 'unknown'

  constructor (target: string, weight: number) {
    const p = parseTarget(target)
    this.target = target
    this.host = p.host
    this.port = p.port
    this.kind = p.kind
    this.weight = weight
  }

  /**
   * Replaces the address list with `ips` (already bracketed for IPv6), keeping the Address
   * objects of addresses that stay, so their health and counters carry over.
   * Returns what was added and removed.
   */
  setAddresses (ips: readonly string[]): { added: Address[], removed: Address[] } {
    const old = new Map(this.addresses.map((a) => [a.ip, a]))
    const next: Address[] = []
    const added: Address[] = []
    for (const ip of new Set(ips)) {
      const kept = old.get(ip)
      if (kept !== undefined) { old.delete(ip); next.push(kept); continue }
      const a = new Address(this, ip, this.port)
      next.push(a)
      added.push(a)
    }
    next.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    this.addresses = next
    return { added, removed: [...old.values()] }
  }

  setWeight (weight: number): void {
    this.weight = weight
    for (const a of this.addresses) a.weight = weight
  }
}

/** Kong's default target port (kong/db/schema/entities/targets.lua). */
export const DEFAULT_TARGET_PORT = 8000

/**
 * Splits `host:port` (`[v6]:port`; port optional, 8000 by default as Kong's target schema
 * has it). IPv6 hosts come back in brackets.
 */
export function parseTarget (target: string): { host: string, port: number, kind: HostKind } {
  let host = target
  let port = DEFAULT_TARGET_PORT
  if (target.startsWith('[')) {
    const close = target.indexOf(']')
    if (close === -1) throw new Error(`invalid target '${target}'`)
    host = target.slice(0, close + 1)
    const rest = target.slice(close + 1)
    if (rest !== '') {
      if (!rest.startsWith(':')) throw new Error(`invalid target '${target}'`)
      port = portOf(rest.slice(1), target)
    }
  } else {
    const colon = target.lastIndexOf(':')
    if (colon !== -1 && target.indexOf(':') !== colon) {
      // A bare IPv6 address without brackets: no port can be told apart.
      host = `[${target}]`
    } else if (colon !== -1) {
      host = target.slice(0, colon)
      port = portOf(target.slice(colon + 1), target)
    }
  }
  const inner = host.startsWith('[') ? host.slice(1, -1) : host
  const kind: HostKind = host.startsWith('[') ? 'ipv6' : isIPv4(inner) ? 'ipv4' : 'name'
  if (kind === 'ipv6' && !isIPv6(inner)) throw new Error(`invalid target '${target}'`)
  if (host === '') throw new Error(`invalid target '${target}'`)
  return { host: kind === 'name' ? host.toLowerCase() : host, port, kind }
}

function portOf (s: string, target: string): number {
  const n = /^\d{1,5}$/.test(s) ? Number(s) : Number.NaN
  if (!(n >= 0 && n <= 65535)) throw new Error(`invalid port in target '${target}'`)
  return n
}

/** `::1` → `[::1]`; IPv4 unchanged. */
export function bracket (ip: string): string {
  return ip.includes(':') && !ip.startsWith('[') ? `[${ip}]` : ip
}
