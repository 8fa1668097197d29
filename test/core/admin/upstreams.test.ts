// Kong's Admin API spec for upstreams, ported: spec/02-integration/04-admin_api/
// 07-upstreams_routes_spec.lua (Kong 3.2.2), each body case with form, multipart and
// JSON bodies as Kong's it_content_types does; then what Tollgate adds around it (input
// shortcuts, nested PATCH of healthchecks, tags, schemas, the client_certificate reference,
// keys Kong refuses before looking them up).

import t from 'tap'
import { startAdmin, storeDump } from '../../helpers/admin.js'
import { CONTENT_TYPES, sendAs } from '../../helpers/content-types.js'

const SLOTS_DEFAULT = 10000
const SLOTS_MAX = 2 ** 16

t.test('POST /upstreams', async (t) => {
  for (const type of CONTENT_TYPES) {
    t.test(`creates upstreams, with ${type}`, async (t) => {
      const api = await startAdmin(t)
      const post = async (body: Record<string, unknown>) => {
        const r = await sendAs(api, type, 'POST', '/upstreams', body)
        t.equal(r.status, 201, JSON.stringify(body))
        t.type(r.body.created_at, 'number')
        t.type(r.body.id, 'string')
        await api.call('DELETE', `/upstreams/${r.body.id as string}`)
        return r.body
      }
      t.match(await post({ name: 'my.upstream' }), {
        name: 'my.upstream', slots: SLOTS_DEFAULT, hash_on: 'none', hash_fallback: 'none', hash_on_header: null, hash_fallback_header: null,
      }, 'with defaults')
      t.match(await post({ name: 'my.upstream', slots: 10, hash_on: 'consumer', hash_fallback: 'ip', hash_on_header: 'HeaderName', hash_fallback_header: 'HeaderFallback' }), {
        slots: 10, hash_on: 'consumer', hash_fallback: 'ip', hash_on_header: 'HeaderName', hash_fallback_header: 'HeaderFallback',
      }, 'without defaults')
      t.match(await post({ name: 'my.upstream', hash_on: 'cookie', hash_on_cookie: 'CookieName1', hash_on_cookie_path: '/foo' }), {
        hash_on: 'cookie', hash_on_cookie: 'CookieName1', hash_on_cookie_path: '/foo',
      }, 'with hash_on cookie parameters')
      t.match(await post({ name: 'my.upstream', slots: 10, hash_on: 'header', hash_fallback: 'header', hash_on_header: 'HeaderName1', hash_fallback_header: 'HeaderName2' }), {
        hash_on: 'header', hash_fallback: 'header', hash_on_header: 'HeaderName1', hash_fallback_header: 'HeaderName2',
      }, 'with 2 header hashes')
      t.match(await post({ name: 'my.upstream', slots: SLOTS_MAX }), { slots: SLOTS_MAX }, `with ${SLOTS_MAX} slots`)
      t.match(await post({ name: 'my.upstream', host_header: 'localhost' }), {
        slots: SLOTS_DEFAULT, hash_on: 'none', hash_fallback: 'none', hash_on_header: null, hash_fallback_header: null, host_header: 'localhost',
      }, 'with host header')
    })
  }

  t.test('handles malformed JSON body', async (t) => {
    const api = await startAdmin(t)
    const r = await api.call('POST', '/upstreams', { body: '{"hello": "world"', headers: { 'content-type': 'application/json' } })
    t.same([r.status, r.text], [400, '{"message":"Cannot parse JSON body"}'])
  })

  const conditional = (field: string) => `failed conditional validation given value of field '${field}'`
  const badHeader = "bad header name 'not a <> valid <> header name', allowed characters are A-Z, a-z, 0-9, '_', and '-'"
  const badCookie = "bad cookie name 'not a <> valid <> cookie name', allowed characters are A-Z, a-z, 0-9, '_', and '-'"
  // [body, expected fields (exactly), or [field, message] for Kong's specs that check one field]
  const invalid: Array<[Record<string, unknown>, Record<string, unknown> | [string, string]]> = [
    [{ slots: 50 }, { name: 'required field missing' }],
    [{ name: 'some invalid host name' }, { name: "Invalid name ('some invalid host name'); must be a valid hostname" }],
    [{ name: 'my.upstream', slots: 2 ** 16 + 1 }, { slots: 'value should be between 10 and 65536' }],
    [{ name: 'my.upstream', hash_on: 'something that is invalid' }, { hash_on: 'expected one of: none, consumer, ip, header, cookie, path, query_arg, uri_capture' }],
    [{ name: 'my.upstream', hash_on: 'consumer', hash_fallback: 'something that is invalid' },
      { '@entity': [conditional('hash_on')], hash_fallback: 'expected one of: none, ip, header, cookie, path, query_arg, uri_capture' }],
    [{ name: 'my.upstream', hash_on: 'consumer', hash_fallback: 'consumer' },
      { '@entity': [conditional('hash_on')], hash_fallback: 'expected one of: none, ip, header, cookie, path, query_arg, uri_capture' }],
    [{ name: 'my.upstream', hash_on: 'header', hash_fallback: 'consumer', hash_on_header: 'not a <> valid <> header name' }, ['hash_on_header', badHeader]],
    [{ name: 'my.upstream', hash_on: 'consumer', hash_fallback: 'header', hash_fallback_header: 'not a <> valid <> header name' }, ['hash_fallback_header', badHeader]],
    [{ name: 'my.upstream', hash_on: 'header', hash_fallback: 'header', hash_on_header: 'headername', hash_fallback_header: 'headername' },
      { '@entity': ["values of these fields must be distinct: 'hash_on_header', 'hash_fallback_header'"] }],
    [{ name: 'my.upstream', hash_on: 'cookie', hash_on_cookie: 'cookiename', hash_fallback: 'header', hash_fallback_header: 'Cool-Header' },
      { '@entity': [conditional('hash_on')], hash_fallback: 'expected one of: none' }],
    [{ name: 'my.upstream', hash_on: 'header', hash_fallback: 'header', hash_fallback_header: 'HeaderName' },
      { '@entity': [conditional('hash_on')], hash_on_header: 'required field missing' }],
    [{ name: 'my.upstream', hash_on: 'consumer', hash_fallback: 'header' },
      { '@entity': [conditional('hash_fallback')], hash_fallback_header: 'required field missing' }],
    [{ name: 'my.upstream', hash_on: 'cookie', hash_on_cookie: 'not a <> valid <> cookie name' }, ['hash_on_cookie', badCookie]],
    [{ name: 'my.upstream', hash_on: 'cookie', hash_on_cookie: 'hashme', hash_on_cookie_path: 'not a path' }, { hash_on_cookie_path: 'should start with: /' }],
    [{ name: 'my.upstream', hash_on: 'consumer', hash_fallback: 'cookie', hash_on_cookie: 'not a <> valid <> cookie name' }, ['hash_on_cookie', badCookie]],
    [{ name: 'my.upstream', hash_on: 'consumer', hash_fallback: 'cookie', hash_on_cookie: 'my-cookie', hash_on_cookie_path: 'not a path' }, { hash_on_cookie_path: 'should start with: /' }],
  ]
  for (const type of CONTENT_TYPES) {
    t.test(`handles invalid input, with ${type}`, async (t) => {
      const api = await startAdmin(t)
      for (const [body, expected] of invalid) {
        const r = await sendAs(api, type, 'POST', '/upstreams', body)
        t.equal(r.status, 400, JSON.stringify(body))
        t.equal(r.body.name, 'schema violation')
        if (Array.isArray(expected)) t.equal(r.body.fields[expected[0]], expected[1], JSON.stringify(body))
        else t.same(r.body.fields, expected, JSON.stringify(body))
      }
      t.equal((await api.call('GET', '/upstreams')).body.data.length, 0, 'nothing stored')
    })

    t.test(`returns 409 on conflict, with ${type}`, async (t) => {
      const api = await startAdmin(t)
      t.equal((await sendAs(api, type, 'POST', '/upstreams', { name: 'my.upstream' })).status, 201)
      const r = await sendAs(api, type, 'POST', '/upstreams', { name: 'my.upstream' })
      t.same([r.status, r.body], [409, {
        code: 5, name: 'unique constraint violation', message: `UNIQUE violation detected on '{name="my.upstream"}'`, fields: { name: 'my.upstream' },
      }])
    })
  }

  t.test('the messages of several failures are summed up as in Kong', async (t) => {
    const api = await startAdmin(t)
    const r = await api.call('POST', '/upstreams', { json: { name: 'my.upstream', hash_on: 'consumer', hash_fallback: 'header' } })
    t.same(r.body, {
      code: 2,
      name: 'schema violation',
      message: "2 schema violations (failed conditional validation given value of field 'hash_fallback'; hash_fallback_header: required field missing)",
      fields: { '@entity': [conditional('hash_fallback')], hash_fallback_header: 'required field missing' },
    })
  })
})

