import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import type { Test } from 'tap'
import { ApplyError, DiffError, applyPlan, diffDeclarative, formatPlan, importDeclarative, planJson, summarize, type Plan } from '../../core/declarative/diff.js'
import { exportDeclarative, exportObject } from '../../core/declarative/export.js'
import { parseDeclarative } from '../../core/declarative/parse.js'
import type { Entity, LmdbStore } from '../../core/store/index.js'
import { bundledStore, config, filled } from './fixtures.js'
import { pair, pem } from '../helpers/tls.js'

const SVC = '0855b320-0dd2-547d-891d-601e9b38647f'
const ROUTE = '481a9539-f49c-51b6-b2e2-fe99ee68866c'
const ALICE = '4b1b701d-de2b-5588-9aa2-3b97061d9f52'
const PLUGIN = 'a4ab8a3c-1a5f-5c36-a5b6-6b6a1ab0b6a1'
const CRED = '3f9066ef-b91b-4d1d-a05a-28619401c1ad'

/** A small config: a service with a route and key-auth, a consumer with a key. */
async function sample (t: Test, overrides: { host?: string, key?: string } = {}) {
  return filled(t, [
    ['services', { id: SVC, name: 'billing', host: overrides.host ?? 'billing.test' }],
    ['routes', { id: ROUTE, name: 'billing-route', paths: ['/billing'], service: { id: SVC } }],
    ['consumers', { id: ALICE, username: 'alice' }],
    ['plugins', { id: PLUGIN, name: 'key-auth', service: { id: SVC } }],
    ['keyauth_credentials', { id: CRED, key: overrides.key ?? 'alice-key-12345', consumer: { id: ALICE } }],
  ])
}

const lines = (plan: Plan, store: LmdbStore): string[] => formatPlan(store, plan).trimEnd().split('\n')

/** The store's rows, without timestamps (nor the seconds a row has left), for comparing before and after. */
function snapshot (store: LmdbStore): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const info of store.entities) {
    out[info.name] = [...store.each(info.name)].map(({ created_at: _c, updated_at: _u, ttl: _t, ...rest }) => rest)
  }
  return out
}

t.test('creates, in dependency order, then a second diff is empty', async (t) => {
  const store = bundledStore(t)
  const cfg = config(await sample(t))
  const plan = diffDeclarative(store, cfg)
  t.same(lines(plan, store), [
    'creating service billing',
    'creating route billing-route',
    'creating consumer alice',
    'creating plugin key-auth for service billing',
    'creating key-auth 12345 for consumer alice',
    'Summary:',
    '  Created: 5',
    '  Updated: 0',
    '  Deleted: 0',
  ])
  t.same(summarize(plan), { creating: 5, updating: 0, deleting: 0, total: 5 })
  const version = store.version()
  await applyPlan(store, plan)
  t.equal(store.version(), version + 1, 'one transaction: the version moves once')
  t.match(store.get('routes', ROUTE), { name: 'billing-route', service: { id: SVC } })
  t.match(store.get('keyauth_credentials', CRED), { key: 'alice-key-12345', consumer: { id: ALICE } })
  const again = diffDeclarative(store, cfg)
  t.same(again.changes, [], 'syncing the same config again changes nothing')
  t.same(lines(again, store), ['Summary:', '  Created: 0', '  Updated: 0', '  Deleted: 0'])
})

t.test('updates show the fields that differ; timestamps are ignored', async (t) => {
  const store = bundledStore(t)
  await applyPlan(store, diffDeclarative(store, config(await sample(t))))
  const changed = await sample(t, { host: 'billing-v2.test' })
  // Timestamps in the file that differ from the store's are no change.
  for (const e of changed.get('consumers') ?? []) { e.created_at = 1; e.updated_at = 2 }
  const plan = diffDeclarative(store, config(changed))
  t.equal(plan.changes.length, 1)
  const out = lines(plan, store)
  t.equal(out[0], 'updating service billing  {')
  t.ok(out.includes('-    "host": "billing.test",'), 'old value')
  t.ok(out.includes('+    "host": "billing-v2.test",'), 'new value')
  t.ok(out.includes('     "port": 80,'), 'unchanged fields shown plain')
  t.equal(out.filter((l) => /^[+-]/.test(l)).length, 2, 'only the changed line, old and new')
  t.notOk(out.some((l) => l.includes('created_at')), 'no timestamps in the diff')
  t.same(out.slice(-4), ['Summary:', '  Created: 0', '  Updated: 1', '  Deleted: 0'])
  const createdAt = store.get('services', SVC)?.created_at
  await applyPlan(store, plan)
  t.equal(store.get('services', SVC)?.host, 'billing-v2.test')
  t.equal(store.get('services', SVC)?.created_at, createdAt, 'an update keeps the creation time')
  t.same(diffDeclarative(store, config(changed)).changes, [])
})

