// The store's counters (CounterStore, kong.db.incrCounter): atomic across processes, kept
// apart from entities (no version bump, no change event), expiring and purged.

import { join } from 'node:path'
import t from 'tap'
import { LmdbStore } from '../../../core/store/index.js'
import { until } from '../../helpers/gateway.js'
import { tempDir, tempStore } from '../../helpers/store.js'
import { counterBasics } from './suite/counters.js'

t.test('adds, starts absent counters from 0, keeps the first expiry', async (t) => {
  await counterBasics(t, tempStore(t))
})

t.test('counting is not a config change', async (t) => {
  const store = tempStore(t)
  const before = store.version()
  const events: unknown[] = []
  store.onChange((e) => events.push(e))
  await store.incrCounter('a', 1, 60)
  t.equal(store.version(), before)
  t.same(events, [])
})

t.test('concurrent increments from two handles on one file all count', async (t) => {
  const path = join(tempDir(t), 'tollgate.mdb')
  const a = new LmdbStore({ path, ttlPurgeInterval: 0 })
  const b = new LmdbStore({ path, ttlPurgeInterval: 0 })
  t.teardown(async () => { await a.close(); await b.close() })
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? a : b).incrCounter('k', 1, 60)))
  t.same([...results].sort((x, y) => x - y), Array.from({ length: 200 }, (_, i) => i + 1), 'every value from 1 to 200 exactly once')
})

t.test('an expired counter starts again from 0 and is purged', async (t) => {
  const store = tempStore(t)
  await store.incrCounter('short', 7, 0.05)
  await until(async () => await store.getCounter('short') === undefined, 'the counter to expire')
  t.equal(await store.incrCounter('short', 1, 0.05), 1, 'a new life')
  await until(async () => await store.getCounter('short') === undefined, 'the counter to expire again')
  await store.purgeExpired()
  t.equal(await store.incrCounter('short', 1, 60), 1)
})

t.test('counters survive closing and reopening the store', async (t) => {
  const path = join(tempDir(t), 'tollgate.mdb')
  const a = new LmdbStore({ path, ttlPurgeInterval: 0 })
  await a.incrCounter('kept', 4, 3600)
  await a.close()
  const b = new LmdbStore({ path, ttlPurgeInterval: 0 })
  t.teardown(() => b.close())
  t.equal(await b.getCounter('kept'), 4)
  t.equal(await b.incrCounter('kept', 1, 3600), 5)
})