t.test('PUT /upstreams/{upstream}', async (t) => {
  for (const type of CONTENT_TYPES) {
    t.test(`creates if not exists, replaces if exists, with ${type}`, async (t) => {
      const api = await startAdmin(t)
      let r = await sendAs(api, type, 'PUT', '/upstreams/my-upstream', { created_at: 1461276890000 })
      t.equal(r.status, 200)
      t.match(r.body, { name: 'my-upstream', created_at: 1461276890000, slots: SLOTS_DEFAULT })
      t.type(r.body.id, 'string')

      r = await sendAs(api, type, 'POST', '/upstreams', { name: 'my-other-upstream', slots: 100 })
      t.equal(r.status, 201)
      const created = r.body
      r = await sendAs(api, type, 'PUT', `/upstreams/${created.id as string}`, { name: 'my-new-upstream', slots: 123, created_at: created.created_at })
      t.equal(r.status, 200)
      t.match(r.body, { id: created.id, name: 'my-new-upstream', slots: 123 })
    })

    t.test(`handles invalid input, with ${type}`, async (t) => {
      const api = await startAdmin(t)
      let r = await sendAs(api, type, 'PUT', '/upstreams/00000000-0000-0000-0000-000000000001', {})
      t.same([r.status, r.body.message], [400, 'schema violation (name: required field missing)'])
      // Kong checks the name in the URL before anything else (kong/db/dao/init.lua validate_unique_row_method).
      r = await sendAs(api, type, 'PUT', '/upstreams/1.2.3.4', { created_at: 1461276890000 })
      t.same([r.status, r.body], [400, { code: 10, name: 'invalid unique name', message: "Invalid name ('1.2.3.4'); no ip addresses allowed" }])
      t.equal((await api.call('GET', '/upstreams')).body.data.length, 0)
    })
  }
})

