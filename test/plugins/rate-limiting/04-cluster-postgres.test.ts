// rate-limiting with policy = cluster and database = postgres (issue #19): two nodes on
// one PostgreSQL count one budget in its tollgate_counters, and with PostgreSQL gone
// fault_tolerant decides: true proxies without headers, false answers 500.
import t from 'tap'
import { echo, memoryLogger, startUpstream, until } from '../../helpers/gateway.js'
import { freshDatabase } from '../../helpers/pg-store.js'
import { startPgNode, write, type PgNode } from '../../helpers/pg-nodes.js'
import { postgresAvailable, startPostgres } from '../../helpers/postgres.js'
import { send } from './helpers.js'
import { windowStarts } from '../../../plugins/rate-limiting/handler.js'

if (postgresAvailable(t)) {
  const server = await startPostgres(t)

  t.test('minute = 5, requests alternating between A and B: the 6th is 429 with Kong\'s headers, counted once in PostgreSQL', async (t) => {
    const db = await freshDatabase(server)
    const up = await startUpstream(t, echo)
    const a = await startPgNode(t, server, db)
    const b = await startPgNode(t, server, db)
    await write(t, a.admin, 'POST', '/services', { name: 's', url: up.url }, 201)
    await write(t, a.admin, 'POST', '/services/s/routes', { name: 'r', paths: ['/rl'] }, 201)
    // Counted by a header each attempt changes: an attempt that straddles a minute leaves
    // the next a full budget.
    await write(t, a.admin, 'POST', '/routes/r/plugins', { name: 'rate-limiting', config: { minute: 5, policy: 'cluster', limit_by: 'header', header_name: 'x-attempt' } }, 201)
    await until(async () => (await send(`${b.proxy}/rl`, { 'x-attempt': 'warm-up' })).headers['x-ratelimit-limit-minute'] === '5', 'B to apply the plugin')
    const c = await server.client(db)
    for (let attempt = 0; attempt < 3; attempt++) {
      const minute = windowStarts(Date.now()).minute
      const seen: Array<Awaited<ReturnType<typeof send>>> = []
      for (let i = 0; i < 6; i++) seen.push(await send(`${(i % 2 === 0 ? a : b).proxy}/rl`, { 'x-attempt': String(attempt) }))
      if (windowStarts(Date.now()).minute !== minute) continue
      t.same(seen.map((r) => r.status), [200, 200, 200, 200, 200, 429], 'A, B, A, B, A pass; B refuses the 6th')
      t.same(seen.map((r) => r.headers['x-ratelimit-limit-minute']), ['5', '5', '5', '5', '5', '5'])
      t.same(seen.map((r) => r.headers['x-ratelimit-remaining-minute']), ['4', '3', '2', '1', '0', '0'], 'one budget across both nodes')
      t.same(seen.map((r) => r.headers['ratelimit-limit']), ['5', '5', '5', '5', '5', '5'])
      t.same(seen.map((r) => r.headers['ratelimit-remaining']), ['4', '3', '2', '1', '0', '0'])
      const refused = seen[5]
      t.match(refused?.body, { message: 'API rate limit exceeded' })
      t.ok(Number(refused?.headers['ratelimit-reset']) >= 1 && Number(refused?.headers['ratelimit-reset']) <= 60, 'RateLimit-Reset: seconds to the next minute')
      t.equal(refused?.headers['retry-after'], refused?.headers['ratelimit-reset'], 'Retry-After as RateLimit-Reset')
      const { rows } = await c.query<{ value: string }>('SELECT value FROM tollgate_counters WHERE key LIKE $1', [`ratelimit:%:${attempt}:${minute}:minute`])
      t.same(rows, [{ value: '5' }], 'one counter in PostgreSQL at 5: the refused request was taken back')
      return
    }
    t.fail('no six requests within one minute window')
  })

  t.test('PostgreSQL stopped: fault_tolerant = true proxies without headers, false answers 500; back, counting resumes', async (t) => {
    const db = await freshDatabase(server)
    const up = await startUpstream(t, echo)
    // What the nodes log (the failed counts) is kept, and checked.
    const logs = [memoryLogger(), memoryLogger()] as const
    const a = await startPgNode(t, server, db, { log: logs[0].log })
    const b = await startPgNode(t, server, db, { log: logs[1].log })
    await write(t, a.admin, 'POST', '/services', { name: 's', url: up.url }, 201)
    for (const [name, tolerant] of [['tolerant', true], ['strict', false]] as const) {
      await write(t, a.admin, 'POST', '/services/s/routes', { name, paths: [`/${name}`] }, 201)
      await write(t, a.admin, 'POST', `/routes/${name}/plugins`, { name: 'rate-limiting', config: { year: 1000, policy: 'cluster', fault_tolerant: tolerant } }, 201)
    }
    const limited = async (node: PgNode, path: string): Promise<boolean> => (await send(`${node.proxy}${path}`)).headers['x-ratelimit-limit-year'] === '1000'
    await until(async () => await limited(b, '/tolerant') && await limited(b, '/strict'), 'B to apply both plugins')
    t.ok(await limited(a, '/strict'), 'A counts too')

    await server.stop('immediate')
    for (const [name, node] of [['A', a], ['B', b]] as const) {
      const ok = await send(`${node.proxy}/tolerant`)
      t.equal(ok.status, 200, `${name}: fault_tolerant = true proxies`)
      t.same(Object.keys(ok.headers).filter((h) => h.toLowerCase().includes('ratelimit')), [], `${name}: without rate-limit headers`)
      t.equal(ok.headers['x-upstream'], 'yes', `${name}: to the upstream`)
      const failed = await send(`${node.proxy}/strict`)
      t.match([failed.status, failed.body], [500, { message: 'An unexpected error occurred' }], `${name}: fault_tolerant = false answers 500`)
    }
    for (const [i, name] of ['A', 'B'].entries()) {
      const lines = logs[i]?.lines ?? []
      t.ok(lines.some((l) => /^failed to count the request: +connect ECONNREFUSED/.test(String(l.msg))), `${name} logged the tolerated failure`)
      t.ok(lines.some((l) => l.msg === 'plugin rate-limiting failed in access' && l.err?.code === 'ECONNREFUSED'), `${name} logged the 500's cause`)
    }

    await server.start()
    for (const [name, node] of [['A', a], ['B', b]] as const) {
      await until(async () => await limited(node, '/strict'), `${name} to count again`)
      t.pass(`${name}: counting again once PostgreSQL is back`)
    }
  })
}
