// `tollgate config ...` as users run it: real processes over a real store under a prefix.

import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { request } from 'undici'
import { LmdbStore, STORE_FILE } from '../../core/store/index.js'
import { configCommand } from '../../core/cli/config.js'
import { BIN, childEnv, runCommand, startGateway, type Exit } from '../helpers/process.js'
import { tempDir } from '../helpers/store.js'
import { until } from '../helpers/gateway.js'
import { KONG_YML, bundled } from './fixtures.js'

/**
 * `tollgate config ...args` in `cwd`, to completion, as a real process: kept for each
 * command (init, parse, db_import, db_export, diff, sync) and each exit code (0, 1, 2).
 */
function configProcess (args: string[], opts: { cwd?: string, env?: Record<string, string> } = {}): Promise<Exit> {
  return runCommand(process.execPath, [BIN, 'config', ...args], { cwd: opts.cwd, env: childEnv(opts.env) })
}

/**
 * `tollgate config ...args` in this process: the CLI's own function with the process's cwd
 * and environment set as the child's would be. A spawn costs about a second of CPU (node,
 * then the CLI's modules), which is what this file spent its time on; what these tests check
 * is the command's output, exit code and store, the same either way. configProcess covers
 * the real process.
 */
async function config (args: string[], opts: { cwd?: string, env?: Record<string, string> } = {}): Promise<Exit> {
  const cwd = process.cwd()
  const saved = Object.entries(process.env).filter(([k]) => k.startsWith('TOLLGATE_'))
  for (const [k] of saved) delete process.env[k]
  Object.assign(process.env, opts.env)
  if (opts.cwd !== undefined) process.chdir(opts.cwd)
  let stdout = ''
  let stderr = ''
  try {
    const code = await configCommand(args, { out: (s) => { stdout += s }, err: (s) => { stderr += s } })
    return { code, signal: null, stdout, stderr }
  } finally {
    process.chdir(cwd)
    for (const k of Object.keys(opts.env ?? {})) delete process.env[k]
    Object.assign(process.env, Object.fromEntries(saved))
  }
}

/** The store under `prefix`, opened in this process (LMDB shares it with the CLI's). */
function openPrefixStore (t: Test, prefix: string): LmdbStore {
  const store = new LmdbStore({ path: join(prefix, STORE_FILE), plugins: bundled, entities: bundled.entities(), ttlPurgeInterval: 0 })
  t.teardown(() => store.close())
  return store
}

const noStack = (t: Test, e: Exit): void => { t.notMatch(e.stderr, /\n\s+at /, 'no stack trace') }


t.test('init writes a sample that parses, and never overwrites', async (t) => {
  const dir = tempDir(t)
  const first = await configProcess(['init'], { cwd: dir })
  t.equal(first.code, 0, first.stderr)
  const text = readFileSync(join(dir, 'kong.yml'), 'utf8')
  t.match(text, /^_format_version: "3\.0"$/m)
  const parsed = await config(['parse', 'kong.yml', '-p', join(dir, 'prefix')], { cwd: dir })
  t.equal(parsed.code, 0, parsed.stderr)
  t.equal(parsed.stdout, 'parse successful\n')
  t.notOk(existsSync(join(dir, 'prefix')), 'parse leaves nothing under the prefix')

  const again = await config(['init'], { cwd: dir })
  t.equal(again.code, 1)
  t.equal(again.stderr, `Error: ${join(dir, 'kong.yml')} already exists.\nWill not overwrite it.\n`)
  t.equal(readFileSync(join(dir, 'kong.yml'), 'utf8'), text, 'untouched')

  const named = await config(['init', join(dir, 'other.yml')])
  t.equal(named.code, 0)
  t.ok(existsSync(join(dir, 'other.yml')))

  // Every commented example, uncommented, is a valid configuration too.
  const example = /^# ((?:services|routes|consumers|plugins|upstreams):$| {2}.*|- (?:name|username): .*)$/
  const live = text.split('\n').map((l) => l.replace(example, '$1')).join('\n')
  t.match(live, /^services:\n- name: orders\n/m)
  writeFileSync(join(dir, 'live.yml'), live)
  const uncommented = await config(['parse', 'live.yml', '-p', join(dir, 'prefix')], { cwd: dir })
  t.equal(uncommented.code, 0, `the examples parse: ${uncommented.stderr}`)
})

