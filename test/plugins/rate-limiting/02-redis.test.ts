// rate-limiting with policy = redis against a real redis-server (test/helpers/redis.ts):
// Kong's keys and expiry, redis_database, AUTH, fault_tolerant both ways, one budget for
// two gateway processes, the 3.6 `redis` record, and sync_rate's local counting.
// Counting tests use the year window (a minute could roll over mid-test) unless they check
// that it did not.
import t, { type Test } from 'tap'
import { Agent, request } from 'undici'
import { echo, memoryLogger, startTestGateway, startUpstream, until, type TestGateway } from '../../helpers/gateway.js'
import type { Logger } from '../../../core/log.js'
import { form, startGateway } from '../../helpers/process.js'
import { redisAvailable, startRedis } from '../../helpers/redis.js'
import { tempDir } from '../../helpers/store.js'
import { send } from './helpers.js'
import { windowStarts } from '../../../plugins/rate-limiting/handler.js'

const NULL_UUID = '00000000-0000-0000-0000-000000000000'


async function setup (t: Test, config: Record<string, unknown>, log?: Logger): Promise<TestGateway> {
  const gw = await startTestGateway(t, log === undefined ? {} : { log })
  const up = await startUpstream(t, echo)
  await gw.admin$('POST', '/services', { name: 's', url: up.url })
  await gw.admin$('POST', '/services/s/routes', { name: 'r', paths: ['/rl'] })
  await gw.admin$('POST', '/plugins', { name: 'rate-limiting', config })
  return gw
}

/** Kong's key for a global plugin counting the test client by IP. */
const yearKey = (): string => `ratelimit:${NULL_UUID}:${NULL_UUID}:127.0.0.1:${windowStarts(Date.now()).year}:year`

