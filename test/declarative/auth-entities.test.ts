// basic-auth's and acl's entities in a declarative file, nested under their consumers as
// Kong's kong.yml has them (spec/03-plugins/10-basic-auth/05-declarative_spec.lua,
// "Accepts valid credentials (introduced with a hashed password)"), and Kong's `_transform`:
// a file's cleartext passwords are hashed on load as the Admin API hashes them, an export
// (`_transform: false`) keeps its hashes, in DB-less mode and on db_import and sync.
import { createHash } from 'node:crypto'
import t from 'tap'
import { request } from 'undici'
import { applyPlan, diffDeclarative, importDeclarative } from '../../core/declarative/diff.js'
import { exportDeclarative } from '../../core/declarative/export.js'
import { parseDeclarative } from '../../core/declarative/parse.js'
import { bundledStore } from './fixtures.js'
import { startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { startMockUpstream } from '../helpers/mock-upstream.js'

const sha1 = (s: string): string => createHash('sha1').update(s).digest('hex')

/** A service on `url` with a route for host auth.test running basic-auth and `more` plugins, as YAML. */
const authService = (url: string, more = ''): string => `services:
- name: mock
  url: ${url}
  routes:
  - name: r
    hosts: [auth.test]
    plugins:
    - name: basic-auth
${more}`

/** The status of a proxied request to auth.test with Basic `auth`. */
async function basicAuthStatus (gw: TestGateway, auth: string): Promise<number> {
  const r = await request(`${gw.proxy}/request`, { headers: { host: 'auth.test', authorization: `Basic ${Buffer.from(auth).toString('base64')}` } })
  await r.body.dump()
  return r.statusCode
}

t.test('basicauth_credentials and acls nested under consumers (DB-less)', async (t) => {
  const gw = await startTestGateway(t, { config: { database: 'off' } })
  const up = await startMockUpstream(t)
  const consumerId = '3d9c0d1a-2d7c-4a35-b4a9-1d0d38cbd9a4'
  const hashed = sha1(`MI6${consumerId}`)
  const yaml = `_format_version: "3.0"
_transform: false
${authService(up.url, '    - name: acl\n      config: { allow: [agents] }\n')}consumers:
- id: ${consumerId}
  username: bond
  basicauth_credentials:
  - username: bond
    password: ${hashed}
  acls:
  - group: agents
`
  const res = await request(`${gw.admin}/config`, { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: yaml })
  const body = await res.body.json() as any
  t.equal(res.statusCode, 201, JSON.stringify(body).slice(0, 300))
  const cred = Object.values(body.basicauth_credentials ?? {})[0] as any
  t.match(cred, { username: 'bond', password: hashed, consumer: { id: consumerId } })
  t.match(Object.values(body.acls ?? {})[0], { group: 'agents', consumer: { id: consumerId } })
  const proxy = async (auth: string): Promise<number> => await basicAuthStatus(gw, auth)
  t.equal(await proxy('bond:MI6'), 200, 'Accepts valid credentials (introduced with a hashed password)')
  t.equal(await proxy('bond:wrong'), 401)
})

t.test('DB-less: a cleartext password (_transform true, the default) is hashed on load, as the Admin API does', async (t) => {
  const gw = await startTestGateway(t, { config: { database: 'off' } })
  const up = await startMockUpstream(t)
  const consumerId = '8a0c5e43-6f4f-4b84-9d0e-2f7d2c4b7f10'
  // The credential's consumer named by username at the top level, resolved before hashing.
  const yaml = `_format_version: "3.0"
${authService(up.url)}consumers:
- id: ${consumerId}
  username: bond
basicauth_credentials:
- consumer: bond
  username: bond
  password: MI6
`
  const res = await request(`${gw.admin}/config`, { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: yaml })
  const body = await res.body.json() as any
  t.equal(res.statusCode, 201, JSON.stringify(body).slice(0, 300))
  t.equal((Object.values(body.basicauth_credentials ?? {})[0] as any)?.password, sha1(`MI6${consumerId}`), 'stored as the salted SHA-1, never in the clear')
  const proxy = async (auth: string): Promise<number> => await basicAuthStatus(gw, auth)
  t.equal(await proxy('bond:MI6'), 200, 'the cleartext password works')
  t.equal(await proxy(`bond:${sha1(`MI6${consumerId}`)}`), 401, 'the hash is not a password')
})

t.test('db_import and sync: cleartext hashed once; an exported file re-imported keeps its hashes', async (t) => {
  const consumerId = '5b0f8d2e-1c3a-4e6b-8f7d-9a2b3c4d5e6f'
  const credId = '0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5'
  const plain = `_format_version: "3.0"
consumers:
- id: ${consumerId}
  username: bond
  basicauth_credentials:
  - id: ${credId}
    username: bond
    password: MI6
`
  const hashed = sha1(`MI6${consumerId}`)
  const first = bundledStore(t)
  await importDeclarative(first, parseDeclarative(plain, first))
  t.equal(first.get('basicauth_credentials', credId)?.password, hashed, 'db_import hashes a cleartext password once, as POST /consumers/bond/basic-auth does')

  const exported = exportDeclarative(first)
  t.match(exported, /_transform: false/)
  t.match(exported, new RegExp(`password: "?${hashed}"?`), 'the export carries the hash')

  const second = bundledStore(t)
  await importDeclarative(second, parseDeclarative(exported, second))
  t.equal(second.get('basicauth_credentials', credId)?.password, hashed, 'the export re-imported: not hashed again')

  const plan = diffDeclarative(first, parseDeclarative(exported, first))
  t.same(plan.changes, [], 'sync of the export against its store: nothing to change')
  const fromPlain = diffDeclarative(first, parseDeclarative(plain, first))
  t.same(fromPlain.changes, [], 'nor of the cleartext file it came from (hashed the same way)')

  // sync writes a changed password hashed once too.
  const changed = plain.replace('password: MI6', 'password: Q-branch')
  await applyPlan(first, diffDeclarative(first, parseDeclarative(changed, first)))
  t.equal(first.get('basicauth_credentials', credId)?.password, sha1(`Q-branch${consumerId}`), 'sync: the new password hashed once')
})