t.test('GET /upstreams', async (t) => {
  const api = await startAdmin(t)
  t.test('data property is an empty array', async (t) => {
    const r = await api.call('GET', '/upstreams')
    t.same([r.status, r.body], [200, { data: [], next: null }])
    t.match(r.text, /"data":\[\]/)
  })
  t.test('retrieves the first page, paginates a set', async (t) => {
    for (let i = 1; i <= 10; i++) await api.call('POST', '/upstreams', { json: { name: `upstream-${i}` } })
    t.equal((await api.call('GET', '/upstreams')).body.data.length, 10)
    const pages: unknown[] = []
    let offset: string | undefined
    for (let i = 1; i <= 4; i++) {
      const r = await api.call('GET', `/upstreams?size=3${offset === undefined ? '' : `&offset=${encodeURIComponent(offset)}`}`)
      t.equal(r.status, 200)
      t.equal(r.body.data.length, i < 4 ? 3 : 1)
      if (i > 1) t.notSame(r.body, pages[i - 2], 'every page is different')
      pages.push(r.body)
      offset = r.body.offset
    }
    t.equal(offset, undefined, 'the last page has no offset')
  })
  t.test('ignores filters and an invalid body', async (t) => {
    t.equal((await api.call('GET', '/upstreams?foo=bar')).status, 200)
    t.equal((await api.call('GET', '/upstreams', { body: 'this fails if decoded as json', headers: { 'content-type': 'application/json' } })).status, 200)
  })
})

