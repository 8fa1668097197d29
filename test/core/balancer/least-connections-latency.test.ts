// least-connections (attempt counting through select/release) and latency (decaying
// averages reported through release).
import t from 'tap'
import type { PeerAddress } from '../../../core/balancer/index.js'
import { balancer } from '../../helpers/balancer.js'

const A = '10.0.0.1:80'
const B = '10.0.0.2:80'
const C = '10.0.0.3:80'

t.test('least-connections: the lowest (active + 1) / weight', async (t) => {
  const b = balancer({ algorithm: 'least-connections' }, [{ target: A, weight: 100 }, { target: B, weight: 100 }])
  const a1 = b.select() as PeerAddress
  const a2 = b.select() as PeerAddress
  t.not(a1.key, a2.key, 'the second attempt goes to the idle address')
  const a3 = b.select() as PeerAddress
  b.release(a1)
  b.release(a3)
  // Now a2's address has 1 in flight (or 2 if a3 shared it), the other fewer.
  const next = b.select() as PeerAddress
  t.not(next.key, a2.key, 'the address with fewer attempts in flight')
  for (const x of [a2, next]) b.release(x)

  // Weight 200 vs 100, nothing released: attempts in flight split 2:1.
  const w = balancer({ algorithm: 'least-connections' }, [{ target: A, weight: 200 }, { target: B, weight: 100 }])
  const held: PeerAddress[] = []
  for (let i = 0; i < 300; i++) held.push(w.select() as PeerAddress)
  t.equal(held.filter((x) => x.key === A).length, 200)
  // The heaviest goes first when everything is idle (Kong's +1).
  for (const x of held) w.release(x)
  t.equal(w.select()?.key, A)
})

t.test('least-connections: a retry avoids tried addresses; unavailable ones are skipped', async (t) => {
  const b = balancer({ algorithm: 'least-connections' }, [{ target: A, weight: 100 }, { target: B, weight: 100 }, { target: C, weight: 100 }])
  const first = b.select() as PeerAddress
  b.release(first)
  const second = b.select(undefined, new Set([first.key])) as PeerAddress
  t.not(second.key, first.key)
  b.release(second)
  const third = b.select(undefined, new Set([first.key, second.key])) as PeerAddress
  t.equal(new Set([first.key, second.key, third.key]).size, 3)
  b.release(third)
  t.ok(b.select(undefined, new Set([A, B, C])) !== undefined, 'all tried: starts over')
  b.setAvailable(A, false)
  b.setAvailable(B, false)
  for (let i = 0; i < 5; i++) t.equal(b.select()?.key, C)
  b.setAvailable(C, false)
  t.equal(b.select(), undefined)
  b.setAvailable(A, true)
  t.equal(b.select()?.key, A, 'back in the heap when available again')
})

t.test('least-connections: counts survive a rebuild and an algorithm switch; late releases are harmless', async (t) => {
  const targets = [{ target: A, weight: 100 }, { target: B, weight: 100 }]
  const b = balancer({ algorithm: 'least-connections' }, targets)
  const held = [b.select(), b.select(), b.select()] as PeerAddress[]
  const busy = held[0]?.key === held[2]?.key ? held[0]?.key : held[1]?.key // the one with two
  b.update({ algorithm: 'round-robin' }, targets)
  b.update({ algorithm: 'least-connections' }, [...targets, { target: C, weight: 100 }])
  const picks = [b.select(), b.select()] as PeerAddress[]
  t.notOk(picks.some((p) => p.key === busy), 'the address with two in flight is not picked')
  b.update({ algorithm: 'least-connections' }, [{ target: C, weight: 100 }])
  for (const x of [...held, ...picks]) b.release(x) // some no longer in the balancer
  t.equal(b.select()?.key, C)
})

t.test('latency: cold start spreads; then the lowest average / weight wins', async (t) => {
  let now = 1_000_000
  const b = balancer({ algorithm: 'latency' }, [{ target: A, weight: 100 }, { target: B, weight: 100 }, { target: C, weight: 100 }], { clock: () => now })
  const cold = [b.select(), b.select(), b.select()] as PeerAddress[]
  t.equal(new Set(cold.map((x) => x.key)).size, 3, 'one each before any measurement')
  const ms: Record<string, number> = { [A]: 50, [B]: 10, [C]: 200 }
  for (const x of cold) b.release(x, ms[x.key])
  now += 100
  for (let i = 0; i < 5; i++) {
    const x = b.select() as PeerAddress
    t.equal(x.key, B)
    b.release(x, 10)
    now += 10
  }
  // Weight divides the average: C at 200 ms with 40x the weight scores 5, below B's 10.
  b.update({ algorithm: 'latency' }, [{ target: A, weight: 100 }, { target: B, weight: 100 }, { target: C, weight: 4000 }])
  t.equal(b.select()?.key, C)
})

t.test('latency: an average decays over 10 s, so a slow address is tried again', async (t) => {
  let now = 0
  const b = balancer({ algorithm: 'latency' }, [{ target: A, weight: 100 }, { target: B, weight: 100 }], { clock: () => now })
  const x = b.select() as PeerAddress
  const y = b.select() as PeerAddress
  b.release(x, x.key === A ? 10 : 500)
  b.release(y, y.key === A ? 10 : 500)
  // A answers in 10 ms every second; B's one sample (500 ms) decays as 500 e^(-t/10) and
  // drops below A's 10 after ln(50) × 10 ≈ 39 s.
  let bAt: number | undefined
  for (now = 1000; now <= 60_000 && bAt === undefined; now += 1000) {
    const p = b.select() as PeerAddress
    if (p.key === B) bAt = now
    b.release(p, 10)
  }
  t.ok(bAt !== undefined && bAt >= 38_000 && bAt <= 41_000, `B tried again at ${bAt} ms`)
})

t.test('latency: a new address starts at the mean of the others; retries avoid tried ones', async (t) => {
  let now = 0
  const targets = [{ target: A, weight: 100 }, { target: B, weight: 100 }]
  const b = balancer({ algorithm: 'latency' }, targets, { clock: () => now })
  const first = [b.select(), b.select()] as PeerAddress[]
  for (const x of first) b.release(x, x.key === A ? 10 : 30)
  b.update({ algorithm: 'latency' }, [...targets, { target: C, weight: 100 }])
  // C starts at 20: above A (10), below B (30).
  t.equal(b.select()?.key, A)
  t.equal(b.select(undefined, new Set([A]))?.key, C)
  t.equal(b.select(undefined, new Set([A, C]))?.key, B)
  t.ok(b.select(undefined, new Set([A, B, C])) !== undefined, 'all tried: starts over')
  // A failed attempt (no time) does not count as a fast one.
  const c = b.select(undefined, new Set([A])) as PeerAddress
  b.release(c)
  b.setAvailable(A, false)
  t.equal(b.select()?.key, C)
  b.setAvailable(A, true)
  t.equal(b.select()?.key, A)
})
