// PostgreSQL goes away under two nodes (database = postgres, issue #19): stopped with
// `pg_ctl stop -m immediate` (a crash) while both proxies are under steady load. The
// proxies serve their copies without one failed request; Admin API writes answer 503 with
// a clear message and reads answer from the copy; /status says the database is
// unreachable; a node restarted meanwhile serves its copy, and a new node starts empty.
// PostgreSQL back: every node reconnects, listens again and follows.

import t from 'tap'
import { Agent, request } from 'undici'
import { echo, startUpstream, until } from '../helpers/gateway.js'
import { freshDatabase } from '../helpers/pg-store.js'
import { call, listenerPid, startPgNode, write, type PgNode } from '../helpers/pg-nodes.js'
import { postgresAvailable, startPostgres } from '../helpers/postgres.js'
import { tempDir } from '../helpers/store.js'

interface Load {
  /** Answers 200 so far. */
  ok(): number
  failures: string[]
  stop(): Promise<void>
}

/**
 * `clients` loops sending GET `path` to `url` one after another, each on its own keep-alive
 * connection, until stopped (or `cap` requests): loopback only, bounded.
 */
function steadyLoad (url: string, path: string, clients: number, cap = 200_000): Load {
  let ok = 0
  const failures: string[] = []
  const agent = new Agent({ connections: clients })
  let stopped = false
  let sent = 0
  const loop = async (): Promise<void> => {
    while (!stopped && sent < cap) {
      sent++
      try {
        const res = await request(`${url}${path}`, { dispatcher: agent })
        const body = await res.body.text()
        if (res.statusCode === 200) ok++
        else failures.push(`${url}: ${res.statusCode} ${body.slice(0, 200)}`)
      } catch (err) {
        failures.push(`${url}: ${(err as Error).message}`)
      }
    }
  }
  const loops = Array.from({ length: clients }, () => loop())
  return {
    ok: () => ok,
    failures,
    async stop () {
      stopped = true
      await Promise.all(loops)
      await agent.close()
    },
  }
}

const reachable = async (node: PgNode): Promise<boolean> => (await call(`${node.admin}/status`)).body.database.reachable as boolean
const proxied = async (node: PgNode, path: string): Promise<number> => (await call(`${node.proxy}${path}`, 'GET', undefined, {}, { reset: true })).status