t.test('rows the config does not have are deleted, children first', async (t) => {
  const store = bundledStore(t)
  await applyPlan(store, diffDeclarative(store, config(await sample(t))))
  const bob = await store.insert('consumers', { username: 'bob' })
  await store.insert('keyauth_credentials', { key: 'bob-key-67890', consumer: { id: bob.id } })
  await store.insert('plugins', { name: 'rate-limiting', consumer: { id: bob.id }, config: { minute: 5 } })
  const plan = diffDeclarative(store, config(await sample(t)))
  t.same(lines(plan, store), [
    'deleting key-auth 67890 for consumer bob',
    'deleting plugin rate-limiting for consumer bob',
    'deleting consumer bob',
    'Summary:',
    '  Created: 0',
    '  Updated: 0',
    '  Deleted: 3',
  ])
  await applyPlan(store, plan)
  t.equal(store.find('consumers', { username: 'bob' }), undefined)
  t.same(diffDeclarative(store, config(await sample(t))).changes, [])
})

t.test('rows without the same id are matched by natural key, and keep their id', async (t) => {
  const store = bundledStore(t)
  // Made through the Admin API: random ids, other than the file's.
  const svc = await store.insert('services', { name: 'billing', host: 'billing.test' })
  const route = await store.insert('routes', { name: 'billing-route', paths: ['/billing'], service: { id: svc.id } })
  const alice = await store.insert('consumers', { username: 'alice' })
  const plugin = await store.insert('plugins', { name: 'key-auth', service: { id: svc.id } })
  const cred = await store.insert('keyauth_credentials', { key: 'alice-key-12345', consumer: { id: alice.id } })
  const plan = diffDeclarative(store, config(await sample(t)))
  t.same(plan.changes, [], 'the same config: nothing to do')

  const changed = await sample(t, { host: 'billing-v2.test' })
  const update = diffDeclarative(store, config(changed))
  t.same(update.changes.map((c) => [c.op, c.kind, c.id]), [['update', 'service', svc.id]], 'updated in place, by its own id')
  await applyPlan(store, update)
  t.equal(store.get('services', svc.id)?.host, 'billing-v2.test')
  t.ok(store.get('routes', route.id) && store.get('plugins', plugin.id) && store.get('keyauth_credentials', cred.id), 'children untouched')
})

t.test('references in the file follow a parent matched by natural key', async (t) => {
  const store = bundledStore(t)
  const alice = await store.insert('consumers', { username: 'alice' })
  const plan = diffDeclarative(store, config(await sample(t)))
  t.same(plan.changes.map((c) => `${c.op} ${c.kind} ${c.name}`), [
    'create service billing',
    'create route billing-route',
    'create plugin key-auth for service billing',
    'create key-auth 12345 for consumer alice',
  ])
  const cred = plan.changes.find((c) => c.kind === 'key-auth')
  t.same(cred?.new?.consumer, { id: alice.id }, "the credential points at the store's alice")
  await applyPlan(store, plan)
  t.same(diffDeclarative(store, config(await sample(t))).changes, [])
})

t.test('entities without a natural key (unnamed routes, random ids) match by content', async (t) => {
  const store = bundledStore(t)
  const svc = await store.insert('services', { id: SVC, name: 'billing', host: 'billing.test' })
  await store.insert('routes', { paths: ['/a'], service: { id: svc.id } })
  await store.insert('routes', { paths: ['/b'], service: { id: svc.id } })
  const file = async (paths: string[]) => filled(t, [
    ['services', { id: SVC, name: 'billing', host: 'billing.test' }],
    ...paths.map((p): [string, Record<string, unknown>] => ['routes', { paths: [p], service: { id: SVC } }]),
  ])
  t.same(diffDeclarative(store, config(await file(['/b', '/a']))).changes, [], 'same routes, new random ids: no change')
  const plan = diffDeclarative(store, config(await file(['/a', '/c'])))
  t.same(plan.changes.map((c) => [c.op, c.kind, c.new?.paths ?? c.old?.paths]), [['create', 'route', ['/c']], ['delete', 'route', ['/b']]])
})

