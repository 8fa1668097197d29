// Consistent hashing: Kong's hash function, stickiness, weights, and that adding or
// removing a target moves only its share of the keys.
import t from 'tap'
import { xxhash32, type Balancer, type PeerAddress } from '../../../core/balancer/index.js'
import { balancer, ipTargets, tally } from '../../helpers/balancer.js'

const keys = Array.from({ length: 20_000 }, (_, i) => `user-${i}`)

function owners (b: Balancer): string[] {
  return keys.map((k) => { const a = b.select(k) as PeerAddress; b.release(a); return a.key })
}

t.test('xxhash32 matches the reference implementation (libxxhash, seed 0)', async (t) => {
  // Values computed with libxxhash's XXH32.
  const vectors: [string, number][] = [
    ['', 0x02cc5d05],
    ['a', 0x550d7456],
    ['abc', 0x32d153ff],
    ['1.2.3.4::80 1', 0xbffe0757],
    ['[::1]::8080 160', 0xf8b37823],
    ['/api/v1/users/42', 0x56072f14],
    ['Nobody inspects the spammish repetition', 0xe2293b2f],
    ['0123456789abcdef0123', 0x6350964e],
    ['héllo wörld ✓', 0xc26dc238],
  ]
  for (const [s, h] of vectors) t.equal(xxhash32(s), h, JSON.stringify(s))
  t.equal(xxhash32('x'.repeat(1000)), xxhash32('x'.repeat(1000)), 'long strings (scratch buffer grows)')
})

t.test('a value always goes to the same address; equal weights share the keys', async (t) => {
  const b = balancer({ algorithm: 'consistent-hashing' }, ipTargets(10))
  t.same(owners(b), owners(b))
  const counts = tally(b, keys.length, (i) => keys[i] as string)
  t.equal(counts.size, 10)
  for (const [k, n] of counts) t.ok(n > 2000 * 0.7 && n < 2000 * 1.3, `${k}: ${n}`)
  t.equal(b.select(undefined)?.key, b.select('')?.key, 'no hash value is the empty string')
})

t.test('weights set the share of keys', async (t) => {
  const b = balancer({ algorithm: 'consistent-hashing' }, [{ target: '10.0.0.1:80', weight: 200 }, { target: '10.0.0.2:80', weight: 100 }])
  const counts = tally(b, keys.length, (i) => keys[i] as string)
  const ratio = (counts.get('10.0.0.1:80') as number) / (counts.get('10.0.0.2:80') as number)
  t.ok(ratio > 1.7 && ratio < 2.3, `ratio ${ratio.toFixed(2)}`)
  const zero = balancer({ algorithm: 'consistent-hashing' }, [{ target: '10.0.0.1:80', weight: 100 }, { target: '10.0.0.2:80', weight: 0 }])
  t.same([...tally(zero, 1000, (i) => keys[i] as string).keys()], ['10.0.0.1:80'], 'weight 0: no keys')
})

t.test('adding a target moves only the keys it takes over', async (t) => {
  const targets = ipTargets(10)
  const b = balancer({ algorithm: 'consistent-hashing' }, targets)
  const before = owners(b)
  b.update({ algorithm: 'consistent-hashing' }, [...targets, { target: '10.0.9.9:80', weight: 100 }])
  const after = owners(b)
  let moved = 0
  for (let i = 0; i < keys.length; i++) {
    if (before[i] === after[i]) continue
    moved++
    if (after[i] !== '10.0.9.9:80') { t.fail(`${keys[i]} moved from ${before[i]} to ${after[i]}`); break }
  }
  const share = moved / keys.length
  t.ok(share > 0.5 / 11 && share < 1.5 / 11, `moved ${(share * 100).toFixed(1)}% (1/11 is ${(100 / 11).toFixed(1)}%)`)
})

