// Node-wide shared dictionaries over LMDB: ngx.shared's semantics, expiry, and increments
// that stay exact when several processes increment the same key at once.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { SharedMemory } from '../../../core/shm/index.js'
import { tempDir } from '../../helpers/store.js'

// The same semantics in a file shared by processes and in one process's memory.
for (const kind of ['lmdb', 'memory'] as const) {
  const shm = (t: Test, clock?: () => number): SharedMemory => {
    const s = new SharedMemory(kind === 'lmdb' ? { path: join(tempDir(t), 'shm.mdb'), clock } : { clock })
    t.teardown(() => s.close())
    return s
  }

  t.test(`${kind}: get, set, add, delete, keys, flushAll; dictionaries are separate`, async (t) => {
    const s = shm(t)
    const a = s.dict('a')
    const b = s.dict('b')
    t.equal(s.dict('a'), a, 'one object per name')
    t.equal(a.get('k'), undefined)
    a.set('k', 'v')
    a.set('n', 42)
    a.set('f', false)
    a.set('buf', Buffer.from('xyz'))
    t.equal(a.get('k'), 'v')
    t.equal(a.get('n'), 42)
    t.equal(a.get('f'), false)
    t.same(a.get('buf'), Buffer.from('xyz'))
    t.equal(b.get('k'), undefined, 'b does not see a')
    t.equal(a.add('k', 'other'), false, 'add keeps what is there')
    t.equal(a.add('new', 1), true)
    t.same(a.keys(), ['buf', 'f', 'k', 'n', 'new'])
    t.same(a.keys(2), ['buf', 'f'])
    a.delete('k')
    t.equal(a.get('k'), undefined)
    b.set('x', 1)
    a.flushAll()
    t.same(a.keys(), [])
    t.equal(b.get('x'), 1, "flushing a leaves b's entries")
    t.throws(() => a.set('o', {} as never), /numbers, strings, booleans or Buffers/)
    t.throws(() => s.dict(''), /invalid shared dictionary name/)
    t.throws(() => a.set('k', 1, -1), /ttl must be a non-negative number/)
  })

  t.test(`${kind}: incr: ngx.shared semantics`, async (t) => {
    const a = shm(t).dict('c')
    t.equal(a.incr('missing', 1), undefined, 'absent without init: not found')
    t.equal(a.incr('n', 1, 0), 1, 'absent with init: init + by')
    t.equal(a.incr('n', 5), 6)
    t.equal(a.incr('n', -2, 100), 4, 'init only for an absent key')
    t.equal(a.incr('n', 0.5), 4.5)
    a.set('s', 'text')
    t.throws(() => a.incr('s', 1), /does not hold a number/)
    t.throws(() => a.incr('n', Number.NaN), /must be a number/)
  })

  t.test(`${kind}: incr over more keys than a dictionary remembers stored keys for`, async (t) => {
    const s = shm(t)
    const a = s.dict('many')
    const b = s.dict('other')
    // Twice round 5,000 keys (more than the 4,096 remembered): each key counted once per
    // round, whether its stored key was remembered or made anew.
    for (let round = 1; round <= 2; round++) {
      for (let i = 0; i < 5000; i++) a.incr(`k${i}`, 1, 0)
    }
    b.incr('k1', 7, 0)
    const wrong = Array.from({ length: 5000 }, (_, i) => i).filter((i) => a.get(`k${i}`) !== 2)
    t.same(wrong, [], 'every key counted twice')
    t.equal(a.keys().length, 5000)
    t.equal(b.get('k1'), 7, "the same key in another dictionary is another entry")
  })

  t.test(`${kind}: expiry on the wall clock: entries vanish, incr keeps the first TTL, purge removes them`, async (t) => {
    let now = 1_000_000
    const s = shm(t, () => now)
    const a = s.dict('e')
    a.set('short', 'x', 1.5)
    a.set('forever', 'y')
    t.equal(a.ttl('short'), 1.5)
    t.equal(a.ttl('forever'), 0)
    t.equal(a.ttl('none'), undefined)
    t.equal(a.incr('window', 1, 0, 10), 1)
    now += 5000
    t.equal(a.incr('window', 1, 0, 10), 2, 'an increment keeps the key alive until its first expiry')
    t.equal(a.ttl('window'), 5)
    t.equal(a.get('short'), undefined, 'expired after 1.5 s')
    t.equal(a.add('short', 'again'), true, 'an expired key counts as absent for add')
    now += 6000
    t.equal(a.get('window'), undefined)
    t.equal(a.incr('window', 1, 0, 10), 1, 'a new window starts over')
    t.same(a.keys(), ['forever', 'short', 'window'])
    now += 20_000
    t.same(a.keys(), ['forever', 'short'], "'window' expired again; 'short' was added back without a ttl")
    t.equal(s.purgeExpired(), 1, 'the expired entry is removed from the file')
    t.equal(s.purgeExpired(), 0)
  })

}

t.test('increments from several processes at once are all counted', async (t) => {
  const path = join(tempDir(t), 'shm.mdb')
  const s = new SharedMemory({ path, reset: true })
  t.teardown(() => s.close())
  const script = fileURLToPath(new URL('../../fixtures/shm-incr.ts', import.meta.url))
  const run = (): Promise<number | null> => new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, path, '2000'], { stdio: 'inherit' })
    child.on('exit', (code) => resolve(code))
  })
  const codes = await Promise.all([run(), run(), run()])
  t.same(codes, [0, 0, 0])
  // Read through an increment by 0: it runs in a write transaction, which sees every commit;
  // a plain get may read lmdb-js's shared read snapshot from before the children's last one.
  t.equal(s.dict('counters').incr('hits', 0), 6000, '3 processes x 2,000 increments')
})

t.test('reset empties the node\'s dictionaries, as a restart empties nginx\'s zones', async (t) => {
  const path = join(tempDir(t), 'shm.mdb')
  const first = new SharedMemory({ path })
  first.dict('d').set('k', 1)
  await first.close()
  const again = new SharedMemory({ path })
  t.equal(again.dict('d').get('k'), 1, 'kept without reset')
  await again.close()
  const fresh = new SharedMemory({ path, reset: true })
  t.teardown(() => fresh.close())
  t.equal(fresh.dict('d').get('k'), undefined)
})
