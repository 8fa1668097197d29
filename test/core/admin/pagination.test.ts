import t from 'tap'
import { startAdmin, type AdminClient } from '../../helpers/admin.js'

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
