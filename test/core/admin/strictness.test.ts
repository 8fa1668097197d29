// Where Kong is strict, Tollgate is too: a reference to a certificate or CA certificate
// that does not exist (services' client_certificate and ca_certificates) is never stored,
// routes' snis are checked as Kong's `sni` typedef checks them, and a PUT body's id of the
// wrong type is a schema violation. Every case goes through the Admin API over HTTP, on
// every path that writes, with JSON and form bodies, and checks that a refused write
// stored nothing.

import t, { type Test } from 'tap'
import { startAdmin, storeDump, type AdminClient } from '../../helpers/admin.js'
import { pair, pem } from '../../helpers/tls.js'

const CERT = '123e4567-e89b-12d3-a456-426655440000'
const OTHER = '123e4567-e89b-12d3-a456-426655440001'
const NEW_ID = '00000000-0000-4000-8000-00000000abcd'

/** Kong's body for a reference to a row that does not exist (kong/db/errors.lua). */
function fkViolation (field: string, id: string, entity: string): Record<string, unknown> {
  return {
    code: 4,
    name: 'foreign key violation',
    message: `the foreign key '{id="${id}"}' does not reference an existing '${entity}' entity.`,
    fields: { [field]: { id } },
  }
}

/** Kong's body for one bad element of routes' `snis`. */
function sniRefused (message: string): Record<string, unknown> {
  return { code: 2, name: 'schema violation', message: `schema violation (snis.1: ${message})`, fields: { snis: [message] } }
}

type Call = Parameters<AdminClient['call']>

/** Sends a request that must be refused with `status` and `body`, and must store nothing. */
async function refused (t: Test, api: AdminClient, [method, path, opts]: Call, status: number, body: unknown): Promise<void> {
  const before = storeDump(api.store)
  const r = await api.call(method, path, opts)
  t.same([r.status, r.body], [status, body], `${method} ${path} ${JSON.stringify(opts?.json ?? opts?.form ?? '')}`)
  t.equal(storeDump(api.store), before, `${method} ${path}: nothing stored`)
}

async function fixtures (api: AdminClient) {
  const tls = (await api.call('POST', '/services', { json: { name: 'tls', url: 'https://tls.test' } })).body
  const plain = (await api.call('POST', '/services', { json: { name: 'plain', url: 'http://plain.test' } })).body
  const route = (await api.call('POST', '/routes', { json: { name: 'r', paths: ['/r'], service: { id: tls.id } } })).body
  return { tls, plain, route }
}

