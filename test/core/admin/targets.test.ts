// Kong's Admin API spec for targets, ported: spec/02-integration/04-admin_api/
// 08-targets_routes_spec.lua (Kong 3.2.2), body cases with form, multipart and JSON
// bodies. Not ported: the /upstreams/{u}/health cases and the PUT .../healthy|unhealthy
// cases (health checking is not part of the entities; its lookup matrix is ported below
// for GET), and the hybrid-mode case (no control plane role). Kong's fixtures insert rows
// straight into the database (`bp.targets:insert`), as these do through the store.

import t, { type Test } from 'tap'
import { startAdmin, storeDump, type AdminClient } from '../../helpers/admin.js'
import { CONTENT_TYPES, sendAs } from '../../helpers/content-types.js'

const WEIGHT_DEFAULT = 100
const WEIGHT_MAX = 65535
const DEFAULT_PORT = 8000

type Row = Record<string, unknown> & { id: string, target: string }

/** An upstream with `slots = 10`, as Kong's blueprint makes one. */
async function upstream (api: AdminClient, name = `u${Math.random().toString(36).slice(2, 10)}.test`): Promise<Row> {
  return await api.store.insert('upstreams', { name, slots: 10 }) as Row
}

/**
 * Targets inserted one after the other. Kong orders targets by created_at; rows written in
 * the same millisecond would fall back to id order, so each gets its own millisecond.
 */
async function insertTargets (api: AdminClient, u: Row, rows: Array<{ target: string, weight?: number }>): Promise<Row[]> {
  const base = Date.now() / 1000
  const out: Row[] = []
  for (const [i, row] of rows.entries()) out.push(await api.store.insert('targets', { ...row, created_at: base + i / 1000, upstream: { id: u.id } }) as Row)
  return out
}

t.test('/targets is not an endpoint', async (t) => {
  const api = await startAdmin(t)
  const u = await upstream(api)
  const [target] = await insertTargets(api, u, [{ target: 'api-1:80' }])
  for (const [m, p] of [['GET', '/targets'], ['POST', '/targets'], ['GET', `/targets/${target?.id as string}`], ['PATCH', `/targets/${target?.id as string}`],
    ['DELETE', `/targets/${target?.id as string}`], ['GET', `/targets/${target?.id as string}/upstream`]] as const) {
    const r = await api.call(m, p, m === 'PATCH' || m === 'POST' ? { json: { weight: 1 } } : {})
    t.same([r.status, r.body], [404, { message: 'Not found' }], `${m} ${p}`)
  }
  t.equal(api.store.get('targets', target?.id as string)?.weight, 100, 'nothing changed')
  const endpoints = (await api.call('GET', '/endpoints')).body.data as string[]
  t.notOk(endpoints.some((e) => e.startsWith('/targets')), 'none listed')
})

