// Balancer picks (select + release, as the proxy pairs them) with 2 vs 1,000 targets,
// per algorithm; consistent-hashing over 1,000 distinct hash values. Also the cost of
// rebuilding after an address change. Run: npm run bench:micro -- balancer
import { Balancer, DnsContext, type BalancerTarget, type PeerAddress } from '../../core/balancer/index.js'
import { compare, table } from './measure.js'

const dns = new DnsContext({ hosts: new Map() })
const targets = (n: number): BalancerTarget[] => Array.from({ length: n }, (_, i) => ({ target: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}:80`, weight: 100 }))
const values = Array.from({ length: 1000 }, (_, i) => `consumer-${i * 7919}`)
const make = (algorithm: string, n: number, slots?: number): Balancer => new Balancer({ algorithm, slots }, targets(n), { dns })

function pick (b: Balancer, hashed: boolean): (i: number) => unknown {
  return (i) => {
    const a = b.select(hashed ? values[i % 1000] : undefined) as PeerAddress
    b.release(a, 5)
    return a
  }
}

const cases = [
  { name: 'round-robin, 2 targets', fn: pick(make('round-robin', 2), false) },
  { name: 'round-robin, 1,000 targets', fn: pick(make('round-robin', 1000), false) },
  { name: 'consistent-hashing, 2 targets', fn: pick(make('consistent-hashing', 2), true) },
  { name: 'consistent-hashing, 1,000 targets', fn: pick(make('consistent-hashing', 1000), true) },
  { name: 'consistent-hashing, 1,000 targets, 65,536 slots', fn: pick(make('consistent-hashing', 1000, 65536), true) },
  { name: 'least-connections, 2 targets', fn: pick(make('least-connections', 2), false) },
  { name: 'least-connections, 1,000 targets', fn: pick(make('least-connections', 1000), false) },
  { name: 'latency, 2 targets', fn: pick(make('latency', 2), false) },
  { name: 'latency, 1,000 targets', fn: pick(make('latency', 1000), false) },
]
console.log(table(compare(cases, 1_000_000), 'picks/s'))

// Rebuilds happen on the first pick after a DNS answer or config change, not per request.
console.log('\n| rebuild after an address change (1,000 targets) | ms (median of 7) |\n|---|---:|')
for (const algorithm of ['round-robin', 'consistent-hashing', 'least-connections', 'latency']) {
  const b = make(algorithm, 1000)
  const times: number[] = []
  for (let r = 0; r < 7; r++) {
    b.update({ algorithm }, targets(1000 + (r % 2)))
    const start = process.hrtime.bigint()
    b.select(values[r])
    times.push(Number(process.hrtime.bigint() - start) / 1e6)
  }
  times.sort((x, y) => x - y)
  console.log(`| ${algorithm} | ${(times[3] as number).toFixed(2)} |`)
}