if (postgresAvailable(t)) {
  const server = await startPostgres(t)

  t.test('PostgreSQL stopped under load, a node restarted and one started meanwhile, PostgreSQL back', async (t) => {
    const db = await freshDatabase(server)
    const up = await startUpstream(t, echo)
    // A polls every second; B only hourly, so what reaches B after the outage came by LISTEN.
    const a = await startPgNode(t, server, db, { config: { db_update_frequency: '1' } })
    const bPrefix = tempDir(t)
    const bConfig = { db_update_frequency: '3600' }
    let b = await startPgNode(t, server, db, { prefix: bPrefix, config: bConfig })
    await write(t, a.admin, 'POST', '/services', { name: 'steady', url: up.url }, 201)
    await write(t, a.admin, 'POST', '/services/steady/routes', { name: 'steady', paths: ['/steady'] }, 201)
    await until(async () => await proxied(b, '/steady') === 200, 'B to serve /steady')
    const version = a.gateway.store.version()

    // Steady load, 3 clients per proxy, from before the stop until after PostgreSQL is back
    // (B's own load is replaced when B restarts, as its port changes).
    const loadA = steadyLoad(a.proxy, '/steady', 3)
    const loadB1 = steadyLoad(b.proxy, '/steady', 3)
    await until(() => loadA.ok() >= 100 && loadB1.ok() >= 100, 'the load to be under way on both proxies')
    await server.stop('immediate')
    const atStop = [loadA.ok(), loadB1.ok()]
    t.pass(`PostgreSQL stopped (immediate) after ${atStop.join(' + ')} proxied requests`)

    // Admin API writes: 503 and why, on both nodes.
    for (const [name, node] of [['A', a], ['B', b]] as const) {
      const r = await call(`${node.admin}/services`, 'POST', { name: `during-${name}`, url: up.url })
      t.equal(r.status, 503, `${name}: a write answers 503`)
      t.match(r.body?.message, /^the database is unavailable \(.+\): writes are refused until it is back; the proxy keeps serving this node's copy of the configuration$/, `${name}: the message says why`)
      const patch = await call(`${node.admin}/services/steady`, 'PATCH', { retries: 1 })
      t.equal(patch.status, 503, `${name}: an update answers 503 too`)
      const del = await call(`${node.admin}/routes/steady`, 'DELETE')
      t.equal(del.status, 503, `${name}: a delete answers 503 too`)
    }
    await until(async () => !await reachable(a) && !await reachable(b), '/status to say the database is unreachable on both nodes')
    t.pass('/status: database.reachable false on A and B')
    for (const [name, node] of [['A', a], ['B', b]] as const) {
      const r = await call(`${node.admin}/services/steady`)
      t.match([r.status, r.body], [200, { name: 'steady', retries: 5 }], `${name}: Admin API reads answer from the copy`)
      t.equal((await call(`${node.admin}/routes`)).body.data.length, 1, `${name}: lists too`)
      t.equal((await call(`${node.admin}/status`)).body.configuration_version, version, `${name}: at the version it had`)
    }
    await until(() => loadA.ok() >= (atStop[0] as number) + 200 && loadB1.ok() >= (atStop[1] as number) + 200, 'the load to go on after the stop')
    await loadB1.stop()
    t.same(loadB1.failures, [], "not one of B's proxied requests failed before its restart")

    // B restarted during the outage serves its copy; a new node starts, empty.
    await b.stop()
    b = await startPgNode(t, server, db, { prefix: bPrefix, config: bConfig })
    t.equal(await proxied(b, '/steady'), 200, 'B restarted during the outage serves its copy')
    t.match((await call(`${b.admin}/status`)).body, { database: { reachable: false }, configuration_version: version }, "B's /status after the restart")
    t.equal((await call(`${b.admin}/services`, 'POST', { name: 'x', url: up.url })).status, 503, 'B: writes still answer 503')
    t.equal((await call(`${b.admin}/services/steady`)).status, 200, 'B: reads answer from the copy')
    const loadB2 = steadyLoad(b.proxy, '/steady', 3)
    const c = await startPgNode(t, server, db)
    t.equal(await proxied(c, '/steady'), 404, 'a new node started during the outage has no configuration yet')
    t.equal((await call(`${c.admin}/status`)).body.database.reachable, false)

    // PostgreSQL back: every node reconnects and follows.
    await server.start()
    await until(async () => await reachable(a) && await reachable(b) && await reachable(c), '/status to say reachable again on A, B and C')
    t.pass('A, B and C reconnected')
    await until(async () => await proxied(c, '/steady') === 200, 'the new node to load the configuration')
    const pg = await server.client()
    await until(async () => await listenerPid(pg, b.nodeId) !== undefined, 'B to LISTEN again')
    for (let i = 0; i < 3; i++) {
      await write(t, a.admin, 'POST', '/services/steady/routes', { paths: [`/after${i}/`] }, 201)
      await until(async () => await proxied(b, `/after${i}/`) === 200 && await proxied(c, `/after${i}/`) === 200, `B and C to serve /after${i}/`)
    }
    t.pass("A's writes reach B by NOTIFY again (B polls hourly)")
    await write(t, b.admin, 'POST', '/services/steady/routes', { paths: ['/from-b/'] }, 201)
    await until(async () => await proxied(a, '/from-b/') === 200 && await proxied(c, '/from-b/') === 200, "A and C to serve B's write")
    t.pass('B writes again, and A and C follow')
    t.equal(b.gateway.store.version(), a.gateway.store.version())
    t.equal(c.gateway.store.version(), a.gateway.store.version())
    await Promise.all([loadA.stop(), loadB2.stop()])
    t.same([...loadA.failures, ...loadB2.failures], [], 'not one proxied request failed, from before the stop until PostgreSQL was back and written to')
    t.ok(loadB2.ok() > 0, 'B restarted was under load too')
    t.comment(`proxied: A ${loadA.ok()}, B ${loadB1.ok()} + ${loadB2.ok()} after its restart (${atStop.join(' + ')} before the stop)`)
  })
}
