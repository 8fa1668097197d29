// Several nodes on one PostgreSQL database (database = postgres, issue #19), on one
// machine: a real PostgreSQL started for this file, and nodes with their own prefixes and
// ports. What a change made on one node does on the others: each arrives and is served;
// concurrent writes of one name conflict exactly once; a killed LISTEN connection is
// replaced, and polling alone delivers; a stopped node catches up, or loads everything
// again when the change log no longer reaches back; a node's worker processes follow.
// Every wait is for a condition (until); the propagation times are printed, not asserted.

import t from 'tap'
import { echo, memoryLogger, startUpstream, until } from '../helpers/gateway.js'
import { freshDatabase, pgCopy } from '../helpers/pg-store.js'
import { call, listenerPid, percentile, startPgNode, write, type Answer, type PgNode } from '../helpers/pg-nodes.js'
import { postgresAvailable, startPostgres } from '../helpers/postgres.js'
import { runCli, startGateway } from '../helpers/process.js'
import { tempDir } from '../helpers/store.js'

// Proxy requests close their connection (undici's `reset`): a stopped node's proxy drains
// idle keep-alive connections only as they time out, seconds later.
const proxied = (node: PgNode, path: string, headers: Record<string, string> = {}): Promise<Answer> => call(`${node.proxy}${path}`, 'GET', undefined, headers, { reset: true })

/** The path the echo upstream received, or undefined when the proxy did not answer 200. */
async function upstreamPath (node: PgNode, path: string, headers: Record<string, string> = {}): Promise<string | undefined> {
  const r = await proxied(node, path, headers)
  return r.status === 200 ? r.body.url as string : undefined
}

const status = async (node: PgNode, path: string, headers: Record<string, string> = {}): Promise<number> => (await proxied(node, path, headers)).status
const adminStatus = async (node: PgNode, path: string): Promise<number> => (await call(`${node.admin}${path}`)).status

