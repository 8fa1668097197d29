// keyauth_hash_keys = on (beyond Kong): keys stored as a peppered hash, shown in the clear
// once, looked up by their hash on the proxy; files with keys in the clear hashed on load.

import { createHmac } from 'node:crypto'
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { configCommand } from '../../../core/cli/config.js'
import { exportObject } from '../../../core/declarative/export.js'
import { LmdbStore, STORE_FILE } from '../../../core/store/index.js'
import { useKeyHashing } from '../../../plugins/key-auth/hashing.js'
import { startTestGateway, until, type TestGateway } from '../../helpers/gateway.js'
import { startMockUpstream } from '../../helpers/mock-upstream.js'
import { tempDir } from '../../helpers/store.js'
import { KONG_YML, bundled } from '../../declarative/fixtures.js'

const HASHED = /^sha256:[0-9a-f]{64}$/
const hmac = (pepper: string, key: string): string => `sha256:${createHmac('sha256', pepper).update(key).digest('hex')}`

async function status (gw: TestGateway, key?: string): Promise<number> {
  const res = await request(`${gw.proxy}/`, { headers: { host: 'keyed.test', ...(key === undefined ? {} : { apikey: key }) } })
  await res.body.dump()
  return res.statusCode
}

async function keyedRoute (gw: TestGateway, upstream: string): Promise<void> {
  await gw.admin$('POST', '/services', { name: 'mock', url: upstream })
  await gw.admin$('POST', '/services/mock/routes', { hosts: ['keyed.test'] })
  await gw.admin$('POST', '/services/mock/plugins', { name: 'key-auth' })
}

t.teardown(() => useKeyHashing(undefined))

