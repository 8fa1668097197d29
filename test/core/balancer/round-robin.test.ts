// Round-robin: weighted and smooth, equal weights alternating, weight 0, unavailable
// addresses, retries, and the nothing-available result.
import t from 'tap'
import { NO_PEER_MESSAGE, type PeerAddress } from '../../../core/balancer/index.js'
import { balancer, ipTargets, seeded, tally } from '../../helpers/balancer.js'

const A = '10.0.0.1:80'
const B = '10.0.0.2:80'
const C = '10.0.0.3:80'

function sequence (b: ReturnType<typeof balancer>, n: number, names: Record<string, string>): string {
  let s = ''
  for (let i = 0; i < n; i++) {
    const a = b.select() as PeerAddress
    b.release(a)
    s += names[a.key] ?? '?'
  }
  return s
}

t.test('weights 100 and 50 give 2:1 within 5% over 3,000 picks, evenly interleaved', async (t) => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const b = balancer({}, [{ target: A, weight: 100 }, { target: B, weight: 50 }], { random: seeded(seed) })
    const s = sequence(b, 3000, { [A]: 'A', [B]: 'B' })
    const a = s.split('').filter((c) => c === 'A').length
    const ratio = a / (3000 - a)
    t.ok(Math.abs(ratio - 2) / 2 < 0.05, `seed ${seed}: ratio ${ratio.toFixed(3)}`)
    // Smooth: never three A in a row, never two B (a shuffled wheel allows both).
    t.notOk(s.includes('AAA') || s.includes('BB'), `seed ${seed}: ${s.slice(0, 24)}...`)
  }
})

t.test('equal weights alternate strictly', async (t) => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    const b = balancer({}, [{ target: A, weight: 10 }, { target: B, weight: 10 }], { random: seeded(seed) })
    const s = sequence(b, 200, { [A]: 'A', [B]: 'B' })
    t.ok(/^(AB)+$/.test(s) || /^(BA)+$/.test(s), `seed ${seed}: ${s.slice(0, 12)}...`)
  }
  const three = balancer({}, [{ target: A, weight: 5 }, { target: B, weight: 5 }, { target: C, weight: 5 }])
  const s = sequence(three, 300, { [A]: 'A', [B]: 'B', [C]: 'C' })
  for (let i = 0; i + 3 <= s.length; i += 3) {
    if (new Set(s.slice(i, i + 3)).size !== 3) { t.fail(`window ${i}: ${s.slice(i, i + 3)}`); break }
  }
  t.equal(s.slice(0, 3), s.slice(3, 6), 'the same order every cycle')
})

t.test('processes with different random sources do not start on the same address', async (t) => {
  const firsts = new Set<string>()
  for (let seed = 1; seed <= 20; seed++) {
    const b = balancer({}, ipTargets(4), { random: seeded(seed) })
    firsts.add((b.select() as PeerAddress).key)
  }
  t.ok(firsts.size >= 3, `first picks over 20 balancers: ${[...firsts].join(' ')}`)
})

t.test('a weight-0 target takes no traffic but stays listed', async (t) => {
  const b = balancer({}, [{ target: A, weight: 100 }, { target: B, weight: 0 }])
  t.same([...tally(b, 100).keys()], [A])
  const s = b.status()
  t.same(s.hosts.map((h) => [h.host, h.nodeWeight, h.weight.total]), [['10.0.0.1', 100, 100], ['10.0.0.2', 0, 0]])
  t.same(s.weight, { total: 100, available: 100, unavailable: 0 })

  const none = balancer({}, [{ target: A, weight: 0 }])
  t.equal(none.select(), undefined, 'all weights 0: no peer')
  t.equal(none.healthy, false)
})

t.test('unavailable addresses are skipped, and rejoin without a burst', async (t) => {
  const b = balancer({}, [{ target: A, weight: 100 }, { target: B, weight: 100 }, { target: C, weight: 100 }])
  t.equal(b.setAvailable(B, false), 1)
  const down = tally(b, 300)
  t.same([...down.keys()].sort(), [A, C])
  t.equal(down.get(A), 150)
  t.equal(b.setAvailable(B, false), 0, 'already unavailable')
  t.equal(b.setAvailable(B, true), 1)
  // Back after 300 picks without it: it gets its third, not 300 picks to catch up.
  const back = tally(b, 30)
  t.same([back.get(A), back.get(B), back.get(C)], [10, 10, 10])
})

t.test('nothing available: undefined, for the 503 with Kong\'s message', async (t) => {
  const b = balancer({}, [{ target: A, weight: 100 }, { target: B, weight: 50 }])
  b.setAvailable(A, false)
  b.setAvailable(B, false)
  t.equal(b.select(), undefined)
  t.equal(b.healthy, false)
  t.equal(NO_PEER_MESSAGE, 'failure to get a peer from the ring-balancer')
  b.setAvailable(B, true)
  t.equal(b.select()?.key, B)
  t.equal(balancer({}, []).select(), undefined, 'no targets at all')
})

t.test('a retry avoids addresses already tried, while others are available', async (t) => {
  const b = balancer({}, [{ target: A, weight: 100 }, { target: B, weight: 100 }, { target: C, weight: 100 }])
  for (let i = 0; i < 30; i++) {
    const first = b.select() as PeerAddress
    const second = b.select(undefined, new Set([first.key])) as PeerAddress
    const third = b.select(undefined, new Set([first.key, second.key])) as PeerAddress
    t.equal(new Set([first.key, second.key, third.key]).size, 3)
    const fourth = b.select(undefined, new Set([A, B, C]))
    t.ok(fourth !== undefined, 'all tried: still an address')
    for (const a of [first, second, third, fourth as PeerAddress]) b.release(a)
  }
  b.setAvailable(C, false)
  t.equal(b.select(undefined, new Set([A]))?.key, B, 'the one untried and available')
})

t.test('1,000 targets are used equally', async (t) => {
  const b = balancer({}, ipTargets(1000))
  const counts = tally(b, 5000)
  t.equal(counts.size, 1000)
  t.ok([...counts.values()].every((n) => n === 5), 'five each')
})
