// rate-limiting with policy = cluster: counters in the store, one budget for every worker
// process of the node, kept across a restart; and the schema rules of the 3.4+ sync_rate
// and the 3.6 redis record.
import t from 'tap'
import { request } from 'undici'
import { echo, startTestGateway, startUpstream } from '../../helpers/gateway.js'
import { form, startGateway } from '../../helpers/process.js'
import { tempDir } from '../../helpers/store.js'
import { burstOf300 } from './helpers.js'
import { windowStarts } from '../../../plugins/rate-limiting/handler.js'

t.test('worker_processes = 2, minute = 100: exactly 100 of 300 concurrent requests pass', async (t) => {
  const up = await startUpstream(t, echo)
  const gw = await startGateway(t, ['--prefix', tempDir(t)], { TOLLGATE_WORKER_PROCESSES: '2', TOLLGATE_ALLOW_DEBUG_HEADER: 'on' })
  t.equal((await form(`${gw.admin}/services`, 'POST', { name: 's', url: up.url })).status, 201)
  t.equal((await form(`${gw.admin}/services/s/routes`, 'POST', { name: 'burst', 'paths[]': '/burst' })).status, 201)
  // Counted by a header each attempt changes, so an attempt begun before both workers had
  // the plugin leaves the next one a full budget.
  const p = await form(`${gw.admin}/routes/burst/plugins`, 'POST', { name: 'rate-limiting', 'config.minute': '100', 'config.policy': 'cluster', 'config.limit_by': 'header', 'config.header_name': 'x-attempt' })
  t.equal(p.status, 201)
  const all = await burstOf300(`${gw.proxy}/burst`)
  if (all === undefined) return t.fail('no burst within one minute window with the plugin applied everywhere')
  t.equal(all.filter((r) => r.status === 200).length, 100, 'exactly 100 of 300 concurrent requests pass')
  t.equal(all.filter((r) => r.status === 429).length, 200)
  t.equal(new Set(all.map((r) => r.worker)).size, 2, 'both workers served the burst')
})

t.test('the counters survive a restart on the same prefix', async (t) => {
  const prefix = tempDir(t)
  const up = await startUpstream(t, echo)
  let gw = await startGateway(t, ['--prefix', prefix])
  t.equal((await form(`${gw.admin}/services`, 'POST', { name: 's', url: up.url })).status, 201)
  t.equal((await form(`${gw.admin}/services/s/routes`, 'POST', { name: 'r', 'paths[]': '/rl' })).status, 201)
  t.equal((await form(`${gw.admin}/plugins`, 'POST', { name: 'rate-limiting', 'config.year': '3', 'config.policy': 'cluster' })).status, 201)
  const remaining = async (): Promise<[number, string | undefined]> => {
    const res = await request(`${gw.proxy}/rl`)
    await res.body.dump()
    return [res.statusCode, res.headers['x-ratelimit-remaining-year'] as string | undefined]
  }
  t.same([await remaining(), await remaining()], [[200, '2'], [200, '1']])
  gw.child.kill('SIGTERM')
  const exit = await gw.exited
  t.equal(exit.code, 0, 'stopped cleanly')
  gw = await startGateway(t, ['--prefix', prefix])
  t.same([await remaining(), await remaining()], [[200, '0'], [429, '0']], 'the count went on from 2')
})

