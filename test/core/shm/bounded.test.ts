// Dictionaries with a capacity (nginx's `lua_shared_dict NAME SIZE`): the total stays under
// it, the least recently used entries go first (expired ones before them), reads record
// their access only once per granularity, and the accounting is one for all processes.
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { SharedMemory, entrySize } from '../../../core/shm/index.js'
import { tempDir } from '../../helpers/store.js'

const KB = 1024
const value = (n: number, fill = 'x'): string => fill.repeat(n)

for (const kind of ['lmdb', 'memory'] as const) {
  const shm = (t: Test, opts: { clock?: () => number, sizes?: Record<string, number>, accessGranularityMs?: number, path?: string } = {}): SharedMemory => {
    const s = new SharedMemory(kind === 'lmdb' ? { path: opts.path ?? join(tempDir(t), 'shm.mdb'), ...opts } : { ...opts, path: undefined })
    t.teardown(() => s.close())
    return s
  }

  t.test(`${kind}: the total follows writes, replacements, deletes and flushes`, async (t) => {
    const s = shm(t, { sizes: { c: 100 * KB } })
    const c = s.dict('c')
    t.equal(s.capacity('c'), 100 * KB)
    t.equal(s.capacity('other'), undefined)
    c.set('a', value(1000))
    t.equal(s.used('c'), entrySize('a', value(1000)))
    c.set('a', value(10))
    t.equal(s.used('c'), entrySize('a', value(10)), 'a replacement counts once, at its new size')
    c.set('b', Buffer.alloc(500))
    t.equal(s.used('c'), entrySize('a', value(10)) + entrySize('b', Buffer.alloc(500)))
    c.delete('a')
    t.equal(s.used('c'), entrySize('b', Buffer.alloc(500)))
    c.delete('missing')
    t.equal(c.incr('n', 1, 0), 1)
    t.equal(c.incr('n', 1), 2)
    t.equal(s.used('c'), entrySize('b', Buffer.alloc(500)) + entrySize('n', 1))
    t.same(c.keys(), ['b', 'n'], 'bookkeeping rows are not keys')
    c.flushAll()
    t.equal(s.used('c'), 0)
    t.same(c.keys(), [])
    t.equal(c.set('huge', value(200 * KB)), false, "larger than the whole dictionary: nginx's no memory")
    t.equal(c.get('huge'), undefined)
    t.equal(s.dict('free').set('huge', value(200 * KB)), true, 'an undeclared dictionary is unbounded')
  })

  t.test(`${kind}: over capacity, the least recently used entries are evicted, down to 90%`, async (t) => {
    let now = 1_000_000
    const s = shm(t, { clock: () => now, sizes: { c: 10 * KB } })
    const c = s.dict('c')
    for (const k of ['a', 'b', 'c', 'd']) { c.set(k, value(2 * KB)); now += 2000 }
    t.equal(c.get('a'), value(2 * KB), 'a is read: now the most recently used')
    now += 2000
    c.set('e', value(2 * KB))
    t.ok(s.used('c') <= 10 * KB * 0.9, `the total (${s.used('c')}) is under 90% of the capacity`)
    t.equal(c.get('b'), undefined, 'b, the least recently used, is gone')
    t.equal(c.get('a'), value(2 * KB), 'a, read after b was written, stays')
    t.equal(c.get('e'), value(2 * KB), 'the entry written stays')
    t.same(c.keys().length, 4)
  })

  t.test(`${kind}: expired entries are evicted before live ones, and purged with their size`, async (t) => {
    let now = 1_000_000
    const s = shm(t, { clock: () => now, sizes: { c: 10 * KB } })
    const c = s.dict('c')
    c.set('old', value(2 * KB))
    now += 1000
    c.set('short', value(2 * KB), 1)
    now += 1000
    c.set('x', value(2 * KB))
    c.set('y', value(2 * KB))
    now += 5000
    c.set('z', value(2 * KB))
    t.equal(c.get('old'), value(2 * KB), 'the oldest live entry stays: the expired one made room')
    t.same(c.keys(), ['old', 'x', 'y', 'z'])
    c.set('t', 'v', 1)
    const before = s.used('c')
    now += 2000
    t.equal(s.purgeExpired(), 1)
    t.equal(s.used('c'), before - entrySize('t', 'v'), 'a purged entry gives its size back')
  })

  t.test(`${kind}: increments count as use: a counter still counting outlives idle ones`, async (t) => {
    let now = 1_000_000
    // Rate-limiting's counters, bounded as Kong's kong_rate_limiting_counters zone: the
    // one a client keeps incrementing must not be the first evicted for being the oldest.
    const s = shm(t, { clock: () => now, sizes: { n: 2 * KB } })
    const n = s.dict('n')
    n.incr('busy', 1, 0)
    now += 2000
    for (let i = 0; i < 5; i++) { n.incr(`idle-${i}`, 1, 0); now += 2000 }
    n.incr('busy', 1, 0)
    now += 2000
    // Fill it past its capacity with new counters: the least recently used go. (Listing
    // keys is not a use; reading idle-0 would be.)
    for (let i = 0; n.keys().includes('idle-0') && i < 1000; i++) { n.incr(`new-${i}`, 1, 0); now += 10 }
    t.equal(n.get('idle-0'), undefined, 'an idle counter was evicted')
    t.equal(n.get('busy'), 2, 'the counter incremented since is still there, with its count')
    t.ok(s.used('n') <= 2 * KB, `within capacity (${s.used('n')})`)
  })

  t.test(`${kind}: reads record their access once per granularity`, async (t) => {
    let now = 1_000_000
    const s = shm(t, { clock: () => now, sizes: { c: 9 * KB }, accessGranularityMs: 1000 })
    const c = s.dict('c')
    c.set('a', value(3 * KB))
    now += 10
    c.set('b', value(3 * KB))
    now += 10
    // Read within the granularity of a's write: not recorded, a stays the older.
    t.ok(c.get('a'))
    c.set('c', value(3 * KB))
    t.equal(c.get('a'), undefined, 'a read within the granularity does not count: a goes first')
    t.ok(c.get('b'))
  })

  t.test(`${kind}: long keys are listed, flushed and purged (a NUL separator once hid them from ranges)`, async (t) => {
    let now = 1_000_000
    const s = shm(t, { clock: () => now, sizes: { c: 100 * KB } })
    const long = 'a'.repeat(64)
    for (const d of [s.dict('c'), s.dict('free')]) {
      d.set(long, Buffer.alloc(10), 1)
      d.set(`${long}b`, 'v')
      t.same(d.keys(), [long, `${long}b`], d.name)
    }
    now += 2000
    t.equal(s.purgeExpired(), 2)
    t.equal(s.used('c'), entrySize(`${long}b`, 'v'))
    s.dict('c').flushAll()
    t.same(s.dict('c').keys(), [])
    t.equal(s.used('c'), 0)
    t.same(s.dict('free').keys(), [`${long}b`], 'another dictionary keeps its entries')
  })

  t.test(`${kind}: a value read stays intact after later reads`, async (t) => {
    const s = shm(t, { sizes: { c: 100 * KB } })
    const c = s.dict('c')
    c.set('one', Buffer.from('first value'))
    c.set('two', Buffer.from('second value'))
    const one = c.get('one') as Buffer
    c.get('two')
    t.equal(one.toString(), 'first value')
  })
}

t.test('lmdb: two handles on one file (two processes) share one total and one LRU order', async (t) => {
  const path = join(tempDir(t), 'shm.mdb')
  let now = 1_000_000
  const clock = (): number => now
  const a = new SharedMemory({ path, reset: true, clock, sizes: { c: 9 * KB } })
  const b = new SharedMemory({ path, clock, sizes: { c: 9 * KB } })
  t.teardown(async () => { await a.close(); await b.close() })
  a.dict('c').set('k1', value(3 * KB))
  now += 2000
  b.dict('c').set('k2', value(3 * KB))
  now += 2000
  t.ok(b.dict('c').get('k1'), 'b reads what a wrote, and records the access')
  now += 2000
  a.dict('c').set('k3', value(3 * KB))
  t.equal(a.used('c'), b.used('c'))
  t.equal(a.dict('c').get('k2'), undefined, "k2 goes: k1's access through b counted")
  t.ok(a.dict('c').get('k1'))
  b.dict('c').flushAll()
  t.equal(a.used('c'), 0, 'a flush through one handle is seen through the other')
  t.equal(a.dict('c').get('k1'), undefined)
})
