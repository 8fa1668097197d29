import type { ConfigReader, EntityStore, EntityWriter } from '../../../../core/store/index.js'
import { rejectsDb } from '../../../helpers/assert.js'
import { testCredentials, testPlugins } from '../../../helpers/entities.js'
import { storeCase } from './cases.js'

/** Everything a reader can see: every row, tag and child list, and the version. */
function contents (store: EntityStore & ConfigReader): unknown {
  const rows: Record<string, unknown> = {}
  const children: Record<string, unknown> = {}
  for (const info of store.entities) {
    const all = store.list(info.name, { size: 1000 }).data
    rows[info.name] = all
    for (const f of info.foreign) {
      for (const parent of store.list(f.reference, { size: 1000 }).data) {
        children[`${info.name}.${f.field}=${parent.id}`] = store.listFor(info.name, f.field, parent.id, { size: 1000 }).data
      }
    }
  }
  return { version: store.version(), rows, children, tags: store.listTags({ size: 1000 }).data }
}

storeCase('a transaction commits its writes together: one version, events after the commit', async (t, make) => {
  const store = await make(t, { plugins: testPlugins, entities: [testCredentials] })
  const old = await store.insert('consumers', { username: 'old' })
  const events: unknown[] = []
  store.onChange((e) => events.push(e))
  const v = store.version()
  const result = await store.transaction((tx) => {
    const svc = tx.insert('services', { name: 's', host: 'x.test', tags: ['import'] })
    // Later writes see earlier ones: the route resolves its service by name.
    const route = tx.insert('routes', { paths: ['/'], service: { name: 's' } })
    const bob = tx.upsert('consumers', { username: 'bob' }, { custom_id: 'b' })
    const cred = tx.insert('test_credentials', { key: 'k1', consumer: { username: 'bob' } })
    const patched = tx.update('services', { name: 's' }, { port: 8080 })
    const gone = tx.delete('consumers', { id: old.id })
    const nothing = tx.delete('consumers', { username: 'nobody' })
    t.equal(events.length, 0, 'no event before the commit')
    return { svc, route, bob, cred, patched, gone, nothing }
  })
  t.equal(store.version(), v + 1, 'the version moved once')
  t.same(result.route.service, { id: result.svc.id })
  t.same(result.cred.consumer, { id: result.bob.id })
  t.equal(result.patched.port, 8080)
  t.same(result.gone, old)
  t.equal(result.nothing, undefined)
  t.same(store.get('services', result.svc.id), result.patched, 'the last write of a row wins')
  t.same(store.get('routes', result.route.id), result.route)
  t.same(store.find('test_credentials', { key: 'k1' }), result.cred)
  t.same(store.list('services', { tags: ['import'] }).data, [result.patched])
  t.same(store.listFor('routes', 'service', result.svc.id).data, [result.route])
  t.equal(store.get('consumers', old.id), undefined)
  t.same(events, [
    { entity: 'services', op: 'create', id: result.svc.id, version: v + 1 },
    { entity: 'routes', op: 'create', id: result.route.id, version: v + 1 },
    { entity: 'consumers', op: 'update', id: result.bob.id, version: v + 1 },
    { entity: 'test_credentials', op: 'create', id: result.cred.id, version: v + 1 },
    { entity: 'services', op: 'update', id: result.svc.id, version: v + 1 },
    { entity: 'consumers', op: 'delete', id: old.id, version: v + 1 },
  ], 'one event per write that changed a row, in order, all with the new version')
})

storeCase('a transaction that throws leaves the store exactly as it was', async (t, make) => {
  const store = await make(t, { plugins: testPlugins, entities: [testCredentials] })
  const svc = await store.insert('services', { name: 's', host: 'x.test', tags: ['a'] })
  const route = await store.insert('routes', { paths: ['/'], service: { id: svc.id }, tags: ['a'] })
  await store.insert('plugins', { name: 'test-auth', route: { id: route.id } })
  const bob = await store.insert('consumers', { username: 'bob', tags: ['b'] })
  await store.insert('test_credentials', { key: 'k1', consumer: { id: bob.id } })
  const before = contents(store)
  const events: unknown[] = []
  store.onChange((e) => events.push(e))

  const writeThenFail = (last: (tx: EntityWriter) => unknown) => store.transaction((tx) => {
    tx.insert('services', { name: 'new', host: 'y.test', tags: ['a'] })
    tx.update('services', { name: 's' }, { host: 'z.test', tags: ['c'] })
    tx.upsert('consumers', { username: 'carol' }, { custom_id: 'c' })
    tx.delete('routes', { id: route.id }) // cascades to its plugin
    tx.delete('consumers', { username: 'bob' }) // cascades to the credential, frees its key
    tx.insert('test_credentials', { key: 'k1', consumer: { username: 'carol' } })
    return last(tx)
  })
  const boom = new Error('boom')
  const err = await writeThenFail(() => { throw boom }).then(() => undefined, (e: unknown) => e)
  t.equal(err, boom, 'the promise rejects with what the function threw')
  t.same(contents(store), before, 'an error thrown by the function rolls everything back')
  await rejectsDb(t, writeThenFail((tx) => tx.insert('consumers', { username: 'carol' })), 5, `UNIQUE violation detected on '{username="carol"}'`)
  t.same(contents(store), before, 'so does a rejected write')
  t.same(events, [], 'and nothing is announced')
  t.equal(store.find('consumers', { username: 'carol' }), undefined, 'no unique index entry of a rolled-back row remains')
  t.same(store.find('test_credentials', { key: 'k1' })?.consumer, { id: bob.id }, 'nor of a rolled-back delete')
  t.ok(await store.insert('services', { name: 'new', host: 'y.test' }), 'the rolled-back name is free')
})

storeCase('a transaction runs synchronously, through its own writer only', async (t, make) => {
  const store = await make(t)
  const v = store.version()
  const err = await store.transaction(async (tx) => {
    tx.insert('consumers', { username: 'before-await' })
    await Promise.resolve()
    return tx.insert('consumers', { username: 'after-await' })
  }).then(() => undefined, (e: unknown) => e)
  t.match(err, { message: 'a store transaction must be synchronous: its function returned a promise' })
  await new Promise((resolve) => setImmediate(resolve))
  t.same(store.list('consumers').data, [], 'neither write happened')
  t.equal(store.version(), v)

  let kept: EntityWriter | undefined
  await store.transaction((tx) => { kept = tx })
  t.throws(() => kept?.insert('consumers', { username: 'late' }), { message: 'the transaction is over: write inside its function' })

  let nested: Promise<unknown> | undefined
  await store.transaction((tx) => {
    nested = store.insert('consumers', { username: 'nested' }).then(() => 'written', (e: Error) => e.message)
    tx.insert('consumers', { username: 'inside' })
  })
  t.equal(await nested, 'inside a store transaction, write through its tx', "the store's own writes refuse to run inside one")
  t.same(store.list('consumers').data.map((c) => c.username), ['inside'])
})