t.test("the schema: cluster accepted; sync_rate's and the redis record's rules, Kong's messages", async (t) => {
  const gw = await startTestGateway(t)
  const up = await startUpstream(t, echo)
  await gw.admin$('POST', '/services', { name: 's', url: up.url })
  let n = 0
  // Each on a route of its own: one rate-limiting plugin per scope.
  const post = async (config: Record<string, unknown>) => {
    const route = await gw.admin$('POST', '/services/s/routes', { paths: [`/r${n++}`] })
    const res = await request(`${gw.admin}/routes/${route.id as string}/plugins`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'rate-limiting', config }) })
    return { status: res.statusCode, body: await res.body.json() as any }
  }
  let r = await post({ minute: 1, policy: 'cluster' })
  t.equal(r.status, 201, 'cluster is accepted (Kong refuses it only without a database)')
  r = await post({ minute: 1, sync_rate: 1 })
  t.same([r.status, r.body.fields], [400, { config: 'sync_rate can only be used with the redis policy' }])
  r = await post({ minute: 1, policy: 'cluster', sync_rate: 1 })
  t.same(r.body.fields, { config: 'sync_rate can only be used with the redis policy' })
  r = await post({ minute: 1, policy: 'redis', redis_host: 'h', sync_rate: 0.01 })
  t.same(r.body.fields, { config: 'sync_rate must be greater than 0.02, or -1 to disable' })
  r = await post({ minute: 1, policy: 'redis', redis_host: 'h', sync_rate: -2 })
  t.same(r.body.fields, { config: 'sync_rate must be greater than 0.02, or -1 to disable' })
  r = await post({ second: 2, minute: 1, sync_rate: 1 })
  t.same(r.body.fields, { config: 'The limit for minute(1.0) cannot be lower than the limit for second(2.0)' }, 'the periods are checked first, as in Kong')
  r = await post({ minute: 1, policy: 'redis' })
  t.same(r.body.fields, { '@entity': ["failed conditional validation given value of field 'config.policy'"], config: { redis_host: 'required field missing' } })
  r = await post({ minute: 1, policy: 'redis', redis: { host: '127.0.0.1', port: 6380, nope: 1 } })
  t.same(r.body.fields, { config: { redis: { nope: 'unknown field' } } })

  // Kong 3.2's flat fields as given, plus the 3.6 record with its defaults.
  r = await post({ minute: 1, policy: 'redis', redis_host: 'flat.example', sync_rate: 0.02 })
  t.equal(r.status, 201)
  t.match(r.body.config, {
    policy: 'redis',
    sync_rate: 0.02,
    redis_host: 'flat.example',
    redis_port: 6379,
    redis_password: null,
    redis_username: null,
    redis_ssl: false,
    redis_ssl_verify: false,
    redis_server_name: null,
    redis_timeout: 2000,
    redis_database: 0,
    redis: { host: null, port: 6379, timeout: 2000, username: null, password: null, database: 0, ssl: false, ssl_verify: false, server_name: null },
  })
  r = await post({ minute: 1, policy: 'redis', redis: { host: 'record.example', database: 2 } })
  t.equal(r.status, 201, 'the 3.6 record alone is enough')
  t.match(r.body.config, { redis_host: null, redis: { host: 'record.example', port: 6379, database: 2 } })
})

t.test('in one process, and with rate-limiting isolated (kong.db.incrCounter from a worker thread)', async (t) => {
  for (const config of [{}, { isolated_plugins: 'rate-limiting', isolation_pool_size: '2', isolation_timeout: '30000' }]) {
    const gw = await startTestGateway(t, { config })
    const up = await startUpstream(t, echo)
    await gw.admin$('POST', '/services', { name: 's', url: up.url })
    await gw.admin$('POST', '/services/s/routes', { name: 'r', paths: ['/rl'] })
    await gw.admin$('POST', '/plugins', { name: 'rate-limiting', config: { year: 3, day: 3, policy: 'cluster' } })
    const seen: Array<[number, string | undefined, string | undefined]> = []
    for (let i = 0; i < 4; i++) {
      const res = await request(`${gw.proxy}/rl`)
      await res.body.dump()
      seen.push([res.statusCode, res.headers['x-ratelimit-remaining-year'] as string | undefined, res.headers['retry-after'] as string | undefined])
    }
    const what = 'isolated_plugins' in config ? 'isolated' : 'in process'
    t.same(seen.map(([s, r]) => [s, r]), [[200, '2'], [200, '1'], [200, '0'], [429, '0']], what)
    t.ok(seen[3]?.[2] !== undefined, `${what}: Retry-After on the refusal`)
    t.equal(await gw.gateway.store.getCounter(`ratelimit:00000000-0000-0000-0000-000000000000:00000000-0000-0000-0000-000000000000:127.0.0.1:${windowStarts(Date.now()).year}:year`), 3, `${what}: the refused request was taken back`)
  }
})