t.test("parse: Kong's error text, exit 1, no stack trace", async (t) => {
  const dir = tempDir(t)
  writeFileSync(join(dir, 'bad.yml'), '_format_version: "3.0"\nservices:\n- name: a\n  port: 99999\n')
  const bad = await configProcess(['parse', join(dir, 'bad.yml'), '-p', dir])
  t.equal(bad.code, 1)
  t.equal(bad.stderr, "Error: Failed parsing:\nin 'services':\n  - in entry 1 of 'services':\n    in 'host': required field missing\n    in 'port': value should be between 0 and 65535\n")
  noStack(t, bad)
  writeFileSync(join(dir, 'nover.yml'), 'services: []\n')
  const nover = await config(['parse', join(dir, 'nover.yml'), '-p', dir])
  t.equal(nover.stderr, "Error: Failed parsing:\nin '_format_version': required field missing\n")
  const missing = await config(['parse', join(dir, 'nope.yml'), '-p', dir])
  t.equal(missing.code, 1)
  t.equal(missing.stderr, `Error: cannot read ${join(dir, 'nope.yml')}: ENOENT\n`)
  writeFileSync(join(dir, 'x.txt'), '_format_version: "3.0"\n')
  const txt = await config(['parse', join(dir, 'x.txt'), '-p', dir])
  t.match(txt.stderr, /unknown file type: .*x\.txt\. \(Accepted types: json, yaml\)/)
  const none = await config(['parse', '-p', dir])
  t.equal(none.code, 1)
  t.match(none.stderr, /^Error: expected a declarative configuration file: tollgate config parse FILE\n\nUsage: tollgate config/)
  const unknown = await config(['frobnicate'])
  t.equal(unknown.code, 1)
  t.match(unknown.stderr, /^Error: unknown command 'frobnicate'/)
})

