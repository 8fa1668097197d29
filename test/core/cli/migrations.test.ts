// `tollgate migrations` and `tollgate start` against a real PostgreSQL (database =
// postgres, issue #19), as Kong's `kong migrations` and `kong start [--run-migrations]`:
// status exit codes 0/3/5, bootstrap twice, reset only with --yes, clear one-line errors
// (wrong database setting, PostgreSQL unreachable), a start refused on an un-bootstrapped
// database or migrating it, pg_schema, and two nodes migrating at once.

import t, { type Test } from 'tap'
import type pg from 'pg'
import { closedPort, until } from '../../helpers/gateway.js'
import { call } from '../../helpers/pg-nodes.js'
import { postgresAvailable, startPostgres } from '../../helpers/postgres.js'
import { runCli, startGateway, type Exit } from '../../helpers/process.js'
import { tempDir } from '../../helpers/store.js'
import { migrationsCommand } from '../../../core/cli/migrations.js'
import { ConfigError } from '../../../core/errors.js'

const TABLES = ['tollgate_changes', 'tollgate_counters', 'tollgate_entities', 'tollgate_meta', 'tollgate_migrations']

/** Tollgate's tables in `schema` of the database `c` is connected to. */
async function tables (c: pg.Client, schema = 'public'): Promise<string[]> {
  const { rows } = await c.query<{ t: string }>("SELECT table_name AS t FROM information_schema.tables WHERE table_schema = $1 AND table_name LIKE 'tollgate\\_%' ORDER BY 1", [schema])
  return rows.map((r) => r.t)
}

/**
 * `tollgate migrations ...args` in this process: the command's function with the child's
 * TOLLGATE_* environment, and a ConfigError printed and exit 1 as main() does. A spawn costs
 * about a second of CPU; the file ran 24. `runCli` keeps the real process for each exit code
 * (0, 1 from main's ConfigError and from the command, 3, 5).
 */
async function migrations (args: string[], env: Record<string, string> = {}): Promise<Exit> {
  const saved = Object.entries(process.env).filter(([k]) => k.startsWith('TOLLGATE_'))
  for (const [k] of saved) delete process.env[k]
  Object.assign(process.env, env)
  let stdout = ''
  let stderr = ''
  try {
    const code = await migrationsCommand(args.slice(1), (s) => { stdout += s }, (s) => { stderr += s })
    return { code, signal: null, stdout, stderr }
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    return { code: 1, signal: null, stdout, stderr: `Error: ${err.message}\n` }
  } finally {
    for (const k of Object.keys(env)) delete process.env[k]
    Object.assign(process.env, Object.fromEntries(saved))
  }
}

/** A one-line error on stderr, and no stack trace anywhere. */
function cleanError (t: Test, r: Exit, message: RegExp): void {
  t.equal(r.code, 1, 'exit 1')
  t.match(r.stderr, message)
  t.notMatch(`${r.stdout}${r.stderr}`, /\n\s+at /, 'no stack trace')
}