t.test('DELETE /upstreams/{upstream}', async (t) => {
  const api = await startAdmin(t)
  const create = async (): Promise<Record<string, unknown>> => {
    const r = await api.call('POST', '/upstreams', { json: { name: 'my-upstream', slots: 100 } })
    t.equal(r.status, 201)
    return r.body
  }
  let u = await create()
  t.equal((await api.call('DELETE', `/upstreams/${u.id as string}`)).status, 204, 'by id')
  u = await create()
  t.equal((await api.call('DELETE', '/upstreams/my-upstream')).status, 204, 'by name')
  t.equal((await api.call('GET', `/upstreams/${u.id as string}`)).status, 404)

  // Regression test for Kong#4317: after deleting its targets.
  await create()
  t.equal((await api.call('POST', '/upstreams/my-upstream/targets', { json: { target: '127.0.0.1:8000' } })).status, 201)
  t.equal((await api.call('DELETE', '/upstreams/my-upstream/targets/127.0.0.1:8000', { headers: { 'content-type': 'application/json' } })).status, 204)
  t.equal((await api.call('GET', '/upstreams/my-upstream')).status, 200, 'deleting the target does not delete the upstream')
  t.equal((await api.call('DELETE', '/upstreams/my-upstream')).status, 204)

  // An upstream with targets: the targets go with it.
  u = await create()
  const target = (await api.call('POST', '/upstreams/my-upstream/targets', { json: { target: '127.0.0.1:8000' } })).body
  t.equal((await api.call('DELETE', '/upstreams/my-upstream')).status, 204)
  t.equal(api.store.get('targets', target.id), undefined, 'its targets are deleted')
  t.equal((await api.call('GET', `/upstreams/${u.id as string}/targets`)).status, 404)
})

t.test('returns 405 on invalid method', async (t) => {
  const api = await startAdmin(t)
  const r = await api.call('DELETE', '/upstreams', { headers: { 'content-type': 'application/json' } })
  t.same([r.status, r.body], [405, { message: 'Method not allowed' }])
})

// --- beyond Kong's spec ------------------------------------------------------------------

t.test("Kong's input shortcuts through the Admin API, on POST and PATCH", async (t) => {
  const api = await startAdmin(t)
  let r = await api.call('POST', '/upstreams', { form: { name: 'u.test', hash_on: 'ip' } })
  t.match(r.body, { algorithm: 'consistent-hashing', hash_on: 'ip' })
  r = await api.call('PATCH', '/upstreams/u.test', { form: { algorithm: 'least-connections' } })
  t.match(r.body, { algorithm: 'least-connections', hash_on: 'none' }, 'least-connections resets hash_on')
  r = await api.call('PATCH', '/upstreams/u.test', { form: { slots: '100' } })
  t.match(r.body, { algorithm: 'least-connections', hash_on: 'none', slots: 100 }, 'a PATCH that does not name hash_on leaves the algorithm')
  r = await api.call('PATCH', '/upstreams/u.test', { json: { hash_on: 'none' } })
  t.match(r.body, { algorithm: 'round-robin', hash_on: 'none' }, 'naming hash_on none makes it round-robin')
  r = await api.call('PATCH', '/upstreams/u.test', { json: { name: 'renamed.test' } })
  t.equal(r.body.name, 'renamed.test', 'renaming is allowed')
  t.equal((await api.call('GET', '/upstreams/renamed.test')).status, 200)
})

