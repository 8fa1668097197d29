// Balancers for tests that need no DNS: an empty hosts table and a resolver that fails
// the test if asked, plus a seeded random source.
import { Balancer, DnsContext, type BalancerOptions, type BalancerTarget, type BalancerUpstream, type PeerAddress } from '../../core/balancer/index.js'

export const noDns = new DnsContext({
  hosts: new Map(),
  resolver: {
    resolve4: () => { throw new Error('unexpected DNS query') },
    resolve6: () => { throw new Error('unexpected DNS query') },
  },
})

/** Deterministic [0, 1) numbers (mulberry32). */
export function seeded (seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6D2B79F5) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 15), z | 1)
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61)
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296
  }
}

export function balancer (upstream: BalancerUpstream, targets: BalancerTarget[], opts: BalancerOptions = {}): Balancer {
  return new Balancer(upstream, targets, { dns: noDns, random: seeded(1), ...opts })
}

/** `n` IP targets 10.0.<i/250>.<i%250+1>:80 of weight `weight`. */
export function ipTargets (n: number, weight = 100): BalancerTarget[] {
  return Array.from({ length: n }, (_, i) => ({ target: `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}:80`, weight }))
}

/** Picks `n` times (releasing each at once); counts per address key. */
export function tally (b: Balancer, n: number, hash?: (i: number) => string): Map<string, number> {
  const counts = new Map<string, number>()
  for (let i = 0; i < n; i++) {
    const a = b.select(hash?.(i)) as PeerAddress
    b.release(a)
    counts.set(a.key, (counts.get(a.key) ?? 0) + 1)
  }
  return counts
}
