// Kong's spec/01-unit/01-db/10-declarative_spec.lua (Kong/kong 22246ef, 3.10.0), ported
// (issue #18) against parseDeclarative. Kong's `dc:parse_string` / `dc:parse_table` are
// parseDeclarative with a string / an object.
//
// Adapted: "parse nested entities correctly" nests basic-auth credentials under a consumer
// and SNIs under a certificate; Kong's fixture pair (kong_clustering.crt) → test/fixtures/tls
// a-rsa. Kong reads the SNI back through the certificate's transient `snis`; Tollgate's
// parse has no such back reference, so the check is the sni row's `certificate`.
// Skipped, and why:
//   - describe("unique_field_key()") (2 cases): the format of Kong's LMDB unique-field keys
//     ("U|services|fieldname|<ws>|<sha256>"), an internal of Kong's storage; Tollgate's store
//     indexes unique fields its own way.
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { byId, declarativeStore, kongId, parseOk } from '../helpers/declarative.js'
import { pair } from '../helpers/tls.js'

t.test('10-declarative_spec.lua describe("declarative")', async (t) => {
  const store = declarativeStore(t)

  t.test('10-declarative_spec: parse_string converts lyaml.null to ngx.null', async (t) => {
    const config = parseOk(t, store, `
      _format_version: "1.1"
      routes:
        - name: null
          paths:
          - /
    `)
    const routes = config?.entities.get('routes') ?? []
    t.equal(routes.length, 1)
    t.equal(routes[0]?.name, null)
    t.same(routes[0]?.paths, ['/'])
  })

  t.test('10-declarative_spec: ttl fields are accepted in DB-less schema validation', async (t) => {
    const config = parseOk(t, store, `
      _format_version: '2.1'
      consumers:
      - custom_id: ~
        id: e150d090-4d53-4e55-bff8-efaaccd34ec4
        tags: ~
        username: bar@example.com
      services:
      keyauth_credentials:
      - created_at: 1593624542
        id: 3f9066ef-b91b-4d1d-a05a-28619401c1ad
        tags: ~
        ttl: ~
        key: test
        consumer: e150d090-4d53-4e55-bff8-efaaccd34ec4
    `)
    const credential = byId(config, 'keyauth_credentials')['3f9066ef-b91b-4d1d-a05a-28619401c1ad']
    t.ok(credential, 'the credential')
    t.equal(credential?.ttl ?? null, null, 'no ttl')
    t.equal(credential?.created_at, 1593624542)
  })

  t.test('10-declarative_spec: parse nested entities correctly', async (t) => {
    const certId = randomUUID()
    const sniId = randomUUID()
    const config = parseOk(t, store, {
      _format_version: '3.0',
      certificates: [{ ...pair('a-rsa'), id: certId, snis: [{ id: sniId, name: 'alpha.example' }] }],
      consumers: [{ username: 'consumerA', basicauth_credentials: [{ username: 'qwerty', password: 'qwerty' }] }],
    })
    t.ok(config?.entities.get('snis'))
    t.same(byId(config, 'snis')[sniId], { ...byId(config, 'snis')[sniId], name: 'alpha.example', certificate: { id: certId } })
    t.ok(byId(config, 'certificates')[certId], 'the certificate')
    const consumerId = kongId('consumers', 'consumerA')
    t.same(Object.keys(byId(config, 'consumers')), [consumerId])
    const credentials = Object.values(byId(config, 'basicauth_credentials'))
    t.equal(credentials.length, 1)
    t.same(credentials[0]?.consumer, { id: consumerId })
  })
})