t.test('POST /upstreams/{upstream}/targets', async (t) => {
  for (const type of CONTENT_TYPES) {
    t.test(`creates targets, with ${type}`, async (t) => {
      const api = await startAdmin(t)
      const u = await upstream(api)
      let r = await sendAs(api, type, 'POST', `/upstreams/${u.name as string}/targets/`, { target: 'konghq.test' })
      t.equal(r.status, 201, 'with defaults')
      t.match(r.body, { target: `konghq.test:${DEFAULT_PORT}`, weight: WEIGHT_DEFAULT, upstream: { id: u.id }, tags: null })
      t.type(r.body.created_at, 'number')
      t.type(r.body.id, 'string')

      r = await sendAs(api, type, 'POST', `/upstreams/${u.name as string}/targets/`, { target: 'konghq.test:123', weight: 99 })
      t.equal(r.status, 201, 'without defaults')
      t.match(r.body, { target: 'konghq.test:123', weight: 99 })

      // Kong#7699: a target with weight 0 can be read back.
      r = await sendAs(api, type, 'POST', `/upstreams/${u.name as string}/targets/`, { target: 'zero.weight.test:8080', weight: 0 })
      t.equal(r.status, 201, 'with weight = 0')
      t.match(r.body, { target: 'zero.weight.test:8080', weight: 0 })
      const again = await api.call('GET', `/upstreams/${u.name as string}/targets/zero.weight.test:8080`)
      t.same([again.status, again.body], [200, r.body])
    })
  }

  t.test('handles malformed JSON body', async (t) => {
    const api = await startAdmin(t)
    const u = await upstream(api)
    const r = await api.call('POST', `/upstreams/${u.name as string}/targets/`, { body: '{"hello": "world"', headers: { 'content-type': 'application/json' } })
    t.same([r.status, r.body], [400, { message: 'Cannot parse JSON body' }])
  })

  for (const type of CONTENT_TYPES) {
    t.test(`handles invalid input, with ${type}`, async (t) => {
      const api = await startAdmin(t)
      const u = await upstream(api)
      const path = `/upstreams/${u.name as string}/targets/`
      const before = storeDump(api.store)
      let r = await sendAs(api, type, 'POST', path, { weight: 0 })
      t.same([r.status, r.body.name, r.body.fields], [400, 'schema violation', { target: 'required field missing' }], 'missing target')
      r = await sendAs(api, type, 'POST', path, { target: 'some invalid host name' })
      t.same([r.status, r.body.name, r.body.fields], [400, 'schema violation', { target: 'Invalid target; not a valid hostname or ip address' }], 'invalid target')
      r = await sendAs(api, type, 'POST', path, { target: 'konghq.test', weight: WEIGHT_MAX + 1 })
      t.same([r.status, r.body.name, r.body.fields], [400, 'schema violation', { weight: `value should be between 0 and ${WEIGHT_MAX}` }], 'invalid weight')
      // Kong's DAO checks the target first and alone.
      r = await sendAs(api, type, 'POST', path, { target: 'some invalid host name', weight: -1 })
      t.same(r.body.fields, { target: 'Invalid target; not a valid hostname or ip address' }, 'an invalid target is the only error')
      t.equal(storeDump(api.store), before, 'nothing stored')
    })

    t.test(`returns 405 on PUT, PATCH and DELETE of the collection, with ${type}`, async (t) => {
      const api = await startAdmin(t)
      const u = await upstream(api)
      for (const m of ['PUT', 'PATCH', 'DELETE']) {
        const r = await sendAs(api, type, m, `/upstreams/${u.name as string}/targets/`, { target: 'konghq.test' })
        t.same([r.status, r.body], [405, { message: 'Method not allowed' }], m)
      }
    })

    t.test(`fails to create duplicated targets, with ${type}`, async (t) => {
      // Kong 3.x: one target per host:port per upstream (earlier versions kept a history).
      const api = await startAdmin(t)
      const u = await upstream(api)
      let r = await sendAs(api, type, 'POST', `/upstreams/${u.name as string}/targets/`, { target: 'single-target.test:8080', weight: 1 })
      t.equal(r.status, 201)
      t.match(r.body, { target: 'single-target.test:8080', weight: 1 })
      r = await sendAs(api, type, 'POST', `/upstreams/${u.name as string}/targets/`, { target: 'single-target.test:8080', weight: 100 })
      t.same([r.status, r.body], [409, {
        code: 5,
        name: 'unique constraint violation',
        message: `UNIQUE violation detected on '{target="single-target.test:8080",upstream={id="${u.id}"}}'`,
        fields: { target: 'single-target.test:8080', upstream: { id: u.id } },
      }])
      r = await sendAs(api, type, 'POST', `/upstreams/${u.name as string}/targets/`, { target: 'single-target.test' })
      t.equal(r.status, 201, 'another port is another target')
      t.equal((await api.call('GET', `/upstreams/${u.name as string}/targets/single-target.test:8080`)).body.weight, 1, 'the first one is unchanged')
    })
  }

  t.test('the URL names the upstream, whatever the body says; an unknown upstream is 404', async (t) => {
    const api = await startAdmin(t)
    const u = await upstream(api)
    const other = await upstream(api)
    let r = await api.call('POST', `/upstreams/${u.id}/targets`, { json: { target: 'a.test', upstream: { id: other.id } } })
    t.same(r.body.upstream, { id: u.id })
    r = await api.call('POST', '/upstreams/nope.test/targets', { json: { target: 'a.test' } })
    t.same([r.status, r.body], [404, { message: 'Not found' }])
  })
})