t.test('services.client_certificate: an id that names no certificate is a foreign key violation', async (t) => {
  const api = await startAdmin(t)
  const { route } = await fixtures(api)
  const fk = fkViolation('client_certificate', CERT, 'certificates')
  const cc = { client_certificate: { id: CERT } }
  await refused(t, api, ['POST', '/services', { json: { name: 'n', url: 'https://n.test', ...cc } }], 400, fk)
  await refused(t, api, ['POST', '/services', { form: `name=n&url=https://n.test&client_certificate.id=${CERT}` }], 400, fk)
  await refused(t, api, ['PUT', `/services/${NEW_ID}`, { json: { url: 'https://n.test', ...cc } }], 400, fk)
  await refused(t, api, ['PUT', '/services/tls', { json: { url: 'https://tls.test', ...cc } }], 400, fk)
  await refused(t, api, ['PATCH', '/services/tls', { json: cc }], 400, fk)
  await refused(t, api, ['PATCH', '/services/tls', { form: `client_certificate.id=${CERT.toUpperCase()}` }], 400, fkViolation('client_certificate', CERT, 'certificates'))
  await refused(t, api, ['PATCH', `/routes/${route.id as string}/service`, { json: cc }], 400, fk)
  await refused(t, api, ['PUT', '/routes/r/service', { json: { url: 'https://tls.test', ...cc } }], 400, fk)

  // Kong checks the schema and its entity checks first: on an http service the field must
  // be null (the body of Kong's spec/02-integration/03-db/02-db_core_entities_spec.lua).
  await refused(t, api, ['POST', '/services', { json: { name: 'n', url: 'http://n.test', ...cc } }], 400, {
    code: 2,
    name: 'schema violation',
    message: "2 schema violations (failed conditional validation given value of field 'protocol'; client_certificate: value must be null)",
    fields: { '@entity': ["failed conditional validation given value of field 'protocol'"], client_certificate: 'value must be null' },
  })
  await refused(t, api, ['POST', '/services', { json: { name: 'n', url: 'https://n.test', client_certificate: { id: 'nope' } } }], 400, {
    code: 2, name: 'schema violation', message: 'schema violation (client_certificate.id: expected a valid UUID)', fields: { client_certificate: { id: 'expected a valid UUID' } },
  })
  // Certificates have no unique field to find one by.
  await refused(t, api, ['POST', '/services', { form: 'name=n&url=https://n.test&client_certificate.name=c' }], 400, {
    code: 2, name: 'schema violation', message: 'schema violation (client_certificate.id: missing primary key)', fields: { client_certificate: { id: 'missing primary key' } },
  })
  await refused(t, api, ['POST', '/services', { json: { name: 'n', url: 'https://n.test', client_certificate: CERT } }], 400, {
    code: 2, name: 'schema violation', message: 'schema violation (client_certificate: expected a record)', fields: { client_certificate: 'expected a record' },
  })

  // null is no certificate, as before.
  let r = await api.call('PATCH', '/services/tls', { json: { client_certificate: null } })
  t.same([r.status, r.body.client_certificate], [200, null])
  r = await api.call('POST', '/services', { form: 'name=n&url=https://n.test&client_certificate=' })
  t.same([r.status, r.body.client_certificate], [201, null], 'an empty form value is null')

  // Kong's foreign-key endpoints: nothing behind a null reference or an unknown certificate.
  t.same((await api.call('GET', '/services/tls/client_certificate')).status, 404)
  t.same((await api.call('GET', `/certificates/${CERT}/services`)).status, 404)
  const endpoints = (await api.call('GET', '/endpoints')).body.data as string[]
  for (const e of ['/certificates/{key}', '/certificates/{parent}/services', '/services/{key}/client_certificate', '/upstreams/{key}/client_certificate', '/snis/{key}', '/ca_certificates/{key}']) {
    t.ok(endpoints.includes(e), e)
  }
  t.same((await api.call('GET', '/schemas/services')).body.fields.find((f: Record<string, unknown>) => 'client_certificate' in f),
    { client_certificate: { type: 'foreign', reference: 'certificates', description: 'Certificate presented to the upstream (https only)' } }, "Kong's schema: a foreign key to certificates")

  // A certificate that exists is taken.
  const cert = (await api.call('POST', '/certificates', { json: pair('client') })).body
  r = await api.call('PATCH', '/services/tls', { json: { client_certificate: { id: cert.id } } })
  t.same([r.status, r.body.client_certificate], [200, { id: cert.id }])
  r = await api.call('GET', '/services/tls/client_certificate')
  t.same([r.status, r.body.id], [200, cert.id])
})

t.test('services.ca_certificates: Kong 3.2 would store any UUID; Tollgate refuses one that names no CA certificate', async (t) => {
  const api = await startAdmin(t)
  const { route } = await fixtures(api)
  const fk = fkViolation('ca_certificates', CERT, 'ca_certificates')
  await refused(t, api, ['POST', '/services', { json: { name: 'n', url: 'https://n.test', ca_certificates: [CERT, OTHER] } }], 400, fk)
  await refused(t, api, ['POST', '/services', { form: `name=n&url=https://n.test&ca_certificates=${CERT}` }], 400, fk)
  await refused(t, api, ['POST', '/services', { form: `name=n&url=https://n.test&ca_certificates[]=${CERT}&ca_certificates[]=${OTHER}` }], 400, fk)
  await refused(t, api, ['PUT', `/services/${NEW_ID}`, { json: { url: 'https://n.test', ca_certificates: [CERT] } }], 400, fk)
  await refused(t, api, ['PATCH', '/services/tls', { json: { ca_certificates: [CERT] } }], 400, fk)
  await refused(t, api, ['PATCH', `/routes/${route.id as string}/service`, { form: `ca_certificates=${CERT}` }], 400, fk)
  await refused(t, api, ['POST', '/services', { json: { name: 'n', url: 'http://n.test', ca_certificates: [CERT] } }], 400, {
    code: 2,
    name: 'schema violation',
    message: "2 schema violations (failed conditional validation given value of field 'protocol'; ca_certificates: value must be null)",
    fields: { '@entity': ["failed conditional validation given value of field 'protocol'"], ca_certificates: 'value must be null' },
  })
  await refused(t, api, ['POST', '/services', { json: { name: 'n', url: 'https://n.test', ca_certificates: ['nope'] } }], 400, {
    code: 2, name: 'schema violation', message: 'schema violation (ca_certificates.1: expected a valid UUID)', fields: { ca_certificates: ['expected a valid UUID'] },
  })
  // Each failed conditional is reported, as Kong's entity checks do.
  await refused(t, api, ['PATCH', '/services/plain', { json: { ca_certificates: [CERT], tls_verify: true } }], 400, {
    code: 2,
    name: 'schema violation',
    message: "4 schema violations (failed conditional validation given value of field 'protocol'; failed conditional validation given value of field 'protocol'; ca_certificates: value must be null; tls_verify: value must be null)",
    fields: {
      '@entity': ["failed conditional validation given value of field 'protocol'", "failed conditional validation given value of field 'protocol'"],
      ca_certificates: 'value must be null',
      tls_verify: 'value must be null',
    },
  })
  let r = await api.call('PATCH', '/services/tls', { json: { ca_certificates: [] } })
  t.same([r.status, r.body.ca_certificates], [200, []], 'an empty list names no CA certificate')
  const ca = (await api.call('POST', '/ca_certificates', { json: { cert: pem('ca-cert') } })).body
  await refused(t, api, ['PATCH', '/services/tls', { json: { ca_certificates: [ca.id, CERT] } }], 400, fk)
  r = await api.call('PATCH', '/services/tls', { form: `ca_certificates=${ca.id as string}` })
  t.same([r.status, r.body.ca_certificates], [200, [ca.id]], 'an id that names a CA certificate is taken')
})