t.test('db_import: upserts by id in one transaction, keeps other rows; refused DB-less', async (t) => {
  const dir = tempDir(t)
  const prefix = join(dir, 'prefix')
  writeFileSync(join(dir, 'kong.yml'), KONG_YML)
  const first = await configProcess(['db_import', join(dir, 'kong.yml'), '-p', prefix])
  t.equal(first.code, 0, first.stderr)
  t.equal(first.stdout, 'parse successful, beginning import\nimport successful\n')
  const store = openPrefixStore(t, prefix)
  t.match(store.find('services', { name: 'billing' }), { host: 'billing.test', port: 8080 })
  await store.insert('consumers', { username: 'bob' })

  writeFileSync(join(dir, 'kong.yml'), KONG_YML.replace('billing.test:8080', 'billing-v2.test'))
  const second = await config(['db-import', join(dir, 'kong.yml'), '-p', prefix])
  t.equal(second.code, 0, second.stderr)
  store.refresh()
  t.match(store.find('services', { name: 'billing' }), { host: 'billing-v2.test', port: 80 }, 'replaced whole')
  t.ok(store.find('consumers', { username: 'bob' }), 'a row the file does not list stays')

  // Kong/kong#12288: without an id, a credential is new at every import; its key is taken.
  writeFileSync(join(dir, 'noid.yml'), KONG_YML.replace('  - id: 3f9066ef-b91b-4d1d-a05a-28619401c1ad\n    key:', '  - key:').replace('billing-v2.test', 'billing-v3.test'))
  const refused = await config(['db_import', join(dir, 'noid.yml'), '-p', prefix])
  t.equal(refused.code, 1)
  t.equal(refused.stdout, 'parse successful, beginning import\n')
  t.match(refused.stderr, /^Error: Failed importing:\nimporting key-auth t-key for consumer alice: UNIQUE violation detected on '\{key="alice-secret-key"\}'\n\(an entity without an id/)
  noStack(t, refused)
  store.refresh()
  t.equal(store.find('services', { name: 'billing' })?.host, 'billing-v2.test', 'one transaction: the service was not changed either')

  const dbless = await config(['db_import', join(dir, 'kong.yml'), '-p', prefix], { env: { TOLLGATE_DATABASE: 'off' } })
  t.equal(dbless.code, 1)
  t.equal(dbless.stderr, "Error: 'tollgate config db_import' only works with a database.\nWhen using database=off, reload your declarative configuration\nusing the /config endpoint.\n")
})

t.test('db_export: ./kong.yml by default, never overwrites, - for stdout; then sync of it is a no-op', async (t) => {
  const dir = tempDir(t)
  const prefix = join(dir, 'prefix')
  writeFileSync(join(dir, 'in.yml'), KONG_YML)
  t.equal((await config(['sync', 'in.yml', '-p', prefix], { cwd: dir })).code, 0)
  {
    // Rows made through the Admin API, unnamed and with random ids, export and sync back too.
    const store = openPrefixStore(t, prefix)
    const svc = await store.insert('services', { host: 'unnamed.test' })
    await store.insert('routes', { paths: ['/x'], service: { id: svc.id } })
    const bob = await store.insert('consumers', { custom_id: 'bob' })
    await store.insert('keyauth_credentials', { consumer: { id: bob.id } }, { ttl: 3600 })
  }
  const exported = await configProcess(['db_export', '-p', prefix], { cwd: dir })
  t.equal(exported.code, 0, exported.stderr)
  t.equal(exported.stdout, '')
  const text = readFileSync(join(dir, 'kong.yml'), 'utf8')
  t.ok(text.startsWith('_format_version: "3.0"\n_transform: false\nservices:\n'))
  t.match(text, /\n {2}ttl: [0-9]{10}\n/, "a TTL credential's expiry")

  const stdout = await config(['db_export', '-', '-p', prefix], { cwd: dir })
  t.equal(stdout.stdout, text, '- writes the same to standard output')

  const again = await config(['db_export', '-p', prefix], { cwd: dir })
  t.equal(again.code, 1)
  t.equal(again.stderr, `Error: ${join(dir, 'kong.yml')} already exists. Will not overwrite it.\n`)

  const diff = await config(['diff', 'kong.yml', '-p', prefix], { cwd: dir })
  t.equal(diff.code, 0, 'db_export then diff of the same file: no differences')
  t.equal(diff.stdout, 'Summary:\n  Created: 0\n  Updated: 0\n  Deleted: 0\n')
  const sync = await config(['sync', 'kong.yml', '-p', prefix], { cwd: dir })
  t.equal(sync.code, 0)
  t.equal(sync.stdout, 'Summary:\n  Created: 0\n  Updated: 0\n  Deleted: 0\n')

  // Into another prefix: the same rows, ids included.
  const other = join(dir, 'other')
  const copy = await config(['sync', 'kong.yml', '-p', other], { cwd: dir })
  t.match(copy.stdout, /Created: 9\n/)
  await config(['db_export', 'copy.yml', '-p', other], { cwd: dir })
  const strip = (s: string): string => s.replace(/ {2}(created_at|updated_at|ttl): .*\n/g, '')
  t.equal(strip(readFileSync(join(dir, 'copy.yml'), 'utf8')), strip(text))

  const dbless = await config(['db_export', 'x.yml', '-p', prefix], { cwd: dir, env: { TOLLGATE_DATABASE: 'off' } })
  t.equal(dbless.stderr, "Error: 'tollgate config db_export' only works with a database.\n")
})

t.test('diff and sync: decK lines, exit codes, JSON, select tags', async (t) => {
  const dir = tempDir(t)
  const prefix = join(dir, 'prefix')
  const file = join(dir, 'kong.yml')
  writeFileSync(file, KONG_YML)
  const before = await configProcess(['diff', file, '-p', prefix])
  t.equal(before.code, 2, 'differences: exit 2')
  t.equal(before.stdout, [
    'creating service billing',
    'creating route billing-route',
    'creating consumer alice',
    'creating plugin key-auth for service billing',
    'creating key-auth t-key for consumer alice',
    'Summary:', '  Created: 5', '  Updated: 0', '  Deleted: 0', '',
  ].join('\n'))
  const sync = await config(['sync', file, '-p', prefix])
  t.equal(sync.code, 0)
  t.equal(sync.stdout, before.stdout, 'sync prints the same lines')
  t.equal((await config(['diff', file, '-p', prefix])).code, 0, 'the same: exit 0')

  writeFileSync(file, KONG_YML.replace('billing.test:8080', 'billing.test:9090').replace('- username: alice', '- username: carol'))
  const changed = await config(['diff', file, '-p', prefix])
  t.equal(changed.code, 2)
  t.match(changed.stdout, /^updating service billing {2}\{\n/)
  t.match(changed.stdout, /\n- {4}"port": 8080,\n\+ {4}"port": 9090,\n/)
  t.match(changed.stdout, /\ncreating consumer carol\n/)
  t.match(changed.stdout, /\ndeleting consumer alice\nSummary:\n {2}Created: 1\n {2}Updated: 2\n {2}Deleted: 1\n$/, 'the credential moves to carol: an update')

  const json = await config(['diff', file, '-p', prefix, '--json-output'])
  t.equal(json.code, 2)
  t.match(JSON.parse(json.stdout), {
    changes: { creating: [{ kind: 'consumer', name: 'carol' }], updating: [{ kind: 'service', name: 'billing', body: { old: { port: 8080 }, new: { port: 9090 } } }, { kind: 'key-auth' }], deleting: [{ kind: 'consumer', name: 'alice' }] },
    summary: { creating: 1, updating: 2, deleting: 1, total: 4 },
  })

  // Select tags: the untagged rows synced above are outside the scope.
  writeFileSync(join(dir, 'team.yml'), '_format_version: "3.0"\nconsumers:\n- username: dave\n')
  const scoped = await config(['sync', join(dir, 'team.yml'), '-p', prefix, '--select-tag', 'team-a', '--select-tag', 'x'])
  t.equal(scoped.code, 0, scoped.stderr)
  t.equal(scoped.stdout, 'creating consumer dave\nSummary:\n  Created: 1\n  Updated: 0\n  Deleted: 0\n', 'nothing outside the scope is deleted')
  const store = openPrefixStore(t, prefix)
  t.same(store.find('consumers', { username: 'dave' })?.tags, ['team-a', 'x'], 'the select tags are added')
  t.ok(store.find('consumers', { username: 'alice' }))
  t.equal((await config(['diff', join(dir, 'team.yml'), '-p', prefix, '--select-tag', 'team-a', '--select-tag', 'x'])).code, 0)

  const bad = await config(['diff', join(dir, 'missing.yml'), '-p', prefix])
  t.equal(bad.code, 1, 'an error: exit 1')
  const misplaced = await config(['parse', file, '--select-tag', 'a'])
  t.equal(misplaced.code, 1)
  t.match(misplaced.stderr, /^Error: --select-tag is for diff and sync only/)
  const dbless = await config(['sync', file, '-p', prefix], { env: { TOLLGATE_DATABASE: 'off' } })
  t.match(dbless.stderr, /^Error: 'tollgate config sync' only works with a database\./)
})

t.test('sync is atomic: a refused write changes nothing', async (t) => {
  const dir = tempDir(t)
  const prefix = join(dir, 'prefix')
  const store = openPrefixStore(t, prefix)
  await store.insert('consumers', { username: 'erin', tags: ['team-a'] })
  // Outside team-a's scope, so invisible to its sync; its username is taken all the same.
  await store.insert('consumers', { username: 'carol' })
  const version = store.version()
  writeFileSync(join(dir, 'team.yml'), '_format_version: "3.0"\nconsumers:\n- username: dave\n- username: carol\n')
  const res = await config(['sync', join(dir, 'team.yml'), '-p', prefix, '--select-tag', 'team-a'])
  t.equal(res.code, 1)
  t.equal(res.stderr, "Error: sync failed, nothing was changed:\ncreating consumer carol: UNIQUE violation detected on '{username=\"carol\"}'\n")
  t.equal(res.stdout, '')
  noStack(t, res)
  store.refresh()
  t.equal(store.version(), version, 'no commit')
  t.ok(store.find('consumers', { username: 'erin' }), 'erin not deleted')
  t.equal(store.find('consumers', { username: 'dave' }), undefined, 'dave not created')
})

for (const workers of ['1', '2']) t.test(`a gateway running on the prefix serves what sync wrote (worker_processes ${workers}: the version is polled)`, async (t) => {
  const prefix = tempDir(t)
  const gw = await startGateway(t, ['--prefix', prefix], { TOLLGATE_WORKER_PROCESSES: workers })
  const status = async (): Promise<number> => {
    const res = await request(`${gw.proxy}/billing`)
    await res.body.dump()
    return res.statusCode
  }
  t.equal(await status(), 404)
  const file = join(prefix, 'kong.yml')
  writeFileSync(file, KONG_YML)
  const sync = await configProcess(['sync', file, '-p', prefix])
  t.equal(sync.code, 0, sync.stderr)
  await until(async () => (await status()) === 401, 'the new route and its key-auth to apply')
  const admin = await request(`${gw.admin}/consumers/alice`)
  t.equal(admin.statusCode, 200, 'the Admin API reads it too')
  await admin.body.dump()
})
