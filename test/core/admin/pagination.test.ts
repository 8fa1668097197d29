import t from 'tap'
import { startAdmin, type AdminClient } from '../../helpers/admin.js'
import { until } from '../../helpers/gateway.js'

/** Runs `fn` over `items` with at most `limit` in flight. */
async function pool<T> (items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) await fn(items[next++] as T)
  }))
}

async function walk (api: AdminClient, first: string): Promise<{ ids: string[], pages: number, nexts: string[] }> {
  const ids: string[] = []
  const nexts: string[] = []
  let path: string | null = first
  let pages = 0
  while (path !== null) {
    const r = await api.call('GET', path)
    if (r.status !== 200) throw new Error(`${path}: ${r.status} ${r.text}`)
    ids.push(...r.body.data.map((e: { id: string }) => e.id))
    pages++
    if (r.body.next !== null) {
      if (typeof r.body.offset !== 'string') throw new Error('a page with next has an offset')
      nexts.push(r.body.next)
    } else if ('offset' in r.body) {
      throw new Error('the last page has no offset')
    }
    path = r.body.next
  }
  return { ids, pages, nexts }
}

t.test('walking 2,500 consumers page by page', async (t) => {
  const api = await startAdmin(t)
  const names = Array.from({ length: 2500 }, (_, i) => `user-${i}`)
  await pool(names, 25, async (username) => {
    const r = await api.call('POST', '/consumers', { json: { username, tags: [Number(username.slice(5)) % 2 === 0 ? 'even' : 'odd'] } })
    if (r.status !== 201) throw new Error(`${r.status} ${r.text}`)
  })
  const all = await walk(api, '/consumers')
  t.equal(all.pages, 25, '100 per page by default')
  t.equal(all.ids.length, 2500)
  t.equal(new Set(all.ids).size, 2500, 'no entity twice')
  t.same(all.ids, [...all.ids].sort(), 'ordered by id')

  const big = await walk(api, '/consumers?size=1000')
  t.equal(big.pages, 3)
  t.same(big.ids, all.ids)
  t.match(big.nexts[0], /^\/consumers\?offset=[^&]+&size=1000$/, 'next carries size')

  const even = await walk(api, '/consumers?tags=even&size=300')
  t.equal(even.ids.length, 1250)
  t.match(even.nexts[0], /&size=300&tags=even$/, 'next carries tags')
  const either = await walk(api, `/consumers?tags=${encodeURIComponent('even/odd')}&size=700`)
  t.equal(either.ids.length, 2500)

  // Inserting while walking: every consumer that existed before is still seen exactly once.
  const seen = new Set<string>()
  let path: string | null = '/consumers?size=250'
  let i = 0
  while (path !== null) {
    const r = await api.call('GET', path)
    for (const e of r.body.data as { id: string }[]) {
      if (seen.has(e.id)) t.fail(`${e.id} listed twice while inserting`)
      seen.add(e.id)
    }
    await api.call('POST', '/consumers', { json: { username: `late-${i++}` } })
    path = r.body.next
  }
  t.ok(all.ids.every((id) => seen.has(id)), 'nothing that existed was skipped')
})

t.test('nested lists paginate with the parent as given in the URL', async (t) => {
  const api = await startAdmin(t)
  await api.call('POST', '/consumers', { json: { username: 'bob' } })
  await pool(Array.from({ length: 120 }, (_, i) => i), 10, async (i) => {
    await api.call('POST', '/consumers/bob/test-cred', { json: { key: `k${i}` } })
  })
  const r = await api.call('GET', '/consumers/bob/test-cred')
  t.equal(r.body.data.length, 100)
  t.match(r.body.next, /^\/consumers\/bob\/test-cred\?offset=[^&]+$/)
  const rest = await api.call('GET', r.body.next)
  t.equal(rest.body.data.length, 20)
  t.equal(rest.body.next, null)
})

