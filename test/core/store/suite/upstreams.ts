import { readUpstreams, targetsOf } from '../../../../core/store/index.js'
import { rejectsDb } from '../../../helpers/assert.js'
import { storeCase } from './cases.js'

storeCase("upstreams: Kong's input shortcuts set the algorithm, on PATCH from the patch alone", async (t, make) => {
  const store = await make(t)
  const algo = async (input: Record<string, unknown>): Promise<unknown[]> => {
    const u = await store.insert('upstreams', { name: `u${Math.random().toString(36).slice(2)}`, ...input })
    return [u.algorithm, u.hash_on]
  }
  t.same(await algo({}), ['round-robin', 'none'])
  t.same(await algo({ hash_on: 'ip' }), ['consistent-hashing', 'ip'], 'hashing on anything is consistent-hashing')
  t.same(await algo({ algorithm: 'round-robin', hash_on: 'ip' }), ['consistent-hashing', 'ip'], 'whatever the algorithm says')
  t.same(await algo({ algorithm: 'consistent-hashing' }), ['consistent-hashing', 'none'], 'consistent-hashing without hash_on stays')
  t.same(await algo({ algorithm: 'consistent-hashing', hash_on: 'none' }), ['round-robin', 'none'], 'an explicit hash_on none makes it round-robin')
  t.same(await algo({ algorithm: 'least-connections', hash_on: 'header', hash_on_header: 'x' }), ['least-connections', 'none'], 'least-connections clears hash_on')
  t.same(await algo({ algorithm: 'latency', hash_on: 'ip' }), ['latency', 'none'], 'so does latency')
  t.same(await algo({ hash_on: null }), ['round-robin', 'none'], 'a null hash_on is none')
  await rejectsDb(t, store.insert('upstreams', { name: 'bad', algorithm: 5, hash_on: [] }), 2,
    '2 schema violations (algorithm: expected a string; hash_on: expected a string)')

  const lc = await store.insert('upstreams', { name: 'lc', algorithm: 'least-connections' })
  t.match(await store.update('upstreams', { id: lc.id }, { slots: 20 }), { algorithm: 'least-connections', hash_on: 'none', slots: 20 },
    "a PATCH without hash_on keeps the algorithm, though the row's hash_on is none")
  t.match(await store.update('upstreams', { id: lc.id }, { hash_on: 'cookie', hash_on_cookie: 'c' }), { algorithm: 'consistent-hashing', hash_on: 'cookie' })
  t.match(await store.update('upstreams', { id: lc.id }, { algorithm: 'latency' }), { algorithm: 'latency', hash_on: 'none', hash_on_cookie: 'c' })
  t.match(await store.upsert('upstreams', { name: 'lc' }, { hash_on: 'ip' }), { id: lc.id, algorithm: 'consistent-hashing', hash_on: 'ip', slots: 10000 }, 'PUT replaces, shortcuts apply')
})

storeCase('upstreams: PATCH merges healthchecks records deeply and replaces maps and lists', async (t, make) => {
  const store = await make(t)
  const u = await store.insert('upstreams', { name: 'hc', healthchecks: { active: { headers: { a: ['1'] }, healthy: { interval: 5 } } } })
  let p = await store.update('upstreams', { id: u.id }, { healthchecks: { passive: { unhealthy: { tcp_failures: 1 } } } })
  const hc = p.healthchecks as Record<string, any>
  t.equal(hc.passive.unhealthy.tcp_failures, 1)
  t.same(hc.passive.unhealthy.http_statuses, [429, 500, 503], 'the rest of the record stays')
  t.equal(hc.active.healthy.interval, 5, 'and so do the other records')
  p = await store.update('upstreams', { id: u.id }, { healthchecks: { active: { headers: { b: ['2'] }, unhealthy: { http_statuses: [500] } } } })
  t.same((p.healthchecks as any).active.headers, { b: ['2'] }, 'a map is replaced, as Kong does')
  t.same((p.healthchecks as any).active.unhealthy.http_statuses, [500], 'an array is replaced')
  t.equal((p.healthchecks as any).active.healthy.interval, 5)
})