if (postgresAvailable(t)) {
  const server = await startPostgres(t)

  t.test('status, bootstrap, up and reset on an empty database', async (t) => {
    const db = await server.createDatabase()
    const env = server.env(db)
    const c = await server.client(db)
    let r = await runCli(['migrations', 'status'], env)
    t.equal(r.code, 3, 'status of an empty database: exit 3')
    t.match(r.stdout, "Database needs bootstrapping; run 'tollgate migrations bootstrap'")
    r = await migrations(['migrations', 'up'], env)
    cleanError(t, r, /^Error: Database needs bootstrapping; run 'tollgate migrations bootstrap'\n$/)
    t.same(await tables(c), [], 'up created nothing')

    r = await runCli(['migrations', 'bootstrap'], env)
    t.equal(r.code, 0, 'bootstrap: exit 0')
    t.equal(r.stdout, 'Bootstrapping database...\nmigrated 000_base\nmigrated 001_database_id\n2 migrations processed\nDatabase is up-to-date\n')
    t.same(await tables(c), TABLES, 'the tables')
    t.same((await c.query("SELECT value::int AS v FROM tollgate_meta WHERE key = 'version'")).rows, [{ v: 0 }], 'at version 0')
    r = await migrations(['migrations', 'bootstrap'], env)
    t.same([r.code, r.stdout], [0, 'Bootstrapping database...\nDatabase already bootstrapped\n'], 'bootstrap again: already bootstrapped, exit 0')
    r = await migrations(['migrations', 'status'], env)
    t.same([r.code, r.stdout], [0, 'Executed migrations:\n  000_base\n  001_database_id\n\nDatabase is up-to-date\n'], 'status: up to date, exit 0')
    r = await migrations(['migrations', 'up'], env)
    t.same([r.code, r.stdout], [0, 'Database is already up-to-date\n'])

    // A database bootstrapped before 001_database_id: status exit 5, start refused, up runs it.
    const id = (await c.query("SELECT value FROM tollgate_meta WHERE key = 'database_id'")).rows
    t.equal(id.length, 1, 'bootstrap made the database id')
    await c.query("DELETE FROM tollgate_migrations WHERE name = '001_database_id'")
    await c.query("DELETE FROM tollgate_meta WHERE key = 'database_id'")
    r = await runCli(['migrations', 'status'], env)
    t.equal(r.code, 5, 'status with a pending migration: exit 5')
    t.equal(r.stdout, "Executed migrations:\n  000_base\n\nNew migrations available:\n  001_database_id\n\nRun 'tollgate migrations up' to proceed\n")
    const refused = await runCli(['start', '--prefix', tempDir(t)], { ...env, TOLLGATE_PROXY_LISTEN: '127.0.0.1:0', TOLLGATE_ADMIN_LISTEN: '127.0.0.1:0' }, 30_000)
    cleanError(t, refused, /^Error: Database has pending migrations \(001_database_id\); run 'tollgate migrations up' \(or start with --run-migrations\)\n$/)
    r = await migrations(['migrations', 'up'], env)
    t.same([r.code, r.stdout], [0, 'migrated 001_database_id\n1 migration processed\nDatabase is up-to-date\n'], 'up runs it')
    t.equal((await c.query("SELECT value FROM tollgate_meta WHERE key = 'database_id'")).rows.length, 1, 'the database id made')
    t.equal((await migrations(['migrations', 'status'], env)).code, 0, 'up to date')

    await c.query("INSERT INTO tollgate_entities (entity, id, value) VALUES ('services', 'x', '{}')")
    r = await runCli(['migrations', 'reset'], env)
    cleanError(t, r, /^Error: reset drops every table of Tollgate and all the configuration in them; run it again with --yes to confirm\n$/)
    t.same(await tables(c), TABLES, 'reset without --yes dropped nothing')
    t.same((await c.query('SELECT id FROM tollgate_entities')).rows, [{ id: 'x' }], 'nor deleted a row')
    r = await migrations(['migrations', 'reset', '--yes'], env)
    t.same([r.code, r.stdout], [0, 'Database reset\n'], 'reset --yes')
    t.same(await tables(c), [], 'every table dropped')
    r = await migrations(['migrations', 'reset', '-y'], env)
    t.same([r.code, r.stdout], [0, 'Database was not bootstrapped: nothing to reset\n'])
    t.equal((await migrations(['migrations', 'status'], env)).code, 3, 'needs bootstrapping again')
  })

  t.test('clear errors: database = lmdb, PostgreSQL unreachable, no such database, a bad command', async (t) => {
    const db = await server.createDatabase()
    cleanError(t, await runCli(['migrations', 'status'], { ...server.env(db), TOLLGATE_DATABASE: 'lmdb' }),
      /^Error: 'tollgate migrations' needs database = postgres \(it is 'lmdb'\)\n$/)
    cleanError(t, await migrations(['migrations', 'bootstrap'], { TOLLGATE_PREFIX: tempDir(t) }),
      /^Error: 'tollgate migrations' needs database = postgres \(it is 'lmdb'\)\n$/)
    const port = await closedPort()
    cleanError(t, await migrations(['migrations', 'status'], { ...server.env(db), TOLLGATE_PG_PORT: String(port) }),
      new RegExp(`^Error: cannot connect to postgres://postgres@127\\.0\\.0\\.1:${port}/${db}: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\n$`))
    cleanError(t, await migrations(['migrations', 'bootstrap'], server.env('nope')),
      /^Error: cannot connect to postgres:\/\/postgres@127\.0\.0\.1:\d+\/nope: database "nope" does not exist\n$/)
    const bad = await migrations(['migrations', 'upgrade'], server.env(db))
    cleanError(t, bad, /^Error: unknown migrations command 'upgrade'\n\nUsage: tollgate migrations/)
    const c = await server.client(db)
    t.same(await tables(c), [], 'none of them created anything')
  })

  t.test("tollgate start: an un-bootstrapped database stops it with Kong's message; --run-migrations bootstraps it", async (t) => {
    const db = await server.createDatabase()
    const env = server.env(db)
    const prefix = tempDir(t)
    const refused = await runCli(['start', '--prefix', prefix], { ...env, TOLLGATE_PROXY_LISTEN: '127.0.0.1:0', TOLLGATE_ADMIN_LISTEN: '127.0.0.1:0' }, 30_000)
    t.not(refused.code, 0, 'a non-zero exit')
    t.match(refused.stderr, /^Error: Database needs bootstrapping; run 'tollgate migrations bootstrap' \(or start with --run-migrations\)\n$/)
    t.notMatch(`${refused.stdout}${refused.stderr}`, /\n\s+at /, 'no stack trace')
    const c = await server.client(db)
    t.same(await tables(c), [], 'nothing created')

    const gw = await startGateway(t, ['--prefix', prefix, '--run-migrations'], env)
    t.match(gw.output(), /"migrations":\["000_base","001_database_id"\],"msg":"database migrated"/, 'it logged the migrations it ran')
    t.same(await tables(c), TABLES)
    t.equal((await call(`${gw.admin}/services`, 'POST', { name: 's', url: 'http://upstream.test' })).status, 201, 'it serves, and writes')
    t.same((await c.query("SELECT entity, value->>'name' AS name FROM tollgate_entities")).rows, [{ entity: 'services', name: 's' }], 'to PostgreSQL')
    t.equal((await migrations(['migrations', 'status'], env)).code, 0, 'up to date')
  })

  t.test('pg_schema (mixed case, as Kong keeps it): bootstrap creates the schema and its tables there; the gateway uses it', async (t) => {
    const db = await server.createDatabase()
    const env = { ...server.env(db), TOLLGATE_PG_SCHEMA: 'Tg_Schema' }
    const c = await server.client(db)
    const r = await migrations(['migrations', 'bootstrap'], env)
    t.equal(r.code, 0, `bootstrap: ${r.stderr}`)
    t.same(await tables(c, 'Tg_Schema'), TABLES, 'the tables, in the schema')
    t.same(await tables(c, 'public'), [], 'none in public')
    t.equal((await migrations(['migrations', 'status'], env)).code, 0, 'status with the schema: up to date')
    t.equal((await migrations(['migrations', 'status'], server.env(db))).code, 3, 'status without it: needs bootstrapping')

    const gw = await startGateway(t, ['--prefix', tempDir(t)], env)
    t.equal((await call(`${gw.admin}/services`, 'POST', { name: 'in-schema', url: 'http://upstream.test' })).status, 201)
    t.same((await c.query(`SELECT value->>'name' AS name FROM "Tg_Schema".tollgate_entities`)).rows, [{ name: 'in-schema' }], 'written to the schema')
    t.same((await c.query(`SELECT value::int AS v FROM "Tg_Schema".tollgate_meta WHERE key = 'version'`)).rows, [{ v: 1 }])
    t.match((await call(`${gw.admin}/status`)).body, { database: { reachable: true }, configuration_version: 1 })
  })

  t.test('two nodes started with --run-migrations at once both start, on one schema', async (t) => {
    const db = await server.createDatabase()
    const env = server.env(db)
    const [one, two] = await Promise.all([0, 1].map(() => startGateway(t, ['--prefix', tempDir(t), '--run-migrations'], env)))
    if (one === undefined || two === undefined) throw new Error('two gateways')
    const ran = [one, two].map((g) => /"msg":"database migrated"/.test(g.output()))
    t.same(ran.sort(), [false, true], 'one of them ran the migrations')
    const c = await server.client(db)
    t.same((await c.query('SELECT name FROM tollgate_migrations ORDER BY name')).rows, [{ name: '000_base' }, { name: '001_database_id' }], 'once')
    t.equal((await call(`${one.admin}/services`, 'POST', { name: 'shared', url: 'http://upstream.test' })).status, 201)
    await until(async () => (await call(`${two.admin}/services/shared`)).status === 200, 'the other node to see the write')
    t.pass('they share the database')
  })
}