t.test('removing a target moves only the keys it had', async (t) => {
  const targets = ipTargets(10)
  const b = balancer({ algorithm: 'consistent-hashing' }, targets)
  const before = owners(b)
  const gone = targets[3]?.target.replace(/:80$/, '') + ':80'
  b.update({ algorithm: 'consistent-hashing' }, targets.filter((x) => x.target !== gone))
  const after = owners(b)
  let stayed = 0
  let had = 0
  for (let i = 0; i < keys.length; i++) {
    if (before[i] === gone) { had++; continue }
    if (before[i] === after[i]) stayed++
  }
  t.equal(stayed, keys.length - had, 'every key of the other targets stayed')
  t.notOk(after.includes(gone))
})

t.test('an unavailable address hands its keys to the next owner backwards, and gets them back', async (t) => {
  const b = balancer({ algorithm: 'consistent-hashing' }, ipTargets(5))
  const before = owners(b)
  const down = before[0] as string
  b.setAvailable(down, false)
  const during = owners(b)
  for (let i = 0; i < keys.length; i++) {
    if (before[i] !== down && during[i] !== before[i]) { t.fail(`${keys[i]} moved though its owner is up`); break }
  }
  t.notOk(during.includes(down))
  // A retry that tried the first owner goes where the value goes while that owner is down.
  const b2 = balancer({ algorithm: 'consistent-hashing' }, ipTargets(5))
  for (let i = 0; i < 200; i++) {
    if (before[i] !== down) continue
    t.equal(b2.select(keys[i], new Set([down]))?.key, during[i], `${keys[i]} retried`)
  }
  b.setAvailable(down, true)
  t.same(owners(b), before)
})

t.test('every address tried: the value\'s own address again; none available: undefined', async (t) => {
  const b = balancer({ algorithm: 'consistent-hashing' }, ipTargets(3))
  const first = b.select('k') as PeerAddress
  t.equal(b.select('k', new Set(b.addresses().map((a) => a.key)))?.key, first.key)
  for (const a of b.addresses()) b.setAvailable(a.key, false)
  t.equal(b.select('k'), undefined)
})

t.test('1,000 targets: every target gets keys (Kong\'s ring would not fit them), adding one moves ~1/1001', async (t) => {
  const targets = ipTargets(1000)
  const b = balancer({ algorithm: 'consistent-hashing' }, targets)
  const before = owners(b)
  const counts = tally(b, 100_000, (i) => `k${i}`)
  t.equal(counts.size, 1000)
  // 10,000 slots give each target about ten points: shares are coarse (Kong's docs advise
  // more slots for many targets), but none is empty and none huge.
  t.ok(Math.max(...counts.values()) < 100 * 4, `largest share ${Math.max(...counts.values())} keys (mean 100)`)
  b.update({ algorithm: 'consistent-hashing' }, [...targets, { target: '10.9.9.9:80', weight: 100 }])
  const after = owners(b)
  const moved = after.filter((o, i) => o !== before[i])
  t.ok(moved.every((o) => o === '10.9.9.9:80'), 'only to the new target')
  t.ok(moved.length < keys.length * 3 / 1001, `${moved.length} of ${keys.length} keys moved`)
})

t.test('slots below 1000 still make a ring of 1000 points, as Kong\'s', async (t) => {
  const small = balancer({ algorithm: 'consistent-hashing', slots: 10 }, ipTargets(4))
  const kong = balancer({ algorithm: 'consistent-hashing', slots: 1000 }, ipTargets(4))
  t.same(owners(small), owners(kong))
})

t.test('an available address that won no point of a crowded ring is still picked', async (t) => {
  // 2,000 targets on 1,000 points: most own no point at all.
  const b = balancer({ algorithm: 'consistent-hashing', slots: 1000 }, ipTargets(2000))
  const all = b.addresses()
  for (const a of all) b.setAvailable(a.key, false)
  for (const x of [all[0], all[777], all[1999]] as PeerAddress[]) {
    b.setAvailable(x.key, true)
    t.equal(b.select('anything')?.key, x.key)
    t.equal(b.select('anything', new Set([x.key]))?.key, x.key, 'also when tried: nothing else is up')
    b.setAvailable(x.key, false)
  }
})