t.test('PATCH merges nested healthchecks fields, from forms and JSON', async (t) => {
  const api = await startAdmin(t)
  await api.call('POST', '/upstreams', { json: { name: 'hc.test' } })
  let r = await api.call('PATCH', '/upstreams/hc.test', { form: { 'healthchecks.passive.unhealthy.tcp_failures': '1', 'healthchecks.active.healthy.http_statuses': '200' } })
  t.equal(r.status, 200)
  t.match(r.body.healthchecks, { passive: { unhealthy: { tcp_failures: 1, timeouts: 0, http_statuses: [429, 500, 503] } }, active: { healthy: { http_statuses: [200], interval: 0 } } },
    'form values are typed by the schema; one value of an array field is a one-element array')
  r = await api.call('PATCH', '/upstreams/hc.test', { json: { healthchecks: { active: { healthy: { interval: 5 }, headers: { 'x-probe': ['1'] } }, threshold: 25.5 } } })
  t.match(r.body.healthchecks, { active: { healthy: { interval: 5, http_statuses: [200] }, headers: { 'x-probe': ['1'] } }, passive: { unhealthy: { tcp_failures: 1 } }, threshold: 25.5 })
  r = await api.call('PATCH', '/upstreams/hc.test', { json: { healthchecks: { active: { headers: { 'x-other': ['2'] } } } } })
  t.same(r.body.healthchecks.active.headers, { 'x-other': ['2'] }, 'a map is replaced whole')
  const before = storeDump(api.store)
  r = await api.call('PATCH', '/upstreams/hc.test', { json: { healthchecks: { active: { timeout: -1, healthy: { successes: 300 } } } } })
  t.same([r.status, r.body.fields], [400, { healthchecks: { active: { timeout: 'value should be between 0 and 65535', healthy: { successes: 'value should be between 0 and 255' } } } }])
  t.equal(storeDump(api.store), before, 'a refused PATCH stores nothing')
})

t.test('client_certificate: a foreign key to certificates, which do not exist yet', async (t) => {
  const api = await startAdmin(t)
  const cert = '123e4567-e89b-12d3-a456-426655440000'
  const fk = { code: 4, name: 'foreign key violation', message: `the foreign key '{id="${cert}"}' does not reference an existing 'certificates' entity.`, fields: { client_certificate: { id: cert } } }
  let r = await api.call('POST', '/upstreams', { json: { name: 'mtls.test', client_certificate: { id: cert } } })
  t.same([r.status, r.body], [400, fk])
  r = await api.call('POST', '/upstreams', { form: `name=mtls.test&client_certificate.id=${cert}` })
  t.same([r.status, r.body], [400, fk])
  r = await api.call('POST', '/upstreams', { json: { name: 'mtls.test', client_certificate: null } })
  t.same([r.status, r.body.client_certificate], [201, null])
  r = await api.call('PATCH', '/upstreams/mtls.test', { json: { client_certificate: { id: cert } } })
  t.same([r.status, r.body], [400, fk])
  t.equal((await api.call('GET', '/upstreams/mtls.test/client_certificate')).status, 404, 'no endpoint for a reference to nothing')
})

t.test('a name Kong would refuse is refused before it is looked up, on every method', async (t) => {
  const api = await startAdmin(t)
  const body = { code: 10, name: 'invalid unique name', message: "Invalid name ('1.2.3.4'); no ip addresses allowed" }
  for (const m of ['GET', 'PATCH', 'DELETE']) {
    const r = await api.call(m, '/upstreams/1.2.3.4', m === 'PATCH' ? { json: { slots: 20 } } : {})
    t.same([r.status, r.body], [400, body], m)
  }
  t.same((await api.call('GET', '/upstreams/a%20b/targets')).body.message, "Invalid name ('a b'); must be a valid hostname", 'under the upstream too')
  t.equal((await api.call('GET', '/upstreams/no.such.upstream')).status, 404, 'a valid name that names nothing is not found')
})