if (redisAvailable(t)) {
  t.test("year = 5: Kong's headers and 429, and the count in Redis under Kong's key", async (t) => {
    const redis = await startRedis(t)
    const gw = await setup(t, { year: 5, policy: 'redis', redis_host: '127.0.0.1', redis_port: redis.port })
    const seen: Array<Awaited<ReturnType<typeof send>>> = []
    for (let i = 0; i < 6; i++) seen.push(await send(`${gw.proxy}/rl`))
    t.same(seen.map((r) => r.status), [200, 200, 200, 200, 200, 429])
    t.same(seen.map((r) => r.headers['x-ratelimit-remaining-year']), ['4', '3', '2', '1', '0', '0'])
    t.same(seen.map((r) => r.headers['ratelimit-limit']), ['5', '5', '5', '5', '5', '5'])
    t.match(seen[5]?.body, { message: 'API rate limit exceeded' })
    t.equal(seen[5]?.headers['retry-after'], seen[5]?.headers['ratelimit-reset'])
    const client = redis.client()
    t.equal(await client.get(yearKey()), '5', 'five accepted; the refused one was taken back')
    const ttl = await client.ttl(yearKey())
    t.ok(ttl > 0 && ttl <= 31536000, `EXPIRE set to the window length (ttl ${ttl})`)
  })

  t.test('redis_database selects the database; the 3.6 redis record works the same', async (t) => {
    const redis = await startRedis(t)
    const gw = await setup(t, { year: 5, policy: 'redis', redis_host: '127.0.0.1', redis_port: redis.port, redis_database: 3 })
    t.equal((await send(`${gw.proxy}/rl`)).status, 200)
    t.equal(await redis.client(3).get(yearKey()), '1', 'counted in database 3')
    t.equal(await redis.client(0).get(yearKey()), null, 'not in database 0')

    const gw2 = await setup(t, { year: 5, policy: 'redis', redis: { host: '127.0.0.1', port: redis.port, database: 5 } })
    const r = await send(`${gw2.proxy}/rl`)
    t.same([r.status, r.headers['x-ratelimit-remaining-year']], [200, '4'])
    t.equal(await redis.client(5).get(yearKey()), '1', 'config.redis.database: counted in database 5')
  })

  t.test('redis_password: AUTH; a wrong password is a Redis failure (fault_tolerant = false: 500)', async (t) => {
    const redis = await startRedis(t, { password: 's3cret' })
    const gw = await setup(t, { year: 5, policy: 'redis', redis_host: '127.0.0.1', redis_port: redis.port, redis_password: 's3cret' })
    const ok = await send(`${gw.proxy}/rl`)
    t.same([ok.status, ok.headers['x-ratelimit-remaining-year']], [200, '4'])
    t.equal(await redis.client(0, 's3cret').get(yearKey()), '1')

    const bad = await setup(t, { year: 5, policy: 'redis', redis_host: '127.0.0.1', redis_port: redis.port, redis_password: 'wrong', fault_tolerant: false })
    const r = await send(`${bad.proxy}/rl`)
    t.match([r.status, r.body], [500, { message: 'An unexpected error occurred' }])
  })

  t.test('fault_tolerant: Redis gone, true proxies without headers, false answers 500', async (t) => {
    const redis = await startRedis(t)
    const tolerant = await setup(t, { year: 5, policy: 'redis', redis_host: '127.0.0.1', redis_port: redis.port })
    const strict = await setup(t, { year: 5, policy: 'redis', redis_host: '127.0.0.1', redis_port: redis.port, fault_tolerant: false, redis_timeout: 500 })
    t.equal((await send(`${tolerant.proxy}/rl`)).headers['x-ratelimit-remaining-year'], '4')
    t.equal((await send(`${strict.proxy}/rl`)).headers['x-ratelimit-remaining-year'], '3', 'both gateways count in the one Redis')
    await redis.kill()
    const started = Date.now()
    const r = await send(`${tolerant.proxy}/rl`)
    t.equal(r.status, 200)
    t.notOk(Object.keys(r.headers).some((h) => h.toLowerCase().includes('ratelimit')), 'no rate-limit headers')
    const s = await send(`${strict.proxy}/rl`)
    t.match([s.status, s.body], [500, { message: 'An unexpected error occurred' }])
    t.ok(Date.now() - started < 5000, 'a dead Redis fails fast, not after queued retries')
  })

  t.test('two gateway processes on different prefixes share one limit (minute = 10 across both)', async (t) => {
    const redis = await startRedis(t)
    const up = await startUpstream(t, echo)
    const gws = [await startGateway(t, ['--prefix', tempDir(t)]), await startGateway(t, ['--prefix', tempDir(t)])]
    for (const gw of gws) {
      t.equal((await form(`${gw.admin}/services`, 'POST', { name: 's', url: up.url })).status, 201)
      t.equal((await form(`${gw.admin}/services/s/routes`, 'POST', { name: 'r', 'paths[]': '/rl' })).status, 201)
      // Each gateway's own plugin entity, with the same scope (global): the same keys.
      const p = await form(`${gw.admin}/plugins`, 'POST', {
        name: 'rate-limiting', 'config.minute': '10', 'config.policy': 'redis', 'config.redis_host': '127.0.0.1', 'config.redis_port': String(redis.port), 'config.limit_by': 'header', 'config.header_name': 'x-attempt',
      })
      t.equal(p.status, 201)
    }
    for (let attempt = 0; attempt < 3; attempt++) {
      const minute = windowStarts(Date.now()).minute
      const agent = new Agent({ connections: 10 })
      const statuses = await Promise.all(Array.from({ length: 30 }, async (_, i) => {
        const res = await request(`${gws[i % 2]?.proxy as string}/rl`, { dispatcher: agent, headers: { 'x-attempt': String(attempt) } })
        await res.body.dump()
        return res.statusCode
      }))
      await agent.close()
      if (windowStarts(Date.now()).minute !== minute) continue
      t.equal(statuses.filter((s) => s === 200).length, 10, 'exactly 10 of 30 pass across both gateways')
      t.equal(statuses.filter((s) => s === 429).length, 20)
      return
    }
    t.fail('no burst within one minute window')
  })

  t.test('sync_rate: counted locally, pushed to Redis within sync_rate; other nodes seen after a push', async (t) => {
    const redis = await startRedis(t)
    const client = redis.client()
    const gw = await setup(t, { year: 10, policy: 'redis', redis_host: '127.0.0.1', redis_port: redis.port, sync_rate: 0.1 })
    const remaining = async (): Promise<[number, string | undefined]> => {
      const r = await send(`${gw.proxy}/rl`)
      return [r.status, r.headers['x-ratelimit-remaining-year']]
    }
    t.same([await remaining(), await remaining(), await remaining()], [[200, '9'], [200, '8'], [200, '7']])
    await until(async () => (await client.get(yearKey())) === '3', 'the three requests to reach Redis')
    // Another node counts 5: this one does not see them until its next push.
    await client.incrby(yearKey(), 5)
    t.same(await remaining(), [200, '6'], 'a stale view between pushes (approximate, as in Kong)')
    await until(async () => (await client.get(yearKey())) === '9', 'the push of the fourth request')
    t.same(await remaining(), [200, '0'], "the push brought back Redis's total")
    t.same(await remaining(), [429, '0'])
    await until(async () => (await client.get(yearKey())) === '10', 'the last accepted request pushed; the refused one not')
  })

  t.test('sync_rate with Redis gone: the node goes on counting locally, and keeps what it could not push', async (t) => {
    const redis = await startRedis(t)
    const { log, lines } = memoryLogger()
    const gw = await setup(t, { year: 10, policy: 'redis', redis_host: '127.0.0.1', redis_port: redis.port, sync_rate: 0.05 }, log)
    const remaining = async (): Promise<string | undefined> => (await send(`${gw.proxy}/rl`)).headers['x-ratelimit-remaining-year']
    t.equal(await remaining(), '9', 'the first use reads Redis')
    await redis.kill()
    t.same([await remaining(), await remaining()], ['8', '7'], 'counted in the node while Redis is away')
    await until(() => lines.some((l) => String(l.msg).includes('failed to push rate-limiting counters to Redis')), 'the failed push to be logged')
    t.same([await remaining()], ['6'], 'the counts that could not be pushed are kept')
  })
}
