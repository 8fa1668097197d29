// `tollgate config db_import|sync|diff|db_export` with database = postgres: they work on
// the shared database, never on the prefix's copy (which its node keeps from the database).
// Writing that copy directly changed one node alone, and once the database's version
// caught up with the copy's, that node never followed again.

import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { STORE_FILE } from '../../core/store/index.js'
import { until } from '../helpers/gateway.js'
import { freshDatabase, pgCopy } from '../helpers/pg-store.js'
import { postgresAvailable, startPostgres } from '../helpers/postgres.js'
import { runCli } from '../helpers/process.js'
import { tempDir } from '../helpers/store.js'
import { bundled } from './fixtures.js'

const KONG_YML = `_format_version: "3.0"
services:
- name: billing
  url: http://billing.test:8080
  routes:
  - name: billing-route
    paths: [/billing]
consumers:
- username: alice
`

if (postgresAvailable(t)) {
  const server = await startPostgres(t)

  t.test('db_import, diff, sync and db_export go through the shared database', async (t) => {
    const database = await freshDatabase(server)
    // Another node of the cluster, following the database.
    const node = await pgCopy(t, server, database, { plugins: bundled, entities: bundled.entities() })
    const dir = tempDir(t)
    const prefix = join(dir, 'prefix')
    const file = join(dir, 'kong.yml')
    writeFileSync(file, KONG_YML)
    const env = server.env(database)
    const run = (...args: string[]): ReturnType<typeof runCli> => runCli(['config', ...args, '--prefix', prefix], env)

    const imported = await run('db_import', file)
    t.equal(imported.code, 0, imported.stderr)
    t.match(imported.stdout, /import successful/)
    const pg = await server.client(database)
    const { rows } = await pg.query<{ n: string }>("SELECT count(*) AS n FROM tollgate_entities WHERE entity IN ('services', 'routes', 'consumers')")
    t.equal(Number(rows[0]?.n), 3, 'the rows are in PostgreSQL')
    await until(async () => { node.store.refresh(); return node.store.find('consumers', { username: 'alice' }) !== undefined }, 'the other node to follow')
    t.notOk(existsSync(join(prefix, STORE_FILE)), "the prefix's copy is not touched")

    const same = await run('diff', file)
    t.equal(same.code, 0, `${same.stdout}${same.stderr}`)

    writeFileSync(file, KONG_YML.replace('- username: alice', '- username: bob'))
    const diff = await run('diff', file)
    t.equal(diff.code, 2)
    t.match(diff.stdout, /creating consumer bob/)
    t.match(diff.stdout, /deleting consumer alice/)
    const synced = await run('sync', file)
    t.equal(synced.code, 0, synced.stderr)
    await until(async () => { node.store.refresh(); return node.store.find('consumers', { username: 'bob' }) !== undefined && node.store.find('consumers', { username: 'alice' }) === undefined }, 'the other node to follow the sync')

    const exported = await run('db_export', '-')
    t.equal(exported.code, 0, exported.stderr)
    t.match(exported.stdout, /username: bob/)
    t.notMatch(exported.stdout, /alice/)
  })

  t.test('a database that is not bootstrapped, or not there: one line, exit 1', async (t) => {
    const database = await server.createDatabase()
    const dir = tempDir(t)
    const file = join(dir, 'kong.yml')
    writeFileSync(file, KONG_YML)
    const fresh = await runCli(['config', 'db_import', file, '--prefix', join(dir, 'p')], server.env(database))
    t.equal(fresh.code, 1)
    t.match(fresh.stderr, /^Error: Database needs bootstrapping; run 'tollgate migrations bootstrap'/)
    t.notMatch(fresh.stderr, /\n\s+at /, 'no stack trace')
    // Nothing listens on this port: the command says so rather than diffing an empty copy.
    const gone = await runCli(['config', 'diff', file, '--prefix', join(dir, 'p')], { ...server.env(database), TOLLGATE_PG_PORT: '1' })
    t.equal(gone.code, 1)
    t.match(gone.stderr, /^Error: cannot reach the database postgres:\/\/postgres@127\.0\.0\.1:1\//)
  })
}
