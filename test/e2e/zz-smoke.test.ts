import t from 'tap'
import { request } from 'undici'
import { postgresAvailable, startPostgres } from '../helpers/postgres.js'
import { freshDatabase } from '../helpers/pg-store.js'
import { startTestGateway, startUpstream, echo, until } from '../helpers/gateway.js'

if (postgresAvailable(t)) t.test('smoke', async (t) => {
  const pg = await startPostgres(t)
  const db = await freshDatabase(pg)
  const cfg = { database: 'postgres', pg_port: String(pg.port), pg_user: 'postgres', pg_database: db } as const
  const a = await startTestGateway(t, { config: cfg })
  const b = await startTestGateway(t, { config: cfg })
  const up = await startUpstream(t, echo)
  const t0 = Date.now()
  await a.admin$('POST', '/services', { name: 's', url: up.url })
  await a.admin$('POST', '/services/s/routes', { paths: ['/x'] })
  await until(async () => (await request(`${b.proxy}/x`)).statusCode === 200, 'b routes')
  t.ok(true, `propagated in ${Date.now() - t0} ms`)
  const dup = await Promise.all([a, b].map((g) => request(`${g.admin}/consumers`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bob' }) }).then((r) => r.statusCode)))
  t.same(dup.sort(), [201, 409])
  const st = await (await request(`${b.admin}/status`)).body.json() as any
  t.equal(st.database.reachable, true)
  t.equal(st.configuration_version, 3)
})