t.test('GET /upstreams/{upstream}/targets', async (t) => {
  const api = await startAdmin(t)
  const u = await upstream(api)
  const apis = await insertTargets(api, u, [
    { target: 'api-1:80', weight: 10 },
    { target: 'api-2:80', weight: 0 },
    { target: 'api-3:80', weight: 50 },
    { target: 'api-4:80', weight: 10 },
  ])
  t.test('shows all targets, newest first, weight 0 included', async (t) => {
    for (const append of ['', '/']) {
      const r = await api.call('GET', `/upstreams/${u.name as string}/targets${append}`)
      t.equal(r.status, 200)
      t.equal(r.body.data.length, 4)
      t.equal(r.body.data[0].id, apis[3]?.id)
      t.same(r.body.data.map((x: Row) => x.target), ['api-4:80', 'api-3:80', 'api-2:80', 'api-1:80'])
      t.equal(r.body.next, null)
    }
  })
  t.test('pages by position, as Kong does; the next link keeps the upstream as given', async (t) => {
    let r = await api.call('GET', `/upstreams/${u.id}/targets?size=3`)
    t.same(r.body.data.map((x: Row) => x.target), ['api-4:80', 'api-3:80', 'api-2:80'])
    t.same([r.body.offset, r.body.next], ['3', `/upstreams/${u.id}/targets?offset=3`])
    r = await api.call('GET', r.body.next)
    t.same([r.body.data.map((x: Row) => x.target), r.body.next], [['api-1:80'], null])
    r = await api.call('GET', `/upstreams/${u.id}/targets?offset=9`)
    t.same(r.body, { data: [], next: null })
    r = await api.call('GET', `/upstreams/${u.id}/targets?offset=abc`)
    t.same([r.status, r.body], [400, { code: 7, name: 'invalid offset', message: "'abc' is not a valid offset: bad integer" }])
    for (const size of ['0', '1001', '1.5']) {
      r = await api.call('GET', `/upstreams/${u.id}/targets?size=${size}`)
      t.same([r.status, r.body], [400, { code: 9, name: 'invalid size', message: 'size must be an integer between 1 and 1000' }], `size=${size}`)
    }
    r = await api.call('GET', `/upstreams/${u.id}/targets?size=abc`)
    t.same([r.status, r.body.message], [400, 'size must be a number'])
  })
  t.test('data property is an empty array', async (t) => {
    const empty = await upstream(api)
    const r = await api.call('GET', `/upstreams/${empty.name as string}/targets`)
    t.same([r.status, r.body], [200, { data: [], next: null }])
    t.match(r.text, /"data":\[\]/)
  })
  t.test('an unknown upstream is 404', async (t) => {
    t.same((await api.call('GET', '/upstreams/nope.test/targets')).status, 404)
    t.same((await api.call('GET', '/upstreams/00000000-0000-4000-8000-000000000000/targets/all')).status, 404)
  })
})

t.test('GET /upstreams/{upstream}/targets/all', async (t) => {
  const api = await startAdmin(t)
  const u = await upstream(api)
  await insertTargets(api, u, Array.from({ length: 10 }, (_, i) => ({ target: `api-${i + 1}:80`, weight: 100 })))
  t.test('retrieves the first page', async (t) => {
    t.equal((await api.call('GET', `/upstreams/${u.name as string}/targets/all`)).body.data.length, 10)
  })
  t.test('offset is a string, the next url ends with /targets/all', async (t) => {
    const r = await api.call('GET', `/upstreams/${u.name as string}/targets/all?size=3`)
    t.type(r.body.offset, 'string')
    t.equal(r.body.next, `/upstreams/${u.name as string}/targets/all?offset=${encodeURIComponent(r.body.offset)}`)
  })
  t.test('paginates a set', async (t) => {
    const pages: unknown[] = []
    let offset: string | undefined
    for (let i = 1; i <= 4; i++) {
      const r = await api.call('GET', `/upstreams/${u.name as string}/targets/all?size=3${offset === undefined ? '' : `&offset=${encodeURIComponent(offset)}`}`)
      t.equal(r.status, 200)
      t.equal(r.body.data.length, i < 4 ? 3 : 1)
      if (i > 1) t.notSame(r.body, pages[i - 2])
      pages.push(r.body)
      offset = r.body.offset
    }
  })
  t.test('ignores filters and an invalid body', async (t) => {
    t.equal((await api.call('GET', `/upstreams/${u.name as string}/targets/all?foo=bar`)).status, 200)
    t.equal((await api.call('GET', `/upstreams/${u.name as string}/targets/all`, { body: 'this fails if decoded as json', headers: { 'content-type': 'application/json' } })).status, 200)
  })
  t.test('data property is an empty array', async (t) => {
    const empty = await upstream(api)
    const r = await api.call('GET', `/upstreams/${empty.name as string}/targets/all`)
    t.same(r.body, { data: [], next: null })
    t.match(r.text, /"data":\[\]/)
  })
  t.test('only GET', async (t) => {
    for (const m of ['POST', 'PUT', 'PATCH', 'DELETE']) t.equal((await api.call(m, `/upstreams/${u.name as string}/targets/all`)).status, 405, m)
  })
})