t.test('with a database: shown once, stored hashed, the proxy authenticates the plaintext key', async (t) => {
  const gw = await startTestGateway(t, { config: { keyauth_hash_keys: 'on' } })
  const pepperFile = join(gw.gateway.config.prefix, 'keyauth_pepper')
  const pepper = readFileSync(pepperFile, 'utf8').trim()
  t.match(pepper, /^[0-9a-f]{64}$/, 'a pepper was generated under the prefix')
  t.equal(statSync(pepperFile).mode & 0o777, 0o600, 'readable by its owner alone')

  const up = await startMockUpstream(t)
  await keyedRoute(gw, up.url)
  await gw.admin$('POST', '/consumers', { username: 'bob' })
  const given = await gw.admin$('POST', '/consumers/bob/key-auth', { key: 'bobs-plaintext-key' })
  t.equal(given.key, 'bobs-plaintext-key', "the creating write's answer shows the key given")
  const generated = await gw.admin$('POST', '/consumers/bob/key-auth', {})
  t.match(generated.key, /^[A-Za-z0-9]{32}$/, 'and a generated one, in the clear, that once')
  const put = await gw.admin$('PUT', '/key-auths/0b0cbd52-8f3b-4b0e-9f43-4d5bd6c5e3a1', { key: 'put-key-0123', consumer: { id: given.consumer.id } })
  t.equal(put.key, 'put-key-0123', 'PUT shows it too')

  const read = await gw.admin$('GET', `/consumers/bob/key-auth/${given.id as string}`)
  t.equal(read.key, hmac(pepper, 'bobs-plaintext-key'), "GET shows 'sha256:' and the HMAC-SHA-256 of the key under the pepper")
  const list = await gw.admin$('GET', '/key-auths')
  t.equal(list.data.length, 3)
  for (const c of list.data) t.match(c.key, HASHED, 'the list shows hashes only')
  t.equal((await gw.admin$('GET', `/key-auths/${encodeURIComponent(read.key as string)}`)).id, given.id, 'the stored hash names the credential in a URL')
  const exported = exportObject(gw.gateway.store).keyauth_credentials as Array<{ key: string }>
  t.same(exported.map((c) => c.key).sort(), [hmac(pepper, 'bobs-plaintext-key'), hmac(pepper, generated.key as string), hmac(pepper, 'put-key-0123')].sort(), 'an export holds the hashes')

  t.equal(await status(gw, 'bobs-plaintext-key'), 200, 'the plaintext key authenticates')
  t.equal(await status(gw, generated.key as string), 200, 'so does the generated one')
  t.equal(await status(gw, 'put-key-0123'), 200)
  t.equal(await status(gw, 'bobs-plaintext-kez'), 401, 'a wrong key is refused')
  t.equal(await status(gw), 401)
  t.equal(await status(gw, read.key as string), 401, 'the stored hash, presented as a key, is refused')

  const dup = await request(`${gw.admin}/consumers/bob/key-auth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: 'bobs-plaintext-key' }) })
  t.equal(dup.statusCode, 409, 'the same key twice still clashes on the unique index')
  await dup.body.dump()

  const patched = await gw.admin$('PATCH', `/key-auths/${given.id as string}`, { key: 'bobs-new-key-1' })
  t.equal(patched.key, 'bobs-new-key-1', 'a PATCH setting a key shows it once')
  t.equal((await gw.admin$('GET', `/key-auths/${given.id as string}`)).key, hmac(pepper, 'bobs-new-key-1'))
  t.equal(await status(gw, 'bobs-plaintext-key'), 401, 'the replaced key stops working')
  t.equal(await status(gw, 'bobs-new-key-1'), 200)
  const tagged = await gw.admin$('PATCH', `/key-auths/${given.id as string}`, { tags: ['x'] })
  t.equal(tagged.key, hmac(pepper, 'bobs-new-key-1'), 'a PATCH of other fields leaves the hash as it is')
  t.equal(await status(gw, 'bobs-new-key-1'), 200)
})

t.test('rotation with hashing on: the old key with a ttl, the new one beside it', async (t) => {
  const gw = await startTestGateway(t, { config: { keyauth_hash_keys: 'on', keyauth_pepper: 'a-configured-pepper-value' } })
  const up = await startMockUpstream(t)
  await keyedRoute(gw, up.url)
  await gw.admin$('POST', '/consumers', { username: 'ann' })
  const old = await gw.admin$('POST', '/consumers/ann/key-auth', { key: 'ann-old-key', ttl: 100_000 })
  await gw.admin$('POST', '/consumers/ann/key-auth', { key: 'ann-new-key' })
  t.equal((await gw.admin$('GET', `/key-auths/${old.id as string}`)).key, hmac('a-configured-pepper-value', 'ann-old-key'), 'keyauth_pepper is the HMAC key')
  t.equal(await status(gw, 'ann-old-key'), 200, 'during the rotation the old key works')
  t.equal(await status(gw, 'ann-new-key'), 200, 'and so does the new one')
  await gw.admin$('PATCH', `/key-auths/${old.id as string}`, { ttl: 1 })
  await until(async () => await status(gw, 'ann-old-key') === 401, 'the old key to expire')
  t.equal(await status(gw, 'ann-new-key'), 200, 'the new key outlives it')
})

t.test('rows stored in the clear before hashing was turned on keep working', async (t) => {
  const gw = await startTestGateway(t, { config: { keyauth_hash_keys: 'on', keyauth_pepper: 'a-configured-pepper-value' } })
  const up = await startMockUpstream(t)
  await keyedRoute(gw, up.url)
  const carl = await gw.admin$('POST', '/consumers', { username: 'carl' })
  useKeyHashing(undefined) // as a node with hashing off wrote it
  await gw.gateway.store.insert('keyauth_credentials', { consumer: { id: carl.id }, key: 'legacy-plain-key' })
  useKeyHashing('a-configured-pepper-value')
  t.equal((await gw.admin$('GET', '/consumers/carl/key-auth')).data[0].key, 'legacy-plain-key', 'stored in the clear')
  t.equal(await status(gw, 'legacy-plain-key'), 200, 'and still authenticates')
})

t.test('DB-less: a kong.yml with keys in the clear is hashed on load; GET /config exports hashes', async (t) => {
  const pepper = 'dbless-pepper-0123456789'
  const up = await startMockUpstream(t)
  const yml = (key: string): string => `_format_version: "3.0"
services:
- name: mock
  url: ${up.url}
  routes:
  - hosts: [keyed.test]
  plugins:
  - name: key-auth
consumers:
- username: dee
  keyauth_credentials:
  - key: ${key}
`
  const gw = await startTestGateway(t, { config: { database: 'off', keyauth_hash_keys: 'on', keyauth_pepper: pepper, declarative_config_string: yml('dees-file-key') } })
  t.equal(await status(gw, 'dees-file-key'), 200, 'the key from the file authenticates')
  t.equal(await status(gw, 'dees-file-kez'), 401)
  let exported = (await gw.admin$('GET', '/config')).config as string
  t.match(exported, hmac(pepper, 'dees-file-key'), 'the export holds the hash')
  t.notMatch(exported, 'dees-file-key')

  // POST /config loads in another thread, which hashes with the same pepper.
  await gw.admin$('POST', '/config', { config: yml('dees-posted-key') })
  t.equal(await status(gw, 'dees-posted-key'), 200)
  t.equal(await status(gw, 'dees-file-key'), 401)
  exported = (await gw.admin$('GET', '/config')).config as string
  t.match(exported, hmac(pepper, 'dees-posted-key'))
  // The export loads back as it is: its hashes are not hashed again.
  await gw.admin$('POST', '/config', { config: exported })
  t.equal(await status(gw, 'dees-posted-key'), 200, 'a re-imported export keeps working')
})

t.test('key-auth isolated in worker threads hashes with the same pepper', async (t) => {
  const gw = await startTestGateway(t, { config: { keyauth_hash_keys: 'on', keyauth_pepper: 'a-configured-pepper-value', isolated_plugins: 'key-auth' } })
  const up = await startMockUpstream(t)
  await keyedRoute(gw, up.url)
  await gw.admin$('POST', '/consumers', { username: 'fay' })
  await gw.admin$('POST', '/consumers/fay/key-auth', { key: 'fays-isolated-key' })
  t.equal(await status(gw, 'fays-isolated-key'), 200)
  t.equal(await status(gw, 'fays-isolated-kez'), 401)
})

t.test('tollgate config sync with hashing on: the key stored hashed, and the file is then no change', async (t) => {
  const dir = tempDir(t)
  const prefix = join(dir, 'prefix')
  const file = join(dir, 'kong.yml')
  writeFileSync(file, KONG_YML)
  const pepper = 'cli-pepper-0123456789'
  const env = { TOLLGATE_KEYAUTH_HASH_KEYS: 'on', TOLLGATE_KEYAUTH_PEPPER: pepper }
  Object.assign(process.env, env)
  t.teardown(() => { for (const k of Object.keys(env)) delete process.env[k] })
  const io = { out: () => {}, err: (s: string) => { t.comment(s) } }
  t.equal(await configCommand(['sync', file, '-p', prefix], io), 0)
  const store = new LmdbStore({ path: join(prefix, STORE_FILE), plugins: bundled, entities: bundled.entities(), ttlPurgeInterval: 0 })
  t.teardown(() => store.close())
  t.equal(store.list('keyauth_credentials').data[0]?.key, hmac(pepper, 'alice-secret-key'), "the file's key, hashed")
  t.equal(await configCommand(['diff', file, '-p', prefix], io), 0, 'a diff of the same file finds nothing to change')
})
