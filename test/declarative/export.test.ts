import t from 'tap'
import fc from 'fast-check'
import { CORE_SCHEMA, YAML11_SCHEMA, load } from 'js-yaml'
import { unserialize } from '../../core/declarative/parse.js'
import { entityOrder, exportChunks, exportDeclarative, exportObject, yamlBlock } from '../../core/declarative/export.js'
import { bundledStore } from './fixtures.js'

/** YAML as our own parser reads it (Kong's lyaml: YAML 1.1 booleans, no timestamps). */
const parse = (text: string): unknown => unserialize(text, 'kong.yml')
/** The YAML readers the export must agree with: ours, YAML 1.1 with timestamps, YAML 1.2. */
const READERS: Array<[string, (text: string) => unknown]> = [
  ['tollgate (lyaml)', parse],
  ['YAML 1.1', (text) => load(text, { schema: YAML11_SCHEMA })],
  ['YAML 1.2', (text) => load(text, { schema: CORE_SCHEMA })],
]

const SVC = '0855b320-0dd2-547d-891d-601e9b38647f'
const ROUTE = '481a9539-f49c-51b6-b2e2-fe99ee68866c'
const ALICE = '4b1b701d-de2b-5588-9aa2-3b97061d9f52'

t.test('dependency order: parents before children, definition order otherwise', async (t) => {
  const store = bundledStore(t)
  const names = entityOrder(store.entities).map((i) => i.name)
  // Services reference certificates and CA certificates, so those come first.
  t.same(names, ['certificates', 'ca_certificates', 'services', 'routes', 'consumers', 'plugins', 'upstreams', 'targets', 'snis', 'acls', 'basicauth_credentials', 'jwt_secrets', 'keyauth_credentials'])
  for (const info of store.entities) {
    for (const f of info.foreign) {
      if (names.includes(f.reference)) t.ok(names.indexOf(f.reference) < names.indexOf(info.name), `${f.reference} before ${info.name}`)
    }
  }
})

t.test("Kong's export format: flat lists, every field, foreign keys as bare ids", async (t) => {
  const store = bundledStore(t)
  await store.insert('services', { id: SVC, name: 'my-service', url: 'http://upstream.test:8080/api' })
  await store.insert('routes', { id: ROUTE, name: 'my-route', paths: ['/api'], service: { id: SVC } })
  await store.insert('consumers', { id: ALICE, username: 'alice' })
  await store.insert('plugins', { name: 'key-auth', service: { id: SVC } })
  await store.insert('keyauth_credentials', { key: 'alice-secret-key', consumer: { id: ALICE } })
  await store.insert('upstreams', { name: 'backend' })

  const text = exportDeclarative(store)
  t.ok(text.startsWith('_format_version: "3.0"\n_transform: false\n'), 'header first')
  const doc = parse(text) as Record<string, unknown>
  t.same(Object.keys(doc), ['_format_version', '_transform', 'services', 'routes', 'consumers', 'plugins', 'upstreams', 'keyauth_credentials'],
    'types in dependency order, empty ones (targets) left out')
  t.same(doc, exportObject(store), 'the object form holds the same')

  const [svc] = doc.services as Record<string, unknown>[]
  t.match(svc, { id: SVC, name: 'my-service', protocol: 'http', host: 'upstream.test', port: 8080, path: '/api', retries: 5, tags: null, client_certificate: null, ca_certificates: null })
  t.type(svc?.created_at, 'number')
  t.type(svc?.updated_at, 'number')
  t.equal(Object.keys(svc ?? {})[0], 'id', 'fields in schema order')

  const [route] = doc.routes as Record<string, unknown>[]
  t.equal(route?.service, SVC, 'a foreign key is the bare id')
  t.equal(route?.hosts, null, 'nulls kept')
  t.ok(text.includes(`service: ${SVC}\n`))

  const [plugin] = doc.plugins as Record<string, unknown>[]
  t.match(plugin, { name: 'key-auth', service: SVC, route: null, consumer: null, enabled: true, config: { key_names: ['apikey'] } })

  const [cred] = doc.keyauth_credentials as Record<string, unknown>[]
  t.match(cred, { consumer: ALICE, key: 'alice-secret-key', ttl: null })
  t.notOk(/workspace|ws_id/.test(text), 'no workspaces')
})

t.test('an empty store exports only the header', async (t) => {
  const store = bundledStore(t)
  t.equal(exportDeclarative(store), '_format_version: "3.0"\n_transform: false\n')
  t.same(exportObject(store), { _format_version: '3.0', _transform: false })
})