storeCase('targets: normalised host:port, unique per upstream, ms timestamps, cascade with the upstream', async (t, make) => {
  const store = await make(t)
  const a = await store.insert('upstreams', { name: 'a.test' })
  const b = await store.insert('upstreams', { name: 'b.test' })
  const t1 = await store.insert('targets', { target: 'konghq.test', upstream: { id: a.id } })
  t.match(t1, { target: 'konghq.test:8000', weight: 100, upstream: { id: a.id }, tags: null })
  t.ok(Math.abs((t1.created_at as number) - Date.now() / 1000) < 5, 'created_at is in seconds')
  t.ok(Number.isInteger(Math.round((t1.created_at as number) * 1000)), 'with a millisecond fraction')
  t.equal((await store.insert('targets', { target: '[::1]', upstream: { id: a.id } })).target, '[0000:0000:0000:0000:0000:0000:0000:0001]:8000')
  const e = await rejectsDb(t, store.insert('targets', { target: 'konghq.test:8000', weight: 5, upstream: { id: a.id } }), 5,
    `UNIQUE violation detected on '{target="konghq.test:8000",upstream={id="${a.id}"}}'`)
  t.same(e.fields, { upstream: { id: a.id }, target: 'konghq.test:8000' })
  t.equal((await store.insert('targets', { target: 'konghq.test', upstream: { id: b.id } })).target, 'konghq.test:8000', 'another upstream may have it')
  await rejectsDb(t, store.insert('targets', { target: 'bad host', weight: 70000, upstream: { id: a.id } }), 2,
    'schema violation (target: Invalid target; not a valid hostname or ip address)')
  await rejectsDb(t, store.upsert('targets', { id: '00000000-0000-4000-8000-000000000001' }, { target: 'bad host', upstream: { id: a.id } }), 2,
    'schema violation (target: Invalid target; not a valid hostname or ip address)')
  await rejectsDb(t, store.update('targets', { id: t1.id }, { target: 'bad host' }), 2,
    "schema violation (target: Invalid target ('bad host'); not a valid hostname or ip address)")
  t.equal((await store.update('targets', { id: t1.id }, { target: 'other.test' })).target, 'other.test:8000', 'an update is stored formatted')
  await rejectsDb(t, store.insert('targets', { target: 'x.test', upstream: { id: '00000000-0000-4000-8000-000000000000' } }), 4)

  t.equal(targetsOf(store, a.id).length, 2)
  const v = store.version()
  await store.delete('upstreams', { id: a.id })
  t.equal(targetsOf(store, a.id).length, 0, "deleting an upstream deletes its targets")
  t.equal(targetsOf(store, b.id).length, 1, 'and no one else\'s')
  t.equal(store.version(), v + 1, 'in one write')
})

storeCase('balancer reads: every upstream with its targets, oldest first', async (t, make) => {
  const store = await make(t)
  const u = await store.insert('upstreams', { name: 'lb.test' })
  const empty = await store.insert('upstreams', { name: 'empty.test' })
  // Kong orders by created_at, then id: give the rows times out of id order.
  const ids = ['00000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002']
  await store.insert('targets', { id: ids[0], created_at: 100.5, target: 'c.test', upstream: { id: u.id } })
  await store.insert('targets', { id: ids[1], created_at: 100.7, target: 'a.test', weight: 0, upstream: { id: u.id } })
  await store.insert('targets', { id: ids[2], created_at: 100.5, target: 'b.test', upstream: { id: u.id } })
  const order = [ids[2], ids[0], ids[1]]
  t.same(targetsOf(store, u.id).map((x) => x.id), order)
  const all = readUpstreams(store)
  t.same([...all.keys()].sort(), ['empty.test', 'lb.test'])
  t.same(all.get('lb.test')?.targets.map((x) => x.id), order, 'weight 0 included')
  t.equal(all.get('lb.test')?.upstream.id, u.id)
  t.same(all.get('empty.test'), { upstream: store.get('upstreams', empty.id), targets: [] })
})
