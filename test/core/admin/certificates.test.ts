// Kong's certificates, snis and ca_certificates through the Admin API (kong/api/routes/
// certificates.lua, kong/db/dao/certificates.lua and snis.lua, the entity schemas of
// Kong 3.2), over HTTP on 127.0.0.1 with an LMDB store in a temp dir.

import t from 'tap'
import { startAdmin, storeDump } from '../../helpers/admin.js'
import { pair, pem } from '../../helpers/tls.js'

const A = pair('a-rsa')
const A_EC = pair('a-ecdsa')
const B = pair('b-rsa')
const WILD = pair('wild-ecdsa')

t.test('create, list, get by id and by SNI, with the snis sorted', async (t) => {
  const api = await startAdmin(t)
  let r = await api.call('POST', '/certificates', { json: { ...A, snis: ['z.example.test', 'a.example.test'], tags: ['t1'] } })
  t.equal(r.status, 201, 'written')
  const cert = r.body
  t.same(cert.snis, ['a.example.test', 'z.example.test'])
  t.match(cert, { cert: A.cert, key: A.key, cert_alt: null, key_alt: null, tags: ['t1'] })
  t.type(cert.created_at, 'number')
  t.notOk('updated_at' in cert, 'Kong 3.2 certificates have no updated_at')

  r = await api.call('GET', `/certificates/${cert.id as string}`)
  t.same([r.status, r.body], [200, cert])
  r = await api.call('GET', '/certificates/z.example.test')
  t.same([r.status, r.body.id, r.body.snis], [200, cert.id, ['a.example.test', 'z.example.test']], 'an SNI name stands for its certificate')
  r = await api.call('GET', '/certificates/nope.example.test')
  t.same([r.status, r.body], [404, { message: 'SNI not found' }])
  r = await api.call('GET', '/certificates/00000000-0000-4000-8000-000000000001')
  t.same([r.status, r.body], [404, { message: 'Not found' }])

  r = await api.call('POST', '/certificates', { json: { ...B } })
  t.same([r.status, r.body.snis], [201, []], 'no snis: an empty list')
  r = await api.call('GET', '/certificates')
  t.equal(r.body.data.length, 2)
  t.same(r.body.data.find((c: { id: string }) => c.id === cert.id).snis, ['a.example.test', 'z.example.test'], 'lists carry snis too')

  r = await api.call('GET', '/snis')
  t.same(r.body.data.map((s: { name: string }) => s.name).sort(), ['a.example.test', 'z.example.test'])
  r = await api.call('GET', '/snis/a.example.test')
  t.match(r.body, { name: 'a.example.test', certificate: { id: cert.id }, tags: null })
  t.equal((await api.call('GET', '/snis/a.example.test/certificate')).status, 404, 'Kong disables /snis/{s}/certificate')

  // Form bodies, snis[] as a list.
  r = await api.call('POST', '/certificates', { form: { cert: WILD.cert, key: WILD.key, 'snis[1]': '*.wild.example.test' } })
  t.same([r.status, r.body.snis], [201, ['*.wild.example.test']], 'written')
})

