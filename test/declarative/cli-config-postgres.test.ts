// `tollgate config db_import|db_export|diff|sync` with database = postgres: they write to
// the shared database (through a throwaway copy), and every node follows.

import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { configCommand } from '../../core/cli/config.js'
import { postgresAvailable, startPostgres } from '../helpers/postgres.js'
import { freshDatabase } from '../helpers/pg-store.js'
import { startTestGateway, until } from '../helpers/gateway.js'
import { tempDir } from '../helpers/store.js'
import { KONG_YML } from './fixtures.js'

async function run (args: string[]): Promise<{ code: number, out: string, err: string }> {
  let out = ''
  let err = ''
  const code = await configCommand(args, { out: (s) => { out += s }, err: (s) => { err += s } })
  return { code, out, err }
}

if (postgresAvailable(t)) {
  const server = await startPostgres(t)

  t.test('db_import writes to the database; a running node serves it; db_export and sync read and change it', async (t) => {
    const db = await freshDatabase(server)
    const dir = tempDir(t)
    const conf = join(dir, 'tollgate.conf')
    writeFileSync(conf, `database = postgres\npg_port = ${server.port}\npg_user = postgres\npg_database = ${db}\nprefix = ${join(dir, 'cli-prefix')}\n`)
    const node = await startTestGateway(t, { config: { database: 'postgres', pg_port: String(server.port), pg_user: 'postgres', pg_database: db } })
    writeFileSync(join(dir, 'kong.yml'), KONG_YML)

    const imported = await run(['db_import', join(dir, 'kong.yml'), '-c', conf])
    t.equal(imported.code, 0, imported.err)
    const c = await server.client(db)
    const { rows } = await c.query<{ entity: string, n: string }>('SELECT entity, count(*) AS n FROM tollgate_entities GROUP BY entity ORDER BY entity')
    t.same(rows.map((r) => [r.entity, Number(r.n)]), [['consumers', 1], ['keyauth_credentials', 1], ['plugins', 1], ['routes', 1], ['services', 1]], 'the rows are in the database')
    await until(async () => (await request(`${node.proxy}/billing`, { headers: { apikey: 'wrong' } })).statusCode === 401, 'the running node to serve the imported route')

    const exported = await run(['db_export', join(dir, 'out.yml'), '-c', conf])
    t.equal(exported.code, 0, exported.err)

    writeFileSync(join(dir, 'kong.yml'), KONG_YML.replace('/billing]', '/billing, /invoices]'))
    const diff = await run(['diff', join(dir, 'kong.yml'), '-c', conf])
    t.equal(diff.code, 2, 'diff exits 2 when there are differences, as decK --non-zero-exit-code')
    t.match(diff.out, /updating route billing-route/)
    const sync = await run(['sync', join(dir, 'kong.yml'), '-c', conf])
    t.equal(sync.code, 0, sync.err)
    await until(async () => (await request(`${node.proxy}/invoices`)).statusCode === 401, 'the node to follow the sync')
  })

  t.test('an unbootstrapped or unreachable database: a message and exit 1', async (t) => {
    const dir = tempDir(t)
    const empty = await server.createDatabase()
    const conf = join(dir, 'a.conf')
    writeFileSync(conf, `database = postgres\npg_port = ${server.port}\npg_user = postgres\npg_database = ${empty}\nprefix = ${join(dir, 'p')}\n`)
    writeFileSync(join(dir, 'kong.yml'), KONG_YML)
    const r = await run(['db_import', join(dir, 'kong.yml'), '-c', conf])
    t.equal(r.code, 1)
    t.match(r.err, /needs bootstrapping/)
    const down = join(dir, 'b.conf')
    writeFileSync(down, `database = postgres\npg_port = 1\npg_user = postgres\npg_database = x\npg_timeout = 1000\nprefix = ${join(dir, 'p')}\n`)
    const d = await run(['db_import', join(dir, 'kong.yml'), '-c', down])
    t.equal(d.code, 1)
    t.match(d.err, /cannot reach the database postgres:\/\/postgres@127\.0\.0\.1:1\/x/)
  })
}