t.test("TTL credentials: ttl is the expiry time, as Kong exports it; expired ones are left out", async (t) => {
  const store = bundledStore(t)
  const consumer = await store.insert('consumers', { username: 'bob' })
  const before = Math.floor(Date.now() / 1000)
  await store.insert('keyauth_credentials', { key: 'lasting', consumer: { id: consumer.id } }, { ttl: 3600 })
  await store.insert('keyauth_credentials', { key: 'fleeting', consumer: { id: consumer.id } }, { ttl: 1 })
  const creds = exportObject(store).keyauth_credentials as Record<string, unknown>[]
  t.equal(creds.length, 2)
  const lasting = creds.find((c) => c.key === 'lasting') as Record<string, unknown>
  t.ok(Number(lasting.ttl) >= before + 3599 && Number(lasting.ttl) <= before + 3601, `expires at now + 3600 (${String(lasting.ttl)})`)
  await new Promise((resolve) => setTimeout(resolve, 2100))
  const after = parse(exportDeclarative(store)) as Record<string, Record<string, unknown>[]>
  t.same(after.keyauth_credentials?.map((c) => c.key), ['lasting'], 'the expired credential is not exported')
})

t.test('strings that YAML 1.1 readers would take for other types stay strings', async (t) => {
  const store = bundledStore(t)
  await store.insert('consumers', { username: 'yes', custom_id: '2020-01-01', tags: ['on', '3.0', '~', 'a: b', '#x'] })
  const text = exportDeclarative(store)
  for (const [reader, read] of READERS) {
    const [c] = (read(text) as Record<string, Record<string, unknown>[]>).consumers ?? []
    t.match(c, { username: 'yes', custom_id: '2020-01-01', tags: ['on', '3.0', '~', 'a: b', '#x'] }, reader)
  }
})

t.test('large configs export in linear time, in pieces', async (t) => {
  const store = bundledStore(t)
  const n = 20_000
  await store.transaction((tx) => {
    for (let i = 0; i < n; i++) tx.insert('consumers', { username: `user-${i}`, tags: ['bulk'] })
  })
  const started = performance.now()
  let pieces = 0
  let bytes = 0
  for (const chunk of exportChunks(store)) { pieces++; bytes += chunk.length }
  const ms = performance.now() - started
  t.ok(pieces > n / 1000, `written in ${pieces} pieces`)
  t.ok(ms < 20_000, `${n} consumers (${bytes} bytes) in ${Math.round(ms)} ms`)
  const doc = parse(exportDeclarative(store)) as Record<string, unknown[]>
  t.equal(doc.consumers?.length, n)
})

t.test('the YAML emitter: any JSON value reads back the same, in YAML 1.1 and 1.2', async (t) => {
  const key = fc.oneof(fc.string(), fc.constantFrom('y', 'n', 'on', 'off', 'yes', 'No', 'null', '~', 'key_names', '-', '? x', '<<', '0x1F', '1e3', '2020-01-01'))
  const scalar = fc.oneof(
    fc.string(), fc.string({ unit: 'grapheme' }), fc.boolean(), fc.constant(null), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.constantFrom('yes', 'No', 'ON', 'off', 'y', 'N', 'true', 'null', 'Null', '~', '', ' ', '3.0', '1e3', '0x1F', '012', '1:20', '.inf', '.NaN',
      '2020-01-01', '- a', '#c', 'a: b', 'a #b', '"q"', "'q'", '@x', '`x', '|', '>', '%x', '!x', '&a', '*a', '[x]', '{x}', 'a\nb', '\t', '\u2028',
      '/api/v1', 'http://x.test:80/p', '0855b320-0dd2-547d-891d-601e9b38647f', '12345678-1234-1234-1234-123456789abc'),
  )
  const value = fc.letrec((tie) => ({
    json: fc.oneof({ depthSize: 'small' }, scalar, fc.array(tie('json'), { maxLength: 6 }), fc.dictionary(key, tie('json'), { maxKeys: 6 })),
  })).json
  fc.assert(fc.property(fc.array(fc.dictionary(key, value, { maxKeys: 8 }), { minLength: 1, maxLength: 4 }), (rows) => {
    const expected = JSON.parse(JSON.stringify(rows)) as unknown
    const text = `items:\n${yamlBlock(rows, '')}`
    for (const [reader, read] of READERS) {
      const back = (read(text) as { items: unknown }).items
      if (JSON.stringify(back) !== JSON.stringify(expected)) throw new Error(`${reader}: ${text} read back as ${JSON.stringify(back)}`)
    }
  }), { numRuns: 300 })
  t.pass('300 random documents read back the same')
})
