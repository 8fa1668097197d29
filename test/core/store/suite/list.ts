import { rejectsDb } from '../../../helpers/assert.js'
import { until } from '../../../helpers/gateway.js'
import { testCredentials } from '../../../helpers/entities.js'
import { storeCase } from './cases.js'


storeCase('pagination walks every row once while rows are inserted', async (t, make) => {
  const store = await make(t)
  for (let i = 0; i < 250; i++) await store.insert('consumers', { username: `u${i}` })
  const seen = new Set<string>()
  let offset: string | undefined
  let pages = 0
  let added = 0
  do {
    const page = store.list('consumers', { size: 40, offset })
    for (const c of page.data) {
      t.notOk(seen.has(c.id), 'no row twice')
      seen.add(c.id)
    }
    offset = page.offset
    pages++
    // Rows inserted mid-walk may or may not show up; none of the original ones may be lost.
    if (added < 50) { for (let i = 0; i < 10; i++) await store.insert('consumers', { username: `late${added++}` }) }
  } while (offset !== undefined)
  for (let i = 0; i < 250; i++) t.ok(seen.has(store.find('consumers', { username: `u${i}` })?.id as string), `u${i} listed`)
  t.ok(pages >= 7)
  const ids = store.list('consumers', { size: 1000 }).data.map((c) => c.id)
  t.same(ids, [...ids].sort(), 'ordered by primary key')
})

storeCase('size and offset validation', async (t, make) => {
  const store = await make(t)
  await store.insert('consumers', { username: 'a' })
  t.same(store.list('consumers'), { data: [store.find('consumers', { username: 'a' })] }, 'the last page has no offset')
  for (const size of [0, 1001, 1.5]) {
    t.throws(() => store.list('consumers', { size }), { code: 9, message: 'size must be an integer between 1 and 1000' })
  }
  t.throws(() => store.list('consumers', { size: Number.NaN }), { code: 9, message: 'size must be a number' })
  t.throws(() => store.list('consumers', { offset: '!!' }), { code: 7, message: "'!!' is not a valid offset: bad base64 encoding" })
  t.throws(() => store.list('consumers', { offset: 'aGVsbG8=' }), { code: 7 })
})

storeCase('tags filter with AND and OR, across pages', async (t, make) => {
  const store = await make(t)
  for (let i = 0; i < 30; i++) {
    const tags = [i % 2 === 0 ? 'even' : 'odd', ...(i % 3 === 0 ? ['three'] : []), 'all']
    await store.insert('services', { name: `s${i}`, host: 'x.test', tags })
  }
  const walk = (tags: string[], mode: 'and' | 'or') => {
    const names: string[] = []
    let offset: string | undefined
    do {
      const page = store.list('services', { size: 4, offset, tags, tagsMode: mode })
      names.push(...page.data.map((s) => s.name as string))
      offset = page.offset
    } while (offset !== undefined)
    return names.sort()
  }
  const expect = (pred: (i: number) => boolean) => Array.from({ length: 30 }, (_, i) => i).filter(pred).map((i) => `s${i}`).sort()
  t.same(walk(['even'], 'and'), expect((i) => i % 2 === 0))
  t.same(walk(['even', 'three'], 'and'), expect((i) => i % 6 === 0))
  t.same(walk(['odd', 'three'], 'or'), expect((i) => i % 2 === 1 || i % 3 === 0))
  t.same(walk(['nope'], 'or'), [])
  const s0 = store.find('services', { name: 's0' })
  await store.update('services', { id: s0?.id as string }, { tags: ['odd'] })
  t.notOk(walk(['even'], 'and').includes('s0'), 'the tag index follows updates')
  t.ok(walk(['odd'], 'and').includes('s0'))
})

storeCase('ttl: expired rows are invisible, purged, and free their unique keys', async (t, make) => {
  const store = await make(t, { entities: [testCredentials] })
  const c = await store.insert('consumers', { username: 'bob' })
  const k = await store.insert('test_credentials', { key: 'short', consumer: { id: c.id } }, { ttl: 1 })
  t.ok((k.ttl as number) <= 1 && (k.ttl as number) >= 0, 'the remaining ttl is shown')
  const forever = await store.insert('test_credentials', { key: 'long', consumer: { id: c.id } })
  t.notOk('ttl' in forever)
  await rejectsDb(t, store.insert('consumers', { username: 'x' }, { ttl: 5 }), 11, "invalid option (ttl: cannot be used with 'consumers')")
  const e = await rejectsDb(t, store.insert('test_credentials', { key: 'y', consumer: { id: c.id } }, { ttl: -1 }), 11,
    'invalid option (ttl: must be an integer between 0 and 100000000)')
  t.same(e.toJSON(), { code: 11, name: 'invalid options', message: 'invalid option (ttl: must be an integer between 0 and 100000000)', options: { ttl: 'must be an integer between 0 and 100000000' } })
  await until(() => store.get('test_credentials', k.id) === undefined, 'the row to expire')
  t.equal(store.get('test_credentials', k.id), undefined, 'expired: invisible by id')
  t.equal(store.find('test_credentials', { key: 'short' }), undefined, 'and by key')
  t.same(store.list('test_credentials').data.map((r) => r.id), [forever.id], 'and in lists')
  const again = await store.insert('test_credentials', { key: 'short', consumer: { id: c.id } })
  t.ok(again.id !== k.id, 'an expired row does not hold its unique key')
  const k2 = await store.insert('test_credentials', { key: 'short2', consumer: { id: c.id } }, { ttl: 1 })
  await until(() => store.get('test_credentials', k2.id) === undefined, 'the second row to expire')
  t.equal(await store.purgeExpired(), 1, 'the purge removes the expired row')
  t.same(store.listFor('test_credentials', 'consumer', c.id).data.map((r) => r.key).sort(), ['long', 'short'])
  t.equal(store.get('test_credentials', k2.id), undefined)
})