t.test('select tags: only tagged rows are seen; file entities get the tags', async (t) => {
  const store = bundledStore(t)
  await store.insert('consumers', { username: 'untagged' })
  await store.insert('consumers', { username: 'team-b-user', tags: ['team-b'] })
  await store.insert('consumers', { username: 'old-team-a-user', tags: ['team-a', 'x'] })
  const cfg = config(await filled(t, [['consumers', { id: ALICE, username: 'alice', tags: ['mine'] }]]))
  const plan = diffDeclarative(store, cfg, { selectTags: ['team-a'] })
  t.same(plan.changes.map((c) => `${c.op} ${c.name}`), ['create alice', 'delete old-team-a-user'], 'rows without the tag are invisible')
  t.same(plan.changes[0]?.new?.tags, ['mine', 'team-a'], 'the select tag is added')
  await applyPlan(store, plan)
  t.ok(store.find('consumers', { username: 'untagged' }) && store.find('consumers', { username: 'team-b-user' }), 'others left alone')
  t.same(diffDeclarative(store, cfg, { selectTags: ['team-a'] }).changes, [], 'a second sync is a no-op')
  t.same(diffDeclarative(store, cfg).changes.map((c) => `${c.op} ${c.name}`).sort(), ['delete team-b-user', 'delete untagged', 'update alice'],
    'without select tags, everything is seen (alice lacks no tag in the store, the file lacks team-a)')

  // Rows must carry every select tag.
  const both = diffDeclarative(store, cfg, { selectTags: ['team-a', 'mine'] })
  t.same(both.changes, [], 'alice carries both')
  t.throws(() => diffDeclarative(store, cfg, { selectTags: ['a,b'] }), DiffError)
})

t.test('select tags: a file id owned by a row outside the scope is an error', async (t) => {
  const store = bundledStore(t)
  await store.insert('consumers', { id: ALICE, username: 'alice' })
  const cfg = config(await filled(t, [['consumers', { id: ALICE, username: 'alice' }]]))
  t.throws(() => diffDeclarative(store, cfg, { selectTags: ['team-a'] }),
    { name: 'DiffError', message: `consumer alice: its id ${ALICE} belongs to an entity that does not carry the select tags (team-a)` })
})

t.test('a sync is atomic: a refused write leaves the store as it was', async (t) => {
  const store = bundledStore(t)
  await store.insert('consumers', { username: 'erin', tags: ['team-a'] })
  await store.insert('consumers', { username: 'frank', tags: ['team-a'] })
  // Outside the scope of team-a, invisible to the diff, but its username is taken.
  await store.insert('consumers', { username: 'carol' })
  const before = snapshot(store)
  const version = store.version()
  const cfg = config(await filled(t, [
    ['consumers', { username: 'erin', custom_id: 'E' }],
    ['consumers', { username: 'dave' }],
    ['consumers', { username: 'carol' }],
  ]))
  const plan = diffDeclarative(store, cfg, { selectTags: ['team-a'] })
  t.same(plan.changes.map((c) => `${c.op} ${c.name}`), ['update erin', 'create dave', 'create carol', 'delete frank'])
  const err = await applyPlan(store, plan).then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof ApplyError, 'an ApplyError')
  t.equal((err as Error).message, "creating consumer carol: UNIQUE violation detected on '{username=\"carol\"}'")
  t.same(snapshot(store), before, 'nothing changed')
  t.equal(store.version(), version, 'the version did not move')
})

