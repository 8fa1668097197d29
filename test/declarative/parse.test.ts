// The declarative parser on its own: ids, references, nesting, formats and error shapes.
// Kong's own spec cases are ported in kong-spec-*.test.ts; these cover what Tollgate adds
// or chose (YAML as lyaml reads it, the store's checks, the CLI text).

import t from 'tap'
import { loadPlugins } from '../../core/runtime/loader.js'
import { DeclarativeError } from '../../core/declarative/errors.js'
import { stableId, uuidv5 } from '../../core/declarative/ids.js'
import { migratePath } from '../../core/declarative/migrate.js'
import { configHash, parseDeclarative } from '../../core/declarative/parse.js'
import type { DeclarativeConfig } from '../../core/declarative/types.js'
import { tempStore } from '../helpers/store.js'
import { pair, pem } from '../helpers/tls.js'

const plugins = await loadPlugins(['bundled'])
const store = tempStore(t, { plugins, entities: plugins.entities() })

function parse (text: string, filename?: string): DeclarativeConfig {
  return parseDeclarative(text, store, { filename })
}

function fails (text: string, filename?: string): DeclarativeError {
  try {
    parse(text, filename)
  } catch (err) {
    if (DeclarativeError.is(err)) return err
    throw err
  }
  throw new Error('the configuration was accepted')
}

const ids = (c: DeclarativeConfig, entity: string): string[] => (c.entities.get(entity) ?? []).map((e) => e.id)

