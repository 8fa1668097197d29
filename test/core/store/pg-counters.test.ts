// The rate-limiting `cluster` policy's counters with database = postgres (PgCounters):
// one atomic upsert per increment, shared by every process of every node.

import t, { type Test } from 'tap'
import { PgCounters } from '../../../core/store/pg/counters.js'
import { until } from '../../helpers/gateway.js'
import { postgresAvailable, startPostgres, type PgServer } from '../../helpers/postgres.js'
import { freshDatabase } from '../../helpers/pg-store.js'
import { counterBasics } from './suite/counters.js'

async function counters (t: Test, server: PgServer, db: string, over: { maxConcurrent?: number } = {}): Promise<PgCounters> {
  const c = new PgCounters(server.settings(db, over))
  t.teardown(() => c.close())
  return c
}

if (postgresAvailable(t)) {
  const server = await startPostgres(t)

  t.test('adds, starts absent counters from 0, keeps the first expiry', async (t) => {
    await counterBasics(t, await counters(t, server, await freshDatabase(server)))
  })

  t.test('two nodes (two pools, one capped by pg_max_concurrent_queries) counting at once: every value once', async (t) => {
    const db = await freshDatabase(server)
    const a = await counters(t, server, db)
    const b = await counters(t, server, db, { maxConcurrent: 1 })
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? a : b).incrCounter('k', 1, 60)))
    t.same([...results].sort((x, y) => x - y), Array.from({ length: 200 }, (_, i) => i + 1))
  })

  t.test('an expired counter starts again from its increment', async (t) => {
    const c = await counters(t, server, await freshDatabase(server))
    await c.incrCounter('short', 7, 0.05)
    await until(async () => await c.getCounter('short') === undefined, 'the counter to expire')
    t.equal(await c.incrCounter('short', 1, 60), 1, 'a new life, with the new expiry')
    t.equal(await c.incrCounter('short', 1, 60), 2)
  })

  t.test('counting is not a config change: the change log and version stay as they were', async (t) => {
    const db = await freshDatabase(server)
    const c = await counters(t, server, db)
    await c.incrCounter('x', 1, 60)
    const pg = await server.client(db)
    const { rows } = await pg.query("SELECT (SELECT value FROM tollgate_meta WHERE key = 'version') AS v, (SELECT count(*) FROM tollgate_changes) AS n")
    t.same(rows[0], { v: '0', n: '0' })
  })
}