t.test('/upstreams/{upstream}/targets/{target}', async (t) => {
  const setup = async (t: Test) => {
    const api = await startAdmin(t)
    const u = await upstream(api)
    const [, target] = await insertTargets(api, u, [{ target: 'api-1:80', weight: 10 }, { target: 'api-2:80', weight: 10 }])
    return { api, u, target: target as Row, path: `/upstreams/${u.name as string}/targets` }
  }

  t.test('GET returns the target entity', async (t) => {
    const { api, target, path } = await setup(t)
    const r = await api.call('GET', `${path}/${target.target}`)
    t.same([r.status, r.body], [200, target])
    t.same((await api.call('GET', `${path}/${target.id}`)).body, target, 'by id')
    t.equal((await api.call('GET', `${path}/api-2`)).status, 404, "Kong compares the string: no default port is added to look one up")
  })

  t.test('finds a target only under its own upstream (the lookup of Kong\'s (un)healthy spec, for GET)', async (t) => {
    const api = await startAdmin(t)
    const u = await upstream(api)
    const elsewhere = await upstream(api)
    const [wrong] = await insertTargets(api, elsewhere, [{ target: '127.0.0.1:8192', weight: 10 }])
    const [target] = await insertTargets(api, u, [{ target: '127.0.0.1:8192', weight: 10 }])
    const us = ['6f7b3a2e-0c1d-4e5f-8a9b-0c1d2e3f4a5b', 'invalid', u.name as string, u.id]
    const ts = ['7f7b3a2e-0c1d-4e5f-8a9b-0c1d2e3f4a5b', 'invalid:1234', (wrong as Row).id, (target as Row).target, (target as Row).id]
    for (const [i, up] of us.entries()) {
      for (const [j, tg] of ts.entries()) {
        const expected = i >= 2 && j >= 3 ? 200 : 404
        t.equal((await api.call('GET', `/upstreams/${up}/targets/${tg}`)).status, expected, `${up} / ${tg}`)
      }
    }
  })

  t.test('IPv6 targets are stored expanded and found by that form', async (t) => {
    const api = await startAdmin(t)
    const u = await upstream(api)
    const r = await api.call('POST', `/upstreams/${u.id}/targets`, { json: { target: '[::1]:8192', weight: 10 } })
    t.equal(r.body.target, '[0000:0000:0000:0000:0000:0000:0000:0001]:8192')
    t.equal((await api.call('GET', `/upstreams/${u.id}/targets/[0000:0000:0000:0000:0000:0000:0000:0001]:8192`)).status, 200)
    t.equal((await api.call('GET', `/upstreams/${u.id}/targets/%5B0000:0000:0000:0000:0000:0000:0000:0001%5D:8192`)).status, 200, 'percent-encoded')
  })

  t.test('PATCH is allowed and works', async (t) => {
    const { api, target, path } = await setup(t)
    let r = await api.call('PATCH', `${path}/${target.target}`, { json: { weight: 659 } })
    t.equal(r.status, 200)
    t.match(r.body, { id: target.id, target: target.target, weight: 659 })
    r = await api.call('GET', `${path}/${target.target}`)
    t.equal(r.body.weight, 659)
    r = await api.call('PATCH', `${path}/${target.id}`, { form: { weight: '7', 'tags[]': 'x' } })
    t.match(r.body, { weight: 7, tags: ['x'] }, 'by id, with a form')
    r = await api.call('PATCH', `${path}/${target.id}`, { json: { target: 'bad host' } })
    t.same([r.status, r.body.fields], [400, { target: "Invalid target ('bad host'); not a valid hostname or ip address" }],
      "an update goes through the schema, with the schema's message")
    r = await api.call('PATCH', `${path}/${target.id}`, { json: { target: 'api-1:80' } })
    t.equal(r.status, 409, 'moving onto another target of the upstream is a unique violation')
    t.equal((await api.call('PATCH', `${path}/nope:80`, { json: { weight: 1 } })).status, 404)
  })

  t.test('PUT updates the target (by id)', async (t) => {
    const { api, target, path } = await setup(t)
    const changed = { ...target, target: `${target.target}1` }
    const r = await api.call('PUT', `${path}/${target.id}`, { json: { target: changed.target } })
    t.same([r.status, r.body], [200, changed], 'as a PATCH: the weight stays')
    t.same((await api.call('GET', `${path}/${target.id}`)).body, changed)
  })

  t.test('PUT updates the target (by target)', async (t) => {
    const { api, target, path } = await setup(t)
    const r = await api.call('PUT', `${path}/${target.target}`, { json: { target: `${target.target}1` } })
    t.equal(r.status, 200)
    t.equal((await api.call('GET', `${path}/${target.target}`)).status, 404, 'the previous one does not exist now')
    t.same((await api.call('GET', `${path}/${target.target}1`)).body, r.body)
    t.equal((await api.call('PUT', `${path}/new.test:80`, { json: { weight: 1 } })).status, 404, 'PUT does not create')
  })

  for (const by of ['target', 'id'] as const) {
    t.test(`DELETE actually deletes targets (by ${by})`, async (t) => {
      const { api, target, path } = await setup(t)
      t.equal((await api.call('GET', `${path}/all`)).body.data.length, 2)
      t.equal((await api.call('DELETE', `${path}/${target[by]}`)).status, 204)
      t.equal((await api.call('GET', `${path}/all`)).body.data.length, 1)
      const active = await api.call('GET', path)
      t.same(active.body.data.map((x: Row) => x.target), ['api-1:80'])
      t.same((await api.call('DELETE', `${path}/${target[by]}`)).body, { message: 'Not found' }, 'a second DELETE is 404, as Kong answers a missing target')
    })
  }
})