t.test('uuid v5 as RFC 4122 defines it, and Kong\'s ids for named entities', async (t) => {
  // RFC 4122 appendix: the DNS namespace and "www.example.com".
  t.equal(uuidv5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com'), '2ed6657d-e927-568b-95e1-2665a8aea6a2')
  // The ids of Kong's 15-off_spec fixtures.
  t.equal(stableId('services', 'my-service'), '0855b320-0dd2-547d-891d-601e9b38647f')
  t.equal(stableId('routes', 'my-route'), '481a9539-f49c-51b6-b2e2-fe99ee68866c')
  t.equal(stableId('consumers', 'my-user'), '4b1b701d-de2b-5588-9aa2-3b97061d9f52')
})

t.test('ids: given ones kept, named ones derived, cache keys for plugins and targets, random otherwise', async (t) => {
  const text = `
_format_version: "3.0"
services:
- name: billing
  host: billing.internal
  routes:
  - name: invoices
    paths: [/invoices]
    plugins:
    - name: key-auth
  - paths: [/unnamed]
  plugins:
  - name: key-auth
consumers:
- username: carol
  keyauth_credentials:
  - key: carol-key
  plugins:
  - name: rate-limiting
    config: { minute: 5 }
- custom_id: no-username
upstreams:
- name: up
  targets:
  - target: 127.0.0.1:9201
plugins:
- name: key-auth
- name: rate-limiting
  service: billing
  consumer: carol
  config: { minute: 1 }
- id: 9a2c0a2e-3f0e-4a6e-9a55-0f6b6e6f4a11
  name: proxy-cache
  config: { strategy: memory }
`
  const a = parse(text)
  const b = parse(text)
  const svc = stableId('services', 'billing')
  const route = stableId('routes', 'invoices')
  const consumer = stableId('consumers', 'carol')
  const upstream = stableId('upstreams', 'up')
  t.same(ids(a, 'services'), [svc])
  t.equal(ids(a, 'routes')[0], route)
  t.equal(ids(a, 'consumers')[0], consumer)
  t.same(ids(a, 'upstreams'), [upstream])
  t.same(ids(a, 'targets'), [stableId('targets', `targets:*:${upstream}:127.0.0.1:9201`)])
  t.same(ids(a, 'plugins').sort(), [
    stableId('plugins', `plugins:*:key-auth:${route}::`),
    stableId('plugins', `plugins:*:key-auth::${svc}:`),
    stableId('plugins', `plugins:*:rate-limiting:::${consumer}`),
    stableId('plugins', 'plugins:*:key-auth:::'),
    // A top-level reference puts the name as written in the key.
    stableId('plugins', 'plugins:*:rate-limiting::billing:carol'),
    '9a2c0a2e-3f0e-4a6e-9a55-0f6b6e6f4a11',
  ].sort())
  // The same file, the same ids, but where Kong makes them up.
  t.same(ids(b, 'plugins').sort(), ids(a, 'plugins').sort())
  t.same(ids(b, 'services'), ids(a, 'services'))
  t.not(ids(b, 'routes')[1], ids(a, 'routes')[1], 'an unnamed route gets a new id each time')
  t.not(ids(b, 'consumers')[1], ids(a, 'consumers')[1], 'a consumer without username too')
  t.not(ids(b, 'keyauth_credentials')[0], ids(a, 'keyauth_credentials')[0], 'a key-auth credential too (Kong 3.4+, Kong/kong#12288)')
  // References are { id } and point where they should.
  const scoped = a.entities.get('plugins')!.find((p) => p.service !== null && p.consumer !== null)!
  t.same([scoped.service, scoped.consumer], [{ id: svc }, { id: consumer }])
  t.same(a.entities.get('keyauth_credentials')![0]!.consumer, { id: consumer })
  t.same(a.entities.get('targets')![0]!.upstream, { id: upstream })
  // Dependency order: parents before children.
  const order = [...a.entities.keys()]
  t.ok(order.indexOf('services') < order.indexOf('routes') && order.indexOf('routes') < order.indexOf('plugins'))
  t.ok(order.indexOf('consumers') < order.indexOf('keyauth_credentials'))
  t.ok(order.indexOf('upstreams') < order.indexOf('targets'))
  t.equal(a.hash, configHash(text))
  t.equal(a.transform, true)
})

t.test('references: by name first, then by id; only within the file', async (t) => {
  const svc = 'd4b6c2a0-1111-4222-8333-444455556666'
  const c = parse(`
_format_version: "3.0"
services:
- id: ${svc}
  name: s1
  host: a.internal
routes:
- name: by-name
  service: s1
  paths: [/a]
- name: by-id
  service: ${svc.toUpperCase()}
  paths: [/b]
`)
  t.same(c.entities.get('routes')!.map((r) => r.service), [{ id: svc }, { id: svc }])
  const e = fails(`
_format_version: "3.0"
routes:
- name: r1
  service: nope
  paths: [/x]
- name: r2
  service: { id: ${svc} }
  paths: [/y]
`)
  t.same(e.fields, {
    routes: {
      r1: ["invalid reference 'service: nope' (no such entry in 'services')"],
      r2: [`invalid reference 'service: {"id":"${svc}"}' (no such entry in 'services')`],
    },
  })
})

t.test('nesting: children get the parent; other foreign keys must be null, the parent itself may be repeated', async (t) => {
  const c = parse(`
_format_version: "3.0"
consumers:
- username: bob
  keyauth_credentials:
  - key: k1
    consumer: bob
  - key: k2
    consumer: { username: bob }
`)
  t.same(c.entities.get('keyauth_credentials')!.map((k) => k.consumer), [{ id: stableId('consumers', 'bob') }, { id: stableId('consumers', 'bob') }])
  const e = fails(`
_format_version: "3.0"
services:
- name: s
  host: s.internal
  plugins:
  - name: rate-limiting
    consumer: someone
    config: { minute: 1 }
consumers:
- username: other
  keyauth_credentials:
  - key: k
    consumer: bob
`)
  t.same(e.fields, {
    services: [{ plugins: [{ consumer: 'value must be null' }] }],
    consumers: [{ keyauth_credentials: [{ consumer: 'value must be null' }] }],
  })
  // A nested child naming something else as its parent: a name must be null, a record is a
  // reference that cannot resolve (Kong's 03-flatten_spec and #7696).
  const byName = fails(`
_format_version: "3.0"
consumers:
- username: bob
- username: other
  keyauth_credentials:
  - key: k
    consumer: bob
`)
  t.same(byName.fields, { consumers: [null, { keyauth_credentials: [{ consumer: 'value must be null' }] }] })
  const byRecord = fails(`
_format_version: "3.0"
consumers:
- username: other
  keyauth_credentials:
  - key: k
    consumer: { username: bob }
`)
  t.same(byRecord.fields, { keyauth_credentials: { k: ['invalid reference \'consumer: {"username":"bob"}\' (no such entry in \'consumers\')'] } })
})

t.test('validation is the store\'s: defaults filled, schema and entity checks, plugins not enabled', async (t) => {
  const c = parse(`
_format_version: "3.0"
services:
- name: s
  url: https://example.internal:8443/api
`)
  t.match(c.entities.get('services')![0], { protocol: 'https', host: 'example.internal', port: 8443, path: '/api', retries: 5, connect_timeout: 60000 })
  const e = fails(`
_format_version: "3.0"
services:
- name: s
  host: s.internal
  port: 70000
  routes:
  - name: r
plugins:
- name: no-such-plugin
`)
  t.same(e.fields.services, [{ port: 'value should be between 0 and 65535', routes: [{ '@entity': ["must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https'"] }] }])
  t.same(e.fields.plugins, [{ name: "plugin 'no-such-plugin' not enabled; add it to the 'plugins' configuration property" }])
  t.equal(e.body(false).code, 14)
  t.equal(e.body(false).name, 'invalid declarative configuration')
})

t.test('uniqueness within the file: by name at the position, by primary key, other unique fields by name', async (t) => {
  const e = fails(`
_format_version: "3.0"
services:
- name: foo
  host: a
- name: foo
  host: b
upstreams:
- name: up
  targets:
  - target: 10.0.0.1:80
  - target: 10.0.0.1:80
consumers:
- username: a
  custom_id: same
- username: b
  custom_id: same
`)
  t.same(e.fields.services, [null, "uniqueness violation: 'services' entity with name set to 'foo' already declared"])
  const target = stableId('targets', `targets:*:${stableId('upstreams', 'up')}:10.0.0.1:80`)
  t.same(e.fields.upstreams, [{ targets: [null, `uniqueness violation: 'targets' entity with primary key set to '${target}' already declared`] }])
  t.same(e.fields.consumers, { b: "uniqueness violation: 'consumers' entity with custom_id set to 'same' already declared" })
  const twoGlobal = fails('_format_version: "3.0"\nplugins:\n- name: key-auth\n- name: key-auth\n')
  t.same(twoGlobal.fields.plugins, [null, `uniqueness violation: 'plugins' entity with primary key set to '${stableId('plugins', 'plugins:*:key-auth:::')}' already declared`])
})

t.test('the document: _format_version, _transform, _comment, _ignore, unknown keys', async (t) => {
  t.same(fails('services: []').fields, { _format_version: 'required field missing' })
  t.same(fails('_format_version: 3.0').fields, { _format_version: 'expected a string' })
  t.same(fails('_format_version: "4.0"').fields, { _format_version: 'expected one of: 1.1, 2.1, 3.0' })
  t.same(fails('_format_version: "3.0"\n_transform: "no"\n_comment: 1\n_ignore: x\nvaults: []\n_info: {}').fields, {
    _transform: 'expected a boolean', _comment: 'expected a string', _ignore: 'expected an array', vaults: 'unknown field', _info: 'unknown field',
  })
  t.same(fails('_format_version: "3.0"\nservices: {}').fields, { services: 'expected an array' })
  const c = parse('_format_version: "3.0"\n_transform: false\n_comment: about\n_ignore: [1, a]\nservices:\n- name: s\n  host: h\n  _comment: why\n  _ignore: [x]\n')
  t.equal(c.transform, false)
  t.same(Object.keys(c.entities.get('services')![0]!).filter((k) => k.startsWith('_')), [], '_comment and _ignore are dropped')
  t.same(ids(parse('_format_version: "3.0"'), 'services'), [], 'an empty configuration is fine')
})

t.test('text: YAML as lyaml reads it, JSON, by file extension; parse errors', async (t) => {
  const c = parse(`
_format_version: "3.0"
x-defaults: &defaults
  host: shared.internal
  retries: 2
services:
- <<: *defaults
  name: a
- <<: *defaults
  name: b
  host: y
routes:
- name: r
  service: a
  paths: [/r]
  strip_path: off
  preserve_host: yes
`.replace('x-defaults: &defaults', '_ignore:\n- &defaults'))
  const [a, b] = c.entities.get('services')!
  t.match(a, { host: 'shared.internal', retries: 2 })
  t.match(b, { host: 'y', retries: 2 }, 'y is a string, as in lyaml, not YAML 1.1\'s true')
  t.match(c.entities.get('routes')![0], { strip_path: false, preserve_host: true }, 'on/off and yes/no are booleans')

  const json = '{"_format_version":"3.0","services":[{"name":"j","host":"h"}]}'
  t.same(ids(parse(json), 'services'), [stableId('services', 'j')])
  t.same(ids(parse(json, 'kong.json'), 'services'), [stableId('services', 'j')])
  t.same(ids(parse(json, 'kong.yml'), 'services'), [stableId('services', 'j')], 'JSON is YAML too')
  t.match(fails('_format_version: "3.0"', 'kong.json').fields, { error: /^failed parsing declarative configuration: / })
  t.same(fails('_format_version: "3.0"', 'kong.conf').fields, { error: 'unknown file type: kong.conf. (Accepted types: json, yaml)' })
  t.same(fails('- a\n- b').fields, { error: 'failed parsing declarative configuration: expected an object' })
  t.match(fails('a: [').fields, { error: /^failed parsing declarative configuration: / })
})

t.test('aliases: one entry aliased twice is two entities (Kong/kong#7620)', async (t) => {
  const c = parse(`
_format_version: "3.0"
services:
- name: s1
  host: a
  plugins:
  - &rl
    name: rate-limiting
    config: { minute: 3 }
- name: s2
  host: b
  plugins:
  - *rl
`)
  const pl = c.entities.get('plugins')!
  t.equal(pl.length, 2)
  t.same(pl.map((p) => p.service), [{ id: stableId('services', 's1') }, { id: stableId('services', 's2') }])
  t.not(pl[0], pl[1])
})

t.test('format 1.1 and 2.1: route paths migrated to 3.0', async (t) => {
  t.equal(migratePath('/plain//double/./dot/../x'), '/plain/double/x')
  t.equal(migratePath('/%7Eshop'), '/~shop')
  t.equal(migratePath('/users/\\d+/profile'), '~/users/\\d+/profile')
  t.equal(migratePath('/pets$'), '~/pets$')
  t.equal(migratePath('/caf%C3%A9/(\\d+)$'), '~/café/(\\d+)$')
  const c = parse(`
_format_version: "1.1"
services:
- name: s
  host: h
  routes:
  - name: nested
    paths: ['/pets/(?<id>[^/]+)$', /plain]
routes:
- name: top
  service: s
  paths: ['/a/\\d+']
`)
  t.same(c.entities.get('routes')!.map((r) => r.paths), [['~/pets/(?<id>[^/]+)$', '/plain'], ['~/a/\\d+']])
  // In 3.0 nothing is rewritten: a regex without ~ is a path that fails its check.
  t.match(fails('_format_version: "3.0"\nroutes:\n- name: r\n  paths: ["/a/\\\\d+"]\n').fields, { routes: [{ paths: [/invalid path|non-normalized/] }] })
})

t.test('ttl on key-auth credentials: the unix time it expires, as Kong exports it; expired ones are not loaded', async (t) => {
  const now = Math.floor(Date.now() / 1000)
  const c = parse(`_format_version: "3.0"\nconsumers:\n- username: u\n  keyauth_credentials:\n  - key: k\n    ttl: ${now + 3600}\n  - key: old\n    ttl: ${now - 1}\n  - key: forever\n    ttl: ~\n`)
  t.equal(c.entities.get('keyauth_credentials')![0]!.ttl, now + 3600)
  const s = tempStore(t, { plugins, entities: plugins.entities() })
  await s.replaceAll(c.entities, { hash: c.hash, validated: true })
  t.same(s.list('keyauth_credentials').data.map((k) => k.key).sort(), ['forever', 'k'])
  const ttl = s.list('keyauth_credentials', { size: 10 }).data.find((k) => k.key === 'k')!.ttl as number
  t.ok(ttl > 3500 && ttl <= 3600, `seconds left, as the Admin API shows them (${ttl})`)
  t.same(fails('_format_version: "3.0"\nconsumers:\n- username: u\n  keyauth_credentials:\n  - key: k\n    ttl: soon\n').fields,
    { consumers: [{ keyauth_credentials: [{ ttl: 'expected an integer' }] }] })
})

t.test('errors: the flattened form and the CLI text', async (t) => {
  const e = fails(`
_format_version: "3.0"
unknown_thing: 1
services:
- name: bad
  host: h
  port: -1
  tags: [ok, "a,b"]
  routes:
  - name: r
    protocols: [ftp]
    paths: [/r]
`)
  const body = e.body(true)
  t.same(body.fields, { unknown_thing: 'unknown field' })
  t.equal(body.message, 'declarative config is invalid: {unknown_thing="unknown field"}')
  const flat = body.flattened_errors as any[]
  t.equal(flat.length, 2)
  t.match(flat[0], {
    entity_type: 'service',
    entity_name: 'bad',
    entity: { name: 'bad', host: 'h', port: -1 },
    // Kong's order: fields descending.
    errors: [
      { type: 'field', field: 'tags.2', message: /invalid tag 'a,b'/ },
      { type: 'field', field: 'port', message: 'value should be between 0 and 65535' },
    ],
  })
  t.notOk('entity_id' in flat[0], 'an id Kong derives after validation is not shown for an entry that failed it')
  t.match(flat[1], { entity_type: 'route', entity_name: 'r', errors: [{ type: 'field', field: 'protocols.1' }] })
  t.notOk('service' in flat[1].entity, 'nor its parent\'s')
  const late = fails('_format_version: "3.0"\nservices:\n- name: s\n  host: h\n  routes:\n  - name: r\n    paths: [/a]\n  - name: r\n    paths: [/b]\n').body(true)
  t.match((late.flattened_errors as any[])[0], { entity_id: stableId('routes', 'r'), entity: { id: stableId('routes', 'r'), service: { id: stableId('services', 's') } }, errors: [{ type: 'entity', message: /uniqueness violation: 'routes' entity with name set to 'r'/ }] })
  t.notOk('routes' in flat[0].entity, 'nested children are taken out of the parent\'s entity')
  const text = e.pretty()
  t.match(text, /^Failed parsing:\n/)
  t.match(text, /in 'unknown_thing': unknown field/)
  t.match(text, /in 'services':\n {2}- in entry 1 of 'services':\n {4}in 'port': value should be between 0 and 65535/)
})

t.test('certificates with nested snis, ca_certificates with their digest (Kong 3.2 entities)', async (t) => {
  const a = pair('a-rsa')
  const doc = {
    _format_version: '3.0',
    certificates: [{ ...a, tags: ['t'], snis: [{ name: 'a.example.test' }, { name: '*.wild.example.test' }] }],
    snis: [{ name: 'b.example.test', certificate: 'nope' }],
    ca_certificates: [{ cert: pem('ca-cert') }],
  }
  const e = fails(JSON.stringify(doc))
  t.same(e.fields.snis, { 'b.example.test': ["invalid reference 'certificate: nope' (no such entry in 'certificates')"] })

  const certId = '11111111-2222-4333-8444-555555555555'
  const ok = parse(JSON.stringify({ ...doc, certificates: [{ ...doc.certificates[0], id: certId }], snis: [{ name: 'b.example.test', certificate: certId }] }))
  const [cert] = ok.entities.get('certificates')!
  t.match(cert, { id: certId, cert: a.cert, key: a.key, cert_alt: null, tags: ['t'] })
  t.notOk('snis' in cert!, 'the nested list is taken out of its certificate')
  const snis = ok.entities.get('snis')!
  t.same(snis.map((s) => [s.name, s.certificate]).sort(), [['*.wild.example.test', { id: certId }], ['a.example.test', { id: certId }], ['b.example.test', { id: certId }]])
  t.equal(snis.find((s) => s.name === 'a.example.test')!.id, stableId('snis', 'a.example.test'), "an sni's id derives from its name")
  const [ca] = ok.entities.get('ca_certificates')!
  t.match(ca!.cert_digest, /^[0-9a-f]{64}$/, 'the digest is computed (_transform)')

  // The schemas' checks apply: a key of another certificate, a non-CA, a bad SNI name.
  const bad = fails(JSON.stringify({
    _format_version: '3.0',
    certificates: [{ cert: a.cert, key: pem('b-rsa-key'), snis: [{ name: 'a.*.test' }] }],
    ca_certificates: [{ cert: pem('noca-cert') }],
  }))
  t.same(bad.fields, {
    certificates: [{ '@entity': ['certificate does not match key'], snis: [{ name: 'wildcard must be leftmost or rightmost character' }] }],
    ca_certificates: [{ '@entity': ['certificate does not appear to be a CA because it is missing the "CA" basic constraint'] }],
  })
})