if (postgresAvailable(t)) {
  const server = await startPostgres(t)

  t.test('100 changes made on A (creates, updates, deletes) are each served by B', async (t) => {
    const db = await freshDatabase(server)
    const up = await startUpstream(t, echo)
    const a = await startPgNode(t, server, db)
    const b = await startPgNode(t, server, db)
    t.not(a.nodeId, b.nodeId, 'two nodes')
    // When B's copy reached each version (its store announces every applied row).
    const copied = new Map<number, number>()
    b.gateway.store.onChange((e) => { if (!copied.has(e.version)) copied.set(e.version, performance.now()) })

    const timings: Array<{ answered: number, copied: number, served: number }> = []
    const change = async (method: string, path: string, body: unknown, expect: number, seen: () => Promise<boolean>, what: string): Promise<void> => {
      const sent = performance.now()
      await write(t, a.admin, method, path, body, expect)
      const answered = performance.now()
      const version = a.gateway.store.version()
      await until(seen, `B to serve change ${timings.length + 1} (${what})`)
      const served = performance.now()
      // The Admin API and the router read the copy itself, which can have the rows a moment
      // before the store announces them: the copy had them by the earlier of the two.
      const at = Math.min(copied.get(version) ?? served, served)
      timings.push({ answered: answered - sent, copied: at - sent, served: served - sent })
    }

    // Paths end in '/': Kong's prefix match would route /q21 to /q2, but never /q21/ to /q2/
    // (the upstream then gets the service's path with the '/' kept: /base0/).
    for (let i = 0; i < 25; i++) {
      await change('POST', '/services', { name: `svc${i}`, url: `${up.url}/base${i}` }, 201,
        async () => (await call(`${b.admin}/services/svc${i}`)).body?.path === `/base${i}`, `create service svc${i}`)
      await change('POST', `/services/svc${i}/routes`, { name: `r${i}`, paths: [`/p${i}/`] }, 201,
        async () => await upstreamPath(b, `/p${i}/`) === `/base${i}/`, `create route /p${i}/`)
      await change('PATCH', `/routes/r${i}`, { paths: [`/q${i}/`] }, 200,
        async () => await upstreamPath(b, `/q${i}/`) === `/base${i}/` && await status(b, `/p${i}/`) === 404, `route r${i} moved to /q${i}/`)
      if (i % 2 === 0) {
        await change('PATCH', `/services/svc${i}`, { path: `/moved${i}` }, 200,
          async () => await upstreamPath(b, `/q${i}/`) === `/moved${i}/`, `service svc${i} path updated`)
      } else {
        await change('DELETE', `/routes/r${i}`, undefined, 204,
          async () => await status(b, `/q${i}/`) === 404 && await adminStatus(b, `/routes/r${i}`) === 404, `route r${i} deleted`)
      }
    }
    t.equal(timings.length, 100, 'all 100 changes were served by B')
    t.equal(b.gateway.store.version(), a.gateway.store.version(), "B's copy is at A's version")
    t.match((await call(`${b.admin}/status`)).body, { database: { reachable: true }, configuration_version: a.gateway.store.version() }, "B's /status")
    // The whole configuration is the same on both nodes.
    for (const path of ['/services?size=1000', '/routes?size=1000']) {
      t.same((await call(`${b.admin}${path}`)).body.data, (await call(`${a.admin}${path}`)).body.data, `GET ${path}: B as A`)
    }
    const report = (k: 'answered' | 'copied' | 'served'): string => {
      const v = timings.map((x) => x[k])
      return `p50 ${percentile(v, 50).toFixed(1)} ms, p99 ${percentile(v, 99).toFixed(1)} ms, max ${Math.max(...v).toFixed(1)} ms`
    }
    // From the write being sent to A: A's answer; B's copy at that version; B's proxy or
    // Admin API answering with the change (checked every ~5 ms, so a few ms coarser).
    t.comment(`A answered the write:   ${report('answered')}`)
    t.comment(`B's copy had it:        ${report('copied')}`)
    t.comment(`B served it:            ${report('served')}`)
  })

  t.test('the same name POSTed to A and B at once: one 201 and one 409, 20 times', async (t) => {
    const db = await freshDatabase(server)
    const up = await startUpstream(t, echo)
    const a = await startPgNode(t, server, db)
    const b = await startPgNode(t, server, db)
    const won = { a: 0, b: 0 }
    for (let i = 0; i < 20; i++) {
      const body = { name: `dup${i}`, url: up.url }
      // Sent together, A's first or B's first in turn.
      const post = (node: PgNode): Promise<Answer> => call(`${node.admin}/services`, 'POST', body)
      const [ra, rb] = i % 2 === 0 ? await Promise.all([post(a), post(b)]) : (await Promise.all([post(b), post(a)])).reverse() as [Answer, Answer]
      t.same([ra.status, rb.status].sort(), [201, 409], `dup${i}: one 201 and one 409 (A ${ra.status}, B ${rb.status})`)
      t.match((ra.status === 409 ? ra : rb).body, { code: 5, name: 'unique constraint violation', message: `UNIQUE violation detected on '{name="dup${i}"}'` })
      if (ra.status === 201) won.a++; else won.b++
    }
    t.comment(`A won ${won.a}, B won ${won.b}`)
    await until(() => b.gateway.store.version() === a.gateway.store.version() && a.gateway.store.version() === 20, 'both nodes at version 20')
    const names = async (node: PgNode): Promise<string[]> => (await call(`${node.admin}/services?size=100`)).body.data.map((s: any) => `${s.name as string} ${s.id as string}`).sort()
    const onA = await names(a)
    t.equal(onA.length, 20, 'twenty services, one per name')
    t.same(await names(b), onA, 'the same twenty (same ids) on B')
    const c = await server.client(db)
    t.same((await c.query("SELECT count(*)::int AS n FROM tollgate_entities WHERE entity = 'services'")).rows[0], { n: 20 }, 'twenty rows in PostgreSQL')
  })

  t.test('a cascade delete on A (a consumer with its key and plugin; routes and a service with their plugins) is seen on B', async (t) => {
    const db = await freshDatabase(server)
    const up = await startUpstream(t, echo)
    const a = await startPgNode(t, server, db)
    const b = await startPgNode(t, server, db)
    await write(t, a.admin, 'POST', '/services', { name: 'cs', url: up.url }, 201)
    await write(t, a.admin, 'POST', '/services/cs/routes', { name: 'cr1', paths: ['/c1'] }, 201)
    await write(t, a.admin, 'POST', '/services/cs/routes', { name: 'cr2', paths: ['/c2'] }, 201)
    const routePlugin = await write(t, a.admin, 'POST', '/routes/cr1/plugins', { name: 'key-auth' }, 201)
    const servicePlugin = await write(t, a.admin, 'POST', '/services/cs/plugins', { name: 'rate-limiting', config: { year: 1000, policy: 'local' } }, 201)
    await write(t, a.admin, 'POST', '/consumers', { username: 'carol' }, 201)
    const key = await write(t, a.admin, 'POST', '/consumers/carol/key-auth', { key: 'carol-key' }, 201)
    const consumerPlugin = await write(t, a.admin, 'POST', '/consumers/carol/plugins', { name: 'rate-limiting', config: { year: 500, policy: 'local' } }, 201)
    // The last write: carol's plugin counts her requests on B.
    await until(async () => (await proxied(b, '/c1', { apikey: 'carol-key' })).headers['x-ratelimit-limit-year'] === '500', "B to apply carol's plugin")
    t.equal(await status(b, '/c1'), 401, 'B: key-auth on /c1')
    t.equal((await proxied(b, '/c2')).headers['x-ratelimit-limit-year'], '1000', "B: the service's plugin")

    // Routes refer to the service without cascade: refused on A, nothing changes anywhere.
    const version = a.gateway.store.version()
    const refused = await call(`${a.admin}/services/cs`, 'DELETE')
    t.match([refused.status, refused.body], [400, { name: 'foreign key violation' }], 'a service with routes is not deleted')
    t.equal(a.gateway.store.version(), version, 'the refused delete made no version')

    // One write, three rows: the consumer, its key, its plugin.
    await write(t, a.admin, 'DELETE', '/consumers/carol', undefined, 204)
    await until(async () => await status(b, '/c1', { apikey: 'carol-key' }) === 401, 'B to refuse carol-key')
    t.equal(await adminStatus(b, '/consumers/carol'), 404, 'B: carol gone')
    t.equal(await adminStatus(b, `/key-auths/${key.id as string}`), 404, 'B: her key gone with her')
    t.equal(await adminStatus(b, `/plugins/${consumerPlugin.id as string}`), 404, 'B: her plugin gone with her')

    await write(t, a.admin, 'DELETE', '/routes/cr1', undefined, 204)
    await write(t, a.admin, 'DELETE', '/routes/cr2', undefined, 204)
    await write(t, a.admin, 'DELETE', '/services/cs', undefined, 204)
    await until(async () => await adminStatus(b, '/services/cs') === 404, 'B: the service gone')
    t.equal(await adminStatus(b, `/plugins/${routePlugin.id as string}`), 404, "B: the route's plugin gone with it")
    t.equal(await adminStatus(b, `/plugins/${servicePlugin.id as string}`), 404, "B: the service's plugin gone with it")
    t.same([await status(b, '/c1'), await status(b, '/c2')], [404, 404], "B's proxy: both routes gone")
    t.same((await call(`${b.admin}/plugins`)).body.data, [], 'B: no plugin left')
    const c = await server.client(db)
    t.same((await c.query('SELECT entity, id FROM tollgate_entities')).rows, [], 'PostgreSQL: no row left')
  })

  t.test("B's LISTEN connection killed: a change on A still arrives, and B listens again", async (t) => {
    const db = await freshDatabase(server)
    const up = await startUpstream(t, echo)
    const a = await startPgNode(t, server, db)
    // B polls once an hour: within this test a change reaches it by LISTEN or by the
    // catch-up after it reconnects, nothing else.
    const b = await startPgNode(t, server, db, { config: { db_update_frequency: '3600' } })
    const nodeId = (await call(`${b.admin}/`)).body.node_id as string
    t.equal(nodeId, b.nodeId)
    const c = await server.client()
    let first: number | undefined
    await until(async () => (first = await listenerPid(c, nodeId)) !== undefined, "B's listener in pg_stat_activity")
    const killed = await c.query<{ ok: boolean }>('SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1', [`tollgate listener ${nodeId}`])
    t.same(killed.rows, [{ ok: true }], 'one listener connection terminated')

    await write(t, a.admin, 'POST', '/services', { name: 'k', url: up.url }, 201)
    await write(t, a.admin, 'POST', '/services/k/routes', { name: 'k', paths: ['/after-kill'] }, 201)
    await until(async () => await status(b, '/after-kill') === 200, 'B to serve the change made after its listener was killed')
    let second: number | undefined
    await until(async () => (second = await listenerPid(c, nodeId)) !== undefined, 'a new listener of B')
    t.not(second, first, 'B listens on a new connection')
    // With the poll an hour away, these can only come by NOTIFY on the new connection.
    for (let i = 0; i < 3; i++) {
      await write(t, a.admin, 'POST', '/services/k/routes', { paths: [`/relisten${i}`] }, 201)
      await until(async () => await status(b, `/relisten${i}`) === 200, `B to serve /relisten${i} (notified)`)
    }
    t.equal(await listenerPid(c, nodeId), second, 'still the one new listener')
  })

  t.test('listen: false: changes arrive by polling alone', async (t) => {
    const db = await freshDatabase(server)
    const a = await pgCopy(t, server, db)
    const b = await pgCopy(t, server, db, {}, { listen: false, pollMs: 200 })
    const c = await server.client()
    await until(async () => await listenerPid(c, a.store.nodeId()) !== undefined, "A's listener")
    t.equal(await listenerPid(c, b.store.nodeId()), undefined, 'B has no LISTEN connection')
    t.equal(b.replica.status().listening, false)
    const s = await a.store.insert('services', { name: 'polled', url: 'http://polled.test' })
    await until(() => b.store.find('services', { name: 'polled' })?.id === s.id, 'B to poll the new service')
    await a.store.update('services', { name: 'polled' }, { retries: 9 })
    await until(() => b.store.find('services', { name: 'polled' })?.retries === 9, 'B to poll the update')
    await a.store.delete('services', { name: 'polled' })
    await until(() => b.store.find('services', { name: 'polled' }) === undefined, 'B to poll the delete')
    t.equal(b.store.version(), a.store.version(), 'B at A\'s version')
    t.same(b.replica.status(), { reachable: true, listening: false, version: 3 })
  })

  t.test('B stopped and started again on its prefix: it catches up; with the change log pruned, it loads everything', async (t) => {
    const db = await freshDatabase(server)
    const up = await startUpstream(t, echo)
    const a = await startPgNode(t, server, db)
    const prefix = tempDir(t)
    let logged = memoryLogger('info')
    let b = await startPgNode(t, server, db, { prefix, log: logged.log })
    const fullLoads = (): number => logged.lines.filter((l) => l.msg === 'loaded the whole configuration from the database').length
    t.equal(fullLoads(), 1, 'a new node loads the whole configuration once')
    await write(t, a.admin, 'POST', '/services', { name: 's', url: up.url }, 201)
    await write(t, a.admin, 'POST', '/services/s/routes', { name: 'r0', paths: ['/r0'] }, 201)
    await until(async () => await status(b, '/r0') === 200, 'B to serve /r0')
    await b.stop()

    for (let i = 1; i <= 5; i++) await write(t, a.admin, 'POST', '/services/s/routes', { name: `r${i}`, paths: [`/r${i}`] }, 201)
    await write(t, a.admin, 'DELETE', '/routes/r0', undefined, 204)
    await write(t, a.admin, 'PATCH', '/routes/r1', { paths: ['/moved1'] }, 200)
    logged = memoryLogger('info')
    b = await startPgNode(t, server, db, { prefix, log: logged.log })
    t.equal(b.gateway.store.version(), a.gateway.store.version(), "started at A's version")
    // Caught up before its proxy served: no waiting.
    t.same(await Promise.all(['/r0', '/r1', '/moved1', '/r2', '/r5'].map((p) => status(b, p))), [404, 404, 200, 200, 200], 'B serves the changes made while it was stopped')
    t.equal(fullLoads(), 0, 'caught up from the change log, not by loading everything')
    await b.stop()

    for (let i = 6; i <= 8; i++) await write(t, a.admin, 'POST', '/services/s/routes', { name: `r${i}`, paths: [`/r${i}`] }, 201)
    await write(t, a.admin, 'DELETE', '/routes/r2', undefined, 204)
    await write(t, a.admin, 'PATCH', '/services/s', { path: '/latest' }, 200)
    const c = await server.client(db)
    const pruned = await c.query('DELETE FROM tollgate_changes')
    t.ok((pruned.rowCount ?? 0) > 0, `the change log pruned (${pruned.rowCount ?? 0} rows)`)
    logged = memoryLogger('info')
    b = await startPgNode(t, server, db, { prefix, log: logged.log })
    t.equal(fullLoads(), 1, 'the change log no longer reaches back: the whole configuration loaded')
    t.equal(logged.lines.find((l) => l.msg === 'loaded the whole configuration from the database')?.version, a.gateway.store.version())
    t.same(await Promise.all(['/r2', '/moved1', '/r6', '/r8'].map((p) => upstreamPath(b, p))), [undefined, '/latest', '/latest', '/latest'], 'B serves the latest configuration')
    t.same((await call(`${b.admin}/routes?size=100`)).body.data, (await call(`${a.admin}/routes?size=100`)).body.data, "B's routes are A's")
    // And it follows from there.
    await write(t, a.admin, 'POST', '/services/s/routes', { name: 'r9', paths: ['/r9'] }, 201)
    await until(async () => await status(b, '/r9') === 200, 'B to serve a change made after the full load')
    t.equal(fullLoads(), 1, 'then incrementally again')
  })

  t.test('the database reset and bootstrapped again while B is stopped: B loads the new one whole, even at a version past its own', async (t) => {
    const db = await freshDatabase(server)
    const up = await startUpstream(t, echo)
    const prefix = tempDir(t)
    const a = await startPgNode(t, server, db)
    let b = await startPgNode(t, server, db, { prefix })
    await write(t, a.admin, 'POST', '/services', { name: 'old', url: `${up.url}/old` }, 201)
    await write(t, a.admin, 'POST', '/services/old/routes', { name: 'old', paths: ['/old'] }, 201)
    await until(async () => await status(b, '/old') === 200, 'B to serve /old')
    const before = b.gateway.store.version()
    await b.stop()

    // `tollgate migrations reset --yes` and `bootstrap`; then more writes than B had seen.
    const c = await server.client(db)
    t.equal((await runCli(['migrations', 'reset', '--yes'], server.env(db))).code, 0, 'reset')
    t.equal((await runCli(['migrations', 'bootstrap'], server.env(db))).code, 0, 'bootstrapped again')
    await write(t, a.admin, 'POST', '/services', { name: 'new', url: `${up.url}/new` }, 201)
    for (let i = 0; i < before; i++) await write(t, a.admin, 'POST', '/services/new/routes', { name: `new${i}`, paths: [`/new${i}`] }, 201)
    const after = Number((await c.query("SELECT value FROM tollgate_meta WHERE key = 'version'")).rows[0]?.value)
    t.ok(after > before, `the new database (version ${after}) is past B's copy (version ${before})`)
    t.same(await Promise.all(['/old', '/new0'].map((p) => status(a, p))), [404, 200], 'A follows the new database')

    b = await startPgNode(t, server, db, { prefix })
    t.same(await Promise.all(['/old', '/new0', `/new${before - 1}`].map((p) => status(b, p))), [404, 200, 200], 'B serves the new database, none of the old one')
    t.same((await call(`${b.admin}/services`)).body.data.map((s: any) => s.name), ['new'], "B's Admin API: only the new database's service")
  })

  t.test("worker_processes = 2 on B (a real `tollgate start`): a change on A is served by B's workers", async (t) => {
    const db = await freshDatabase(server)
    const up = await startUpstream(t, echo)
    const a = await startPgNode(t, server, db)
    const b = await startGateway(t, ['--prefix', tempDir(t)], { ...server.env(db), TOLLGATE_WORKER_PROCESSES: '2', TOLLGATE_ALLOW_DEBUG_HEADER: 'on' })
    const workers = (await call(`${b.admin}/`)).body.pids.workers as number[]
    t.equal(workers.length, 2, 'B has two workers')
    /** Requests on fresh connections, several at once, until every worker answered `want` for `path`. */
    const servedByAll = async (path: string, want: number): Promise<void> => {
      const seen = new Set<string>()
      await until(async () => {
        const answers = await Promise.all(Array.from({ length: 8 }, () => call(`${b.proxy}${path}`, 'GET', undefined, { 'kong-debug': '1' }, { reset: true })))
        for (const r of answers) if (r.status === want) seen.add(r.headers['tollgate-worker'] as string)
        return workers.every((w) => seen.has(String(w)))
      }, `both of B's workers to answer ${want} for ${path}`)
    }
    t.equal((await call(`${b.proxy}/w`)).status, 404, 'nothing at /w yet')
    await write(t, a.admin, 'POST', '/services', { name: 'w', url: up.url }, 201)
    await write(t, a.admin, 'POST', '/services/w/routes', { name: 'w', paths: ['/w'] }, 201)
    await servedByAll('/w', 200)
    t.pass("both workers route A's new /w")
    await write(t, a.admin, 'DELETE', '/routes/w', undefined, 204)
    await servedByAll('/w', 404)
    t.pass("both workers follow A's delete")
    t.equal((await call(`${b.admin}/status`)).body.configuration_version, a.gateway.store.version(), "B's version is A's")
  })
}