t.test("/tags and /tags/{tag}: every tag of every entity, paged, expired rows left out", async (t) => {
  const api = await startAdmin(t)
  const svc = (await api.call('POST', '/services', { json: { name: 's', url: 'http://127.0.0.1:9', tags: ['team-a', 'prod'] } })).body
  const route = (await api.call('POST', '/services/s/routes', { json: { paths: ['/r'], tags: ['team-a'] } })).body
  const alice = (await api.call('POST', '/consumers', { json: { username: 'alice', tags: ['prod', 'with space', 'ünïcode'] } })).body
  await api.call('POST', '/consumers', { json: { username: 'untagged' } })
  const cred = (await api.call('POST', '/consumers/alice/test-cred', { json: { key: 'k1', tags: ['prod'] } })).body
  // A row with a ttl, long enough to outlive the listings below however slowly they run
  // (a ttl of 1 can run out at the next whole second, a few ms away); cut to 1 s later.
  const short = await api.call('POST', '/consumers/alice/test-cred', { json: { key: 'k2', tags: ['prod'], ttl: 100_000 } })
  t.equal(short.status, 201)
  const long = 'x'.repeat(600)
  await api.call('POST', '/consumers', { json: { username: 'bob', tags: [long] } })

  const all = await api.call('GET', '/tags')
  t.equal(all.status, 200)
  const rows = (all.body.data as { tag: string, entity_name: string, entity_id: string }[])
  const has = (tag: string, entity: string, id: string): boolean => rows.some((r) => r.tag === tag && r.entity_name === entity && r.entity_id === id)
  t.ok(has('team-a', 'services', svc.id) && has('prod', 'services', svc.id), "the service's two tags")
  t.ok(has('team-a', 'routes', route.id))
  t.ok(has('with space', 'consumers', alice.id) && has('ünïcode', 'consumers', alice.id))
  t.ok(has('prod', 'test_credentials', cred.id))
  t.ok(rows.some((r) => r.tag === long), 'a tag too long to index verbatim comes back whole')
  t.equal(rows.length, 9, 'one row per (entity, tag), untagged entities none')
  t.equal(all.body.next, null)

  // Paging: two at a time, same rows in the same order.
  const paged: unknown[] = []
  let path: string | null = '/tags?size=2'
  while (path !== null) {
    const r = await api.call('GET', path)
    t.equal(r.status, 200, path)
    paged.push(...r.body.data)
    path = r.body.next
  }
  t.same(paged, rows, 'pages of 2 give the same rows')

  const prod = await api.call('GET', '/tags/prod')
  t.same(new Set(prod.body.data.map((r: { entity_id: string }) => r.entity_id)), new Set([svc.id, alice.id, cred.id, short.body.id]))
  t.ok(prod.body.data.every((r: { tag: string }) => r.tag === 'prod'))
  const firstPage = await api.call('GET', '/tags/prod?size=3')
  t.equal(firstPage.body.data.length, 3)
  t.match(firstPage.body.next, /^\/tags\/prod\?offset=.+&size=3$/)
  const second = await api.call('GET', firstPage.body.next)
  t.same([...firstPage.body.data, ...second.body.data], prod.body.data, 'the second page follows the first')
  t.same((await api.call('GET', '/tags/with%20space')).body.data, [{ tag: 'with space', entity_name: 'consumers', entity_id: alice.id }])
  t.same((await api.call('GET', '/tags/nobody-has-this')).body, { data: [], next: null })

  // The credential expires; its tag goes with it.
  t.equal((await api.call('PATCH', `/consumers/alice/test-cred/${short.body.id as string}`, { json: { ttl: 1 } })).status, 200)
  await until(async () => (await api.call('GET', `/consumers/alice/test-cred/${short.body.id as string}`)).status === 404, 'the credential to expire')
  const later = await api.call('GET', '/tags/prod')
  t.notOk(later.body.data.some((r: { entity_id: string }) => r.entity_id === short.body.id), 'an expired row is not listed')

  t.equal((await api.call('GET', '/tags?offset=not-a-token')).status, 400)
  t.equal((await api.call('GET', '/tags?size=0')).status, 400)
  t.equal((await api.call('POST', '/tags')).status, 405, 'read only')
  const bad = await api.call('GET', '/tags/%FF')
  t.equal(bad.status, 400)
  t.same(bad.body, { message: 'invalid utf-8 or percent-encoding in the request path' }, "Kong's error body, not fastify's")
})

// Found by the request fuzzer's invariant that a `next` link gets the page the same request
// with that offset gets: a repeated `tags` filtered the first page by all its values (AND)
// and the pages after it by the first alone, which the `next` link carried.
t.test('a repeated tags or size: Kong reads the first tags, and refuses a repeated size', async (t) => {
  const api = await startAdmin(t)
  const ids = ['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000003']
  await api.call('PUT', `/services/${ids[0] as string}`, { json: { host: 'a.test', tags: ['a'] } })
  await api.call('PUT', `/services/${ids[1] as string}`, { json: { host: 'a.test', tags: ['a', 'b'] } })
  await api.call('PUT', `/services/${ids[2] as string}`, { json: { host: 'a.test', tags: ['a'] } })
  const { ids: seen, nexts } = await walk(api, '/services?tags=a&tags=b&size=1')
  t.same(seen, ids, 'filtered by tags=a on every page')
  t.ok(nexts.every((n) => n.endsWith('&size=1&tags=a')), 'and every next link says so')
  const r = await api.call('GET', '/services?size=1&size=2')
  t.same([r.status, r.body], [400, { code: 9, name: 'invalid size', message: 'size must be a number' }])
  t.equal((await api.call('GET', '/services/x/routes?size=1&size=1')).status, 404, 'the parent is looked up first')
  t.equal((await api.call('GET', `/services/${ids[0] as string}/routes?size=1&size=1`)).status, 400)
})