t.test("routes.snis: Kong 3.2's sni typedef on every path that writes a route", async (t) => {
  const api = await startAdmin(t)
  const { route } = await fixtures(api)
  const rid = route.id as string
  const written = async (call: Call, snis: string[]): Promise<void> => {
    const [method, path, opts] = call
    const r = await api.call(method, path, opts)
    t.same([r.status < 300, r.body?.snis], [true, snis], `${method} ${path} ${JSON.stringify(opts?.json ?? opts?.form ?? '')}`)
  }
  await written(['POST', '/routes', { json: { paths: ['/x'], snis: ['a.test'] } }], ['a.test'])
  await written(['POST', '/routes', { json: { protocols: ['https'], snis: ['a.test'] } }], ['a.test'])
  await written(['POST', '/routes', { form: 'paths=/x&snis=a.test' }], ['a.test'])
  await written(['POST', '/services/tls/routes', { form: 'paths[]=/x&snis[]=a.test&snis[]=b.test&snis[]=a.test' }], ['a.test', 'b.test'])
  await written(['PUT', `/services/tls/routes/${rid}`, { json: { paths: ['/r'], snis: ['a.test'] } }], ['a.test'])
  await written(['PATCH', `/routes/${rid}`, { json: { snis: ['c.test'] } }], ['c.test'])
  await written(['PATCH', `/services/tls/routes/${rid}`, { form: 'snis=d.test' }], ['d.test'])

  // No wildcard (Kong 3.2's routes), no IP address, no port; names as Kong's check_hostname reads them.
  await refused(t, api, ['PUT', '/routes/new-route', { json: { paths: ['/x'], snis: ['*.a.test'] } }], 400, sniRefused('invalid value: *.a.test'))
  await refused(t, api, ['POST', '/routes', { json: { paths: ['/x'], snis: ['a..b'] } }], 400, sniRefused('invalid value: a..b'))
  await refused(t, api, ['POST', '/routes', { json: { paths: ['/x'], snis: ['10.0.0.1'] } }], 400, sniRefused('must not be an IP'))
  await refused(t, api, ['POST', '/routes', { json: { paths: ['/x'], snis: ['::1'] } }], 400, sniRefused('must not be an IP'))
  await refused(t, api, ['PATCH', `/routes/${rid}`, { json: { snis: ['a.test:443'] } }], 400, sniRefused('must not have a port'))
  // On an http-only route, Kong's conditional check.
  const http = await api.call('POST', '/routes', { json: { protocols: ['http'], paths: ['/x'], snis: ['a.test'] } })
  t.same([http.status, http.body.fields], [400, { snis: "'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'" }])
  // No SNI at all is fine: null, an empty list, an empty form value.
  for (const body of [{ json: { paths: ['/n1'], snis: null } }, { json: { paths: ['/n2'], snis: [] } }, { form: 'paths=/n3&snis=' }]) {
    const r = await api.call('POST', '/routes', body)
    t.equal(r.status, 201, JSON.stringify(body))
  }
  // The dry run checks them the same way.
  const v = await api.call('POST', '/schemas/routes/validate', { json: { paths: ['/x'], snis: ['a.test:1'] } })
  t.same([v.status, v.body], [400, sniRefused('must not have a port')])
})