t.test('SNIs: nested endpoints, a name used by another certificate, duplicates, wildcards', async (t) => {
  const api = await startAdmin(t)
  const a = (await api.call('POST', '/certificates', { json: { ...A, snis: ['a.example.test'] } })).body
  const b = (await api.call('POST', '/certificates', { json: { ...B } })).body

  let r = await api.call('POST', `/certificates/${b.id as string}/snis`, { json: { name: 'b.example.test' } })
  t.match([r.status, r.body], [201, { name: 'b.example.test', certificate: { id: b.id } }], 'written')
  r = await api.call('GET', '/certificates/a.example.test/snis')
  t.same([r.status, r.body.data.map((s: { name: string }) => s.name)], [200, ['a.example.test']], 'the nested list, by SNI name')
  r = await api.call('GET', `/certificates/${b.id as string}`)
  t.same(r.body.snis, ['b.example.test'])

  const before = storeDump(api.store)
  r = await api.call('POST', '/certificates', { json: { ...B, snis: ['new.example.test', 'a.example.test'] } })
  t.same([r.status, r.body.fields], [400, { snis: `a.example.test already associated with existing certificate '${a.id as string}'` }])
  r = await api.call('PATCH', `/certificates/${b.id as string}`, { json: { snis: ['a.example.test'] } })
  t.same([r.status, r.body.fields], [400, { snis: `a.example.test already associated with existing certificate '${a.id as string}'` }])
  r = await api.call('POST', '/certificates', { json: { ...B, snis: ['x.example.test', 'x.example.test'] } })
  t.same([r.status, r.body.fields], [400, { snis: 'x.example.test is duplicated' }])
  r = await api.call('POST', `/certificates/${b.id as string}/snis`, { json: { name: 'a.example.test' } })
  t.same([r.status, r.body.name], [409, 'unique constraint violation'], 'a second sni row of a name')
  r = await api.call('POST', '/snis', { json: { name: 'a.*.test', certificate: { id: b.id } } })
  t.same([r.status, r.body.fields], [400, { name: 'wildcard must be leftmost or rightmost character' }])
  r = await api.call('POST', '/snis', { json: { name: '*.x.*', certificate: { id: b.id } } })
  t.same([r.status, r.body.fields], [400, { name: 'only one wildcard must be specified' }])
  r = await api.call('POST', '/snis', { json: { name: 'x.example.test:443', certificate: { id: b.id } } })
  t.same([r.status, r.body.fields], [400, { name: 'must not have a port' }])
  r = await api.call('POST', '/snis', { json: { name: '10.0.0.1', certificate: { id: b.id } } })
  t.same([r.status, r.body.fields], [400, { name: 'must not be an IP' }])
  r = await api.call('POST', '/snis', { json: { name: 'x.example.test' } })
  t.same([r.status, r.body.fields], [400, { certificate: 'required field missing' }])
  t.equal(storeDump(api.store), before, 'nothing stored by the refused writes')

  r = await api.call('POST', '/snis', { json: { name: 'example.*', certificate: { id: b.id } } })
  t.equal(r.status, 201, 'a rightmost wildcard')
})

t.test('PATCH and PUT replace the snis when given; DELETE cascades', async (t) => {
  const api = await startAdmin(t)
  const a = (await api.call('POST', '/certificates', { json: { ...A, snis: ['a.example.test', 'old.example.test'] } })).body
  let r = await api.call('PATCH', '/certificates/old.example.test', { json: { tags: ['x'] } })
  t.same([r.status, r.body.tags, r.body.snis], [200, ['x'], ['a.example.test', 'old.example.test']], 'no snis: kept')
  r = await api.call('PATCH', `/certificates/${a.id as string}`, { json: { snis: ['a.example.test', 'new.example.test'] } })
  t.same([r.status, r.body.snis], [200, ['a.example.test', 'new.example.test']])
  t.equal((await api.call('GET', '/snis/old.example.test')).status, 404, 'the dropped name is deleted')
  r = await api.call('PATCH', '/certificates/nope.example.test', { json: { tags: ['x'] } })
  t.same([r.status, r.body], [404, { message: 'SNI not found' }])

  // PUT by a name adds the name to the given list (Kong's prepare_args).
  r = await api.call('PUT', '/certificates/a.example.test', { json: { ...A_EC, snis: ['c.example.test'] } })
  t.same([r.status, r.body.id, r.body.snis, r.body.cert], [200, a.id, ['a.example.test', 'c.example.test'], A_EC.cert], 'written')
  // PUT by a new name makes a new certificate with that name.
  r = await api.call('PUT', '/certificates/fresh.example.test', { json: { ...B, snis: [] } })
  t.equal(r.status, 200, 'written')
  t.not(r.body.id, a.id)
  t.same(r.body.snis, ['fresh.example.test'])
  const fresh = r.body

  r = await api.call('DELETE', '/certificates/fresh.example.test')
  t.equal(r.status, 204)
  t.equal((await api.call('GET', `/certificates/${fresh.id as string}`)).status, 404)
  t.equal((await api.call('GET', '/snis/fresh.example.test')).status, 404, 'its snis went with it')
  r = await api.call('DELETE', '/certificates/fresh.example.test')
  t.same([r.status, r.body], [404, { message: 'SNI not found' }])
  r = await api.call('DELETE', `/certificates/${a.id as string}`)
  t.equal(r.status, 204)
  t.same((await api.call('GET', '/snis')).body.data, [])
})