t.test('tags, /tags, schemas and validation', async (t) => {
  const api = await startAdmin(t)
  await api.call('POST', '/upstreams', { form: 'name=a.test&tags[]=blue&tags[]=lb' })
  await api.call('POST', '/upstreams', { json: { name: 'b.test', tags: ['lb'] } })
  await api.call('POST', '/upstreams/a.test/targets', { json: { target: 'x.test', tags: ['blue'] } })
  t.same((await api.call('GET', '/upstreams?tags=lb')).body.data.map((u: { name: string }) => u.name).sort(), ['a.test', 'b.test'])
  t.same((await api.call('GET', '/upstreams?tags=lb,blue')).body.data.map((u: { name: string }) => u.name), ['a.test'])
  t.same((await api.call('GET', '/tags/blue')).body.data.map((r: { entity_name: string }) => r.entity_name).sort(), ['targets', 'upstreams'])

  let r = await api.call('GET', '/schemas/upstreams')
  const fields = Object.fromEntries((r.body.fields as Record<string, unknown>[]).map((f) => Object.entries(f)[0] as [string, unknown]))
  t.same(Object.keys(fields), ['id', 'created_at', 'name', 'algorithm', 'hash_on', 'hash_fallback', 'hash_on_header', 'hash_fallback_header', 'hash_on_cookie',
    'hash_on_cookie_path', 'hash_on_query_arg', 'hash_fallback_query_arg', 'hash_on_uri_capture', 'hash_fallback_uri_capture', 'slots', 'healthchecks', 'tags',
    'host_header', 'client_certificate', 'use_srv_name'], "Kong's fields in Kong's order")
  t.match(fields.slots, { type: 'integer', default: 10000, between: [10, 65536] })
  t.match(fields.algorithm, { type: 'string', one_of: ['consistent-hashing', 'least-connections', 'round-robin', 'latency'], default: 'round-robin' })
  t.match(fields.healthchecks, { type: 'record', fields: [{ active: { type: 'record' } }, { passive: { type: 'record' } }, { threshold: { type: 'number', default: 0, between: [0, 100] } }] })
  t.match(fields.client_certificate, { type: 'foreign', reference: 'certificates' })
  t.match(r.body.entity_checks[0], { conditional: { if_field: 'hash_on', if_match: { match: '^header$' }, then_field: 'hash_on_header', then_match: { required: true } } })
  t.ok(r.body.entity_checks.some((c: Record<string, unknown>) => JSON.stringify(c) === '{"distinct":["hash_on_header","hash_fallback_header"]}'))
  r = await api.call('GET', '/schemas/targets')
  t.same(r.body.fields.map((f: object) => Object.keys(f)[0]), ['id', 'created_at', 'upstream', 'target', 'weight', 'tags'])
  t.match(r.body.fields[1], { created_at: { type: 'number', auto: true } }, 'seconds with a millisecond fraction')

  r = await api.call('POST', '/schemas/upstreams/validate', { form: { name: 'v.test', hash_on: 'header' } })
  t.same([r.status, r.body.fields], [400, { '@entity': ["failed conditional validation given value of field 'hash_on'"], hash_on_header: 'required field missing' }])
  r = await api.call('POST', '/schemas/upstreams/validate', { json: { name: 'v.test', 'hash_on': 'ip' } })
  t.same([r.status, r.body], [200, { message: 'schema validation successful' }])
  r = await api.call('POST', '/schemas/targets/validate', { json: { target: 'a b', upstream: { id: '123e4567-e89b-12d3-a456-426655440000' } } })
  t.same(r.body.fields, { target: "Invalid target ('a b'); not a valid hostname or ip address" }, "the schema's message, as Kong's /schemas/targets/validate")
  t.equal((await api.call('GET', '/upstreams')).body.data.length, 2, 'validation stored nothing')

  const doc = (await api.call('GET', '/openapi.json')).body
  for (const p of ['/upstreams', '/upstreams/{key}', '/upstreams/{parent}/targets', '/upstreams/{parent}/targets/all', '/upstreams/{parent}/targets/{key}']) t.ok(doc.paths[p], `${p} documented`)
  t.ok(doc.components.schemas.upstreams && doc.components.schemas.targets_page)
})

t.test('every write moves the config version, as the proxy follows it', async (t) => {
  const api = await startAdmin(t)
  const v0 = api.store.version()
  await api.call('POST', '/upstreams', { json: { name: 'v.test' } })
  await api.call('POST', '/upstreams/v.test/targets', { json: { target: 'a.test' } })
  await api.call('PATCH', '/upstreams/v.test/targets/a.test:8000', { json: { weight: 5 } })
  t.equal(api.store.version(), v0 + 3)
})