t.test('PUT: a body id of the wrong type is a schema violation; a valid one loses to the URL', async (t) => {
  const api = await startAdmin(t)
  const { tls, route } = await fixtures(api)
  const rid = route.id as string
  const violation = (msg: string) => ({ code: 2, name: 'schema violation', message: `schema violation (id: ${msg})`, fields: { id: msg } })
  const string = violation('expected a string')
  const uuid = violation('expected a valid UUID')
  const cases: Array<[unknown, Record<string, unknown>]> = [[5, string], [1.5, string], [true, string], [{}, string], [{ id: NEW_ID }, string], [[NEW_ID], string], ['abc', uuid], ['', violation('length must be at least 1')], [`${NEW_ID}x`, uuid]]
  for (const [id, body] of cases) {
    await refused(t, api, ['PUT', `/services/${NEW_ID}`, { json: { id, host: 'n.test' } }], 400, body)
    await refused(t, api, ['PUT', `/services/${tls.id as string}`, { json: { id, host: 'tls.test' } }], 400, body)
    await refused(t, api, ['PUT', '/services/by-name', { json: { id, host: 'n.test' } }], 400, body)
    await refused(t, api, ['PUT', `/services/tls/routes/${rid}`, { json: { id, paths: ['/r'] } }], 400, body)
    await refused(t, api, ['PUT', `/routes/${rid}/service`, { json: { id, host: 'tls.test' } }], 400, body)
    await refused(t, api, ['PUT', `/consumers/${NEW_ID}`, { json: { id, username: 'u' } }], 400, body)
  }
  // A form carries strings only: `id=123` is a string that is no UUID.
  await refused(t, api, ['PUT', `/services/${NEW_ID}`, { form: 'id=123&host=n.test' }], 400, uuid)
  await refused(t, api, ['PUT', `/services/${NEW_ID}`, { form: 'id[]=1&host=n.test' }], 400, string)
  // PATCH validates the id it merges in the same way.
  await refused(t, api, ['PATCH', '/services/tls', { json: { id: 5 } }], 400, string)

  // Kong validates a body id, then the URL's id replaces it (kong/db/strategies/postgres:
  // the primary key is collapsed over the entity): the row keeps the URL's id.
  let r = await api.call('PUT', `/services/${NEW_ID}`, { json: { id: CERT, host: 'n.test' } })
  t.same([r.status, r.body.id], [200, NEW_ID], 'created under the URL id')
  t.equal((await api.call('GET', `/services/${CERT}`)).status, 404, 'nothing under the body id')
  r = await api.call('PUT', `/services/${tls.id as string}`, { json: { id: CERT.toUpperCase(), host: 'tls2.test' } })
  t.same([r.status, r.body.id, r.body.host], [200, tls.id, 'tls2.test'], 'replaced under the URL id')
  r = await api.call('PUT', `/services/${NEW_ID.toUpperCase()}`, { json: { id: null, host: 'n2.test' } })
  t.same([r.status, r.body.id, r.body.host], [200, NEW_ID, 'n2.test'], 'a null id is no id; the URL id is matched without case')
  t.equal((await api.call('GET', '/services')).body.data.length, 3, 'no other service was made')

  // By name, a body id that another row holds used to replace that row silently (renaming
  // it). Kong's upsert by name conflicts on the primary key, reported with the URL's key.
  const pkViolation = (field: string, value: string) => ({ code: 3, name: 'primary key violation', message: `primary key violation on key '{${field}="${value}"}'`, fields: { [field]: value } })
  await refused(t, api, ['PUT', '/services/other', { json: { id: tls.id, host: 'x.test' } }], 400, pkViolation('name', 'other'))
  await refused(t, api, ['PUT', `/services/${tls.id as string}/routes/other-route`, { json: { id: rid, paths: ['/o'] } }], 400, pkViolation('name', 'other-route'))
  const ann = (await api.call('POST', '/consumers', { json: { username: 'ann' } })).body
  await refused(t, api, ['PUT', '/consumers/other', { form: `id=${ann.id as string}` }], 400, pkViolation('username', 'other'))
  r = await api.call('PUT', '/consumers/ann', { json: { id: NEW_ID, custom_id: 'c' } })
  t.same([r.status, r.body.id, r.body.username], [200, ann.id, 'ann'], 'the row the URL names keeps its id')
})