t.test("certificates: Kong's checks of cert, key and the alternative pair", async (t) => {
  const api = await startAdmin(t)
  const before = storeDump(api.store)
  const violation = async (body: unknown, fields: unknown): Promise<void> => {
    const r = await api.call('POST', '/certificates', { json: body })
    t.same([r.status, r.body.name, r.body.fields], [400, 'schema violation', fields], JSON.stringify(fields))
  }
  await violation({ cert: A.cert, key: B.key }, { '@entity': ['certificate does not match key'] })
  await violation({ ...A, cert_alt: A_EC.cert, key_alt: B.key }, { '@entity': ['alternative certificate does not match key'] })
  await violation({ ...A, cert_alt: B.cert, key_alt: B.key }, {
    '@entity': ['certificate and alternative certificate need to have different type (e.g. RSA and ECDSA), the provided certificates were both of the same type'],
  })
  await violation({ ...A, cert_alt: A_EC.cert }, { '@entity': ["all or none of these fields must be set: 'cert_alt', 'key_alt'"] })
  await violation({ key: A.key }, { cert: 'required field missing' })
  let r = await api.call('POST', '/certificates', { json: { cert: 'nope', key: 'nope' } })
  t.equal(r.status, 400)
  t.match(r.body.fields, { cert: /^invalid certificate: /, key: /^invalid key: / })
  t.equal(storeDump(api.store), before, 'nothing stored')

  r = await api.call('POST', '/certificates', { json: { ...A, cert_alt: A_EC.cert, key_alt: A_EC.key, snis: ['a.example.test'] } })
  t.same([r.status, r.body.cert_alt, r.body.key_alt], [201, A_EC.cert, A_EC.key], 'RSA with an ECDSA alternative')
  r = await api.call('PATCH', `/certificates/${r.body.id as string}`, { json: { key: B.key } })
  t.same([r.status, r.body.fields], [400, { '@entity': ['certificate does not match key'] }], 'checked on PATCH too')
})

t.test('ca_certificates: one CA certificate, its digest computed', async (t) => {
  const api = await startAdmin(t)
  let r = await api.call('POST', '/ca_certificates', { json: { cert: pem('ca-cert') } })
  t.equal(r.status, 201, 'written')
  t.match(r.body.cert_digest, /^[0-9a-f]{64}$/)
  const ca = r.body
  r = await api.call('POST', '/ca_certificates', { json: { cert: pem('ca-cert') } })
  t.same([r.status, r.body.name], [409, 'unique constraint violation'], 'the same certificate twice')
  r = await api.call('POST', '/ca_certificates', { json: { cert: pem('noca-cert') } })
  t.same([r.status, r.body.fields], [400, { '@entity': ['certificate does not appear to be a CA because it is missing the "CA" basic constraint'] }])
  r = await api.call('POST', '/ca_certificates', { json: { cert: pem('ca-cert') + pem('ca2-cert') } })
  t.same([r.status, r.body.fields], [400, { '@entity': ['please submit only one certificate at a time'] }])
  r = await api.call('PATCH', `/ca_certificates/${ca.id as string}`, { json: { cert: pem('ca2-cert') } })
  t.equal(r.status, 200)
  t.not(r.body.cert_digest, ca.cert_digest, 'a new cert, a new digest')

  // services.ca_certificates: ids of rows that exist.
  r = await api.call('POST', '/services', { json: { name: 's', url: 'https://s.test', ca_certificates: [ca.id], tls_verify: true } })
  t.same([r.status, r.body.ca_certificates], [201, [ca.id]], 'written')
  r = await api.call('POST', '/services', { json: { name: 's2', url: 'https://s.test', ca_certificates: ['00000000-0000-4000-8000-000000000009'] } })
  t.same([r.status, r.body.name], [400, 'foreign key violation'])
})

t.test('services and upstreams: client_certificate names a certificate', async (t) => {
  const api = await startAdmin(t)
  const cert = (await api.call('POST', '/certificates', { json: { ...pair('client'), snis: ['client.example.test'] } })).body
  let r = await api.call('POST', '/services', { json: { name: 's', url: 'https://s.test', client_certificate: { id: cert.id } } })
  t.same([r.status, r.body.client_certificate], [201, { id: cert.id }], 'written')
  r = await api.call('GET', '/services/s/client_certificate')
  t.same([r.status, r.body.id], [200, cert.id])
  r = await api.call('GET', `/certificates/${cert.id as string}/services`)
  t.same([r.status, r.body.data.map((s: { name: string }) => s.name)], [200, ['s']])
  r = await api.call('GET', '/certificates/client.example.test/services')
  t.same([r.status, r.body.data.length], [200, 1], 'by SNI name')
  r = await api.call('POST', '/upstreams', { json: { name: 'u', client_certificate: { id: cert.id } } })
  t.same([r.status, r.body.client_certificate], [201, { id: cert.id }])
  r = await api.call('DELETE', `/certificates/${cert.id as string}`)
  t.same([r.status, r.body.name], [400, 'foreign key violation'], 'a referenced certificate stays')
})