t.test('TTL credentials: the expiry is compared and written; expired file entries are left out', async (t) => {
  const store = bundledStore(t)
  const base = await filled(t, [['consumers', { id: ALICE, username: 'alice' }]])
  const withCred = async (ttl: number | undefined, key = 'alice-key-12345') => {
    const e = await filled(t, [
      ['consumers', { id: ALICE, username: 'alice' }],
      ['keyauth_credentials', { id: CRED, key, consumer: { id: ALICE }, ttl }],
    ])
    return e
  }
  await applyPlan(store, diffDeclarative(store, config(await withCred(3600))))
  const ttl = store.get('keyauth_credentials', CRED)?.ttl as number
  t.ok(ttl > 3590 && ttl <= 3600, `written with its time to live (${ttl})`)
  t.same(diffDeclarative(store, config(await withCred(3600))).changes, [], 'the same expiry: no change')
  const fileTtl = (await withCred(3600)).get('keyauth_credentials')?.[0]?.ttl as number
  const exported = (exportObject(store).keyauth_credentials as Record<string, unknown>[])[0]
  t.ok(Math.abs(Number(exported?.ttl) - fileTtl) <= 1, 'the export carries the same expiry')
  const longer = diffDeclarative(store, config(await withCred(7200)))
  t.same(longer.changes.map((c) => c.op), ['update'], 'another expiry is an update')
  await applyPlan(store, longer)
  t.ok((store.get('keyauth_credentials', CRED)?.ttl as number) > 7000)
  const none = diffDeclarative(store, config(await withCred(undefined)))
  t.same(none.changes.map((c) => c.op), ['update'], 'no ttl in the file: the expiry goes')
  await applyPlan(store, none)
  t.equal(store.get('keyauth_credentials', CRED)?.ttl, undefined)

  const expired = await withCred(3600)
  for (const e of expired.get('keyauth_credentials') ?? []) e.ttl = Math.floor(Date.now() / 1000) - 10
  t.same(diffDeclarative(store, config(expired)).changes.map((c) => c.op), ['delete'], 'an expired file entry is as good as absent')
  t.same(diffDeclarative(store, config(base)).changes.map((c) => c.op), ['delete'])
})

t.test('JSON output as decK writes it', async (t) => {
  const store = bundledStore(t)
  await applyPlan(store, diffDeclarative(store, config(await sample(t))))
  await store.insert('consumers', { username: 'bob' })
  const plan = diffDeclarative(store, config(await sample(t, { host: 'v2.test' })))
  const out = planJson(store, plan)
  t.match(out, {
    changes: {
      creating: [],
      updating: [{ kind: 'service', name: 'billing', body: { old: { id: SVC, host: 'billing.test' }, new: { id: SVC, host: 'v2.test' } } }],
      deleting: [{ kind: 'consumer', name: 'bob', body: { old: { username: 'bob' }, new: null } }],
    },
    summary: { creating: 0, updating: 1, deleting: 1, total: 2 },
    warnings: [],
    errors: [],
  })
  t.same(JSON.parse(JSON.stringify(out)), out, 'plain JSON')
})

t.test('db_import: upserts by id in one transaction, leaves other rows alone', async (t) => {
  const store = bundledStore(t)
  const other = await store.insert('consumers', { username: 'other' })
  await store.insert('services', { id: SVC, name: 'billing', host: 'old.test', retries: 1 })
  const cfg = config(await sample(t))
  const version = store.version()
  t.equal(await importDeclarative(store, cfg), 5)
  t.equal(store.version(), version + 1, 'one transaction')
  t.match(store.get('services', SVC), { host: 'billing.test', retries: 5 }, 'replaced whole (PUT), defaults back')
  t.ok(store.get('consumers', other.id), 'rows the file does not name stay')
  t.equal(await importDeclarative(store, cfg), 5, 'importing again is fine when every id is fixed')

  // As in Kong (#12288): a credential without an id gets a new one each parse, and its
  // key is taken on the second import. Here the whole import is refused.
  const noId = await sample(t)
  for (const e of noId.get('keyauth_credentials') ?? []) e.id = '7f6ac2bd-cd0c-4d1c-9d5a-3e7a5a1d2b3c'
  for (const e of noId.get('services') ?? []) e.host = 'changed.test'
  const before = snapshot(store)
  await t.rejects(importDeclarative(store, config(noId)), { name: 'ApplyError', message: /UNIQUE violation detected on '\{key="alice-key-12345"\}'/ })
  t.same(snapshot(store), before, 'nothing imported, the service not changed either')
})

t.test('an entity type this node does not know is an error', async (t) => {
  const store = bundledStore(t)
  const cfg = config(new Map([['vaults', [{ id: SVC } as Entity]]]))
  t.throws(() => diffDeclarative(store, cfg), { name: 'DiffError', message: "the configuration has 'vaults' entities, which this node does not know" })
  await t.rejects(importDeclarative(store, cfg), DiffError)
})

t.test('db_export then sync of the same file is a no-op, for every entity type', async (t) => {
  const store = bundledStore(t)
  const svc = await store.insert('services', { name: 'billing', url: 'https://billing.test:8443/v1', tags: ['a', 'b'] })
  const unnamed = await store.insert('services', { host: 'unnamed.test' })
  const route = await store.insert('routes', { paths: ['/billing'], hosts: ['x.test'], service: { id: svc.id }, headers: { 'x-v': ['1'] } })
  await store.insert('routes', { name: 'grpc', protocols: ['grpc'], paths: ['/g'], service: { id: unnamed.id } })
  const alice = await store.insert('consumers', { username: 'alice' })
  const bob = await store.insert('consumers', { custom_id: 'bob-1' })
  await store.insert('plugins', { name: 'key-auth', route: { id: route.id }, config: { key_names: ['k'] } })
  await store.insert('plugins', { name: 'rate-limiting', consumer: { id: bob.id }, config: { minute: 10 } })
  await store.insert('plugins', { name: 'rate-limiting', service: { id: svc.id }, consumer: { id: alice.id }, config: { second: 1 }, enabled: false })
  await store.insert('plugins', { name: 'proxy-cache', config: { strategy: 'memory' } })
  const up = await store.insert('upstreams', { name: 'backend', algorithm: 'least-connections', healthchecks: { active: { healthy: { interval: 5 } } } })
  await store.insert('targets', { upstream: { id: up.id }, target: '10.0.0.1' })
  await store.insert('targets', { upstream: { id: up.id }, target: '[::1]:9000', weight: 0 })
  await store.insert('keyauth_credentials', { key: 'alice-key', consumer: { id: alice.id } })
  await store.insert('keyauth_credentials', { key: 'bob-temp', consumer: { id: bob.id } }, { ttl: 600 })
  await store.insert('keyauth_credentials', { consumer: { id: bob.id } })
  const cert = await store.insert('certificates', { ...pair('a-rsa'), cert_alt: pem('a-ecdsa-cert'), key_alt: pem('a-ecdsa-key'), tags: ['tls'] })
  await store.insert('snis', { name: 'a.example.test', certificate: { id: cert.id } })
  await store.insert('snis', { name: '*.wild.example.test', certificate: { id: cert.id } })
  const ca = await store.insert('ca_certificates', { cert: pem('ca-cert') })
  await store.insert('services', { name: 'mtls', url: 'https://mtls.test', client_certificate: { id: cert.id }, ca_certificates: [ca.id], tls_verify: true })

  const text = exportDeclarative(store)
  const parsed = parseDeclarative(text, store, { filename: 'kong.yml' })
  t.equal(parsed.transform, false)
  const plan = diffDeclarative(store, parsed)
  t.same(plan.changes.map((c) => `${c.op} ${c.kind} ${c.name}`), [], 'nothing to do')
  t.same(diffDeclarative(store, parseDeclarative(JSON.stringify(exportObject(store)), store)).changes, [], 'the object form too')

  // The same file into an empty store recreates everything, ids and expiry included.
  const other = bundledStore(t)
  const fresh = diffDeclarative(other, parsed)
  t.equal(summarize(fresh).creating, 21)
  await applyPlan(other, fresh)
  t.same(diffDeclarative(other, parsed).changes, [])
  t.same(snapshot(other), snapshot(store), 'the same rows, by id')
  t.ok(Number(other.find('keyauth_credentials', { key: 'bob-temp' })?.ttl) > 590, 'the credential still expires')
})

t.test("openapi-2-kong's files: synced, then parsed again, they diff as nothing", async (t) => {
  const dir = join(import.meta.dirname, '..', 'fixtures', 'declarative', 'openapi-2-kong')
  for (const name of ['petstore-expanded', 'uspto', 'star-trek']) {
    const store = bundledStore(t)
    const text = readFileSync(join(dir, `${name}.kong.yml`), 'utf8')
    const first = parseDeclarative(text, store, { filename: `${name}.kong.yml` })
    const plan = diffDeclarative(store, first)
    t.ok(summarize(plan).creating > 0 && plan.changes.every((c) => c.op === 'create'), `${name}: ${summarize(plan).creating} creates`)
    await applyPlan(store, plan)
    // A second parse makes new random ids for what has no name: still the same config.
    t.same(diffDeclarative(store, parseDeclarative(text, store, { filename: `${name}.kong.yml` })).changes, [], `${name}: no-op`)
    t.same(diffDeclarative(store, parseDeclarative(exportDeclarative(store), store, { filename: 'x.yml' })).changes, [], `${name}: its export too`)
  }
})
