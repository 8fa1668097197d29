// rate-limiting, Kong's behaviour (spec/03-plugins/23-rate-limiting and the Rate Limiting
// guide) with the local policy: counts, headers, identifiers, scopes, custom errors, the
// schema's rules, concurrency, and one budget across two worker processes.
// Counting tests use the year and day windows: a window that ends mid-test would reset the
// count (the minute case below checks its window did not roll over, and retries once).
import t, { type Test } from 'tap'
import { Agent, request } from 'undici'
import { echo, startTestGateway, startUpstream, type TestGateway } from '../../helpers/gateway.js'
import { form, startGateway } from '../../helpers/process.js'
import { tempDir } from '../../helpers/store.js'
import { burstOf300, send } from './helpers.js'
import { windowStarts } from '../../../plugins/rate-limiting/handler.js'


async function setup (t: Test, plugin: Record<string, unknown>, path = '/rl'): Promise<TestGateway> {
  const gw = await startTestGateway(t)
  const up = await startUpstream(t, echo)
  await gw.admin$('POST', '/services', { name: 's', url: up.url })
  await gw.admin$('POST', '/services/s/routes', { name: 'r', paths: [path] })
  await gw.admin$('POST', '/plugins', { name: 'rate-limiting', ...plugin })
  return gw
}

t.test("the Rate Limiting guide: minute = 5, the sixth request is refused with Kong's headers", async (t) => {
  for (let attempt = 0; attempt < 2; attempt++) {
    const gw = await setup(t, { config: { minute: 5, policy: 'local' } })
    const started = windowStarts(Date.now()).minute
    const seen: Array<{ status: number, headers: Record<string, string>, body: any }> = []
    for (let i = 0; i < 6; i++) seen.push(await send(`${gw.proxy}/rl`))
    if (windowStarts(Date.now()).minute !== started) { await gw.gateway.stop(); continue } // the minute rolled over: again
    t.same(seen.map((r) => r.status), [200, 200, 200, 200, 200, 429])
    t.same(seen.map((r) => r.headers['x-ratelimit-remaining-minute']), ['4', '3', '2', '1', '0', '0'])
    t.same(seen.map((r) => r.headers['ratelimit-remaining']), ['4', '3', '2', '1', '0', '0'])
    for (const r of seen) {
      t.equal(r.headers['x-ratelimit-limit-minute'], '5')
      t.equal(r.headers['ratelimit-limit'], '5')
      const reset = Number(r.headers['ratelimit-reset'])
      t.ok(reset >= 1 && reset <= 60, `RateLimit-Reset ${reset} within the minute`)
    }
    const refused = seen[5] as typeof seen[number]
    t.match(refused.body, { message: 'API rate limit exceeded' })
    t.equal(refused.headers['retry-after'], refused.headers['ratelimit-reset'])
    t.notOk('retry-after' in (seen[0] as typeof seen[number]).headers)
    return
  }
  t.fail('the minute rolled over twice')
})

t.test('several periods: the exhausted one decides; the others are not decremented on refusal', async (t) => {
  const gw = await setup(t, { config: { day: 3, year: 5 } })
  const r: Array<Awaited<ReturnType<typeof send>>> = []
  for (let i = 0; i < 4; i++) r.push(await send(`${gw.proxy}/rl`))
  t.same(r.map((x) => x.status), [200, 200, 200, 429])
  t.same(r.map((x) => [x.headers['x-ratelimit-remaining-day'], x.headers['x-ratelimit-remaining-year']]), [['2', '4'], ['1', '3'], ['0', '2'], ['0', '2']])
  // RateLimit-* describe the period with the least left (ties: the longer window).
  t.same(r.map((x) => x.headers['ratelimit-limit']), ['3', '3', '3', '3'])
  // A refused request counts for nothing: raising the day limit lets exactly two more in.
  await gw.admin$('PATCH', `/plugins/${(await gw.admin$('GET', '/plugins')).data[0].id as string}`, { config: { day: 5 } })
  const more: number[] = []
  for (let i = 0; i < 3; i++) more.push((await send(`${gw.proxy}/rl`)).status)
  t.same(more, [200, 200, 429], 'the year limit (5) is reached after 5 accepted requests')
})

t.test('limit_by: header (else the client address), path, service; separate budgets', async (t) => {
  const gw = await setup(t, { config: { year: 2, limit_by: 'header', header_name: 'x-user' } })
  const u = (user?: string) => send(`${gw.proxy}/rl`, user === undefined ? {} : { 'x-user': user })
  t.same([(await u('a')).status, (await u('a')).status, (await u('a')).status], [200, 200, 429])
  t.equal((await u('b')).status, 200, 'another header value has its own budget')
  t.same([(await u()).status, (await u()).status, (await u()).status], [200, 200, 429], 'no header: counted by IP')

  const gw2 = await setup(t, { config: { year: 1, limit_by: 'path', path: '/rl/one' } })
  t.equal((await send(`${gw2.proxy}/rl/one`)).status, 200)
  t.equal((await send(`${gw2.proxy}/rl/one`)).status, 429)
  t.equal((await send(`${gw2.proxy}/rl/other`)).status, 200, 'another path is counted by IP: its own budget')
  t.equal((await send(`${gw2.proxy}/rl/other2`)).status, 429, 'and that IP budget is spent now')
})

t.test('limit_by consumer, with key-auth: each consumer its own budget', async (t) => {
  const gw = await setup(t, { config: { year: 2 } })
  await gw.admin$('POST', '/plugins', { name: 'key-auth' })
  for (const name of ['ann', 'bob']) {
    await gw.admin$('POST', '/consumers', { username: name })
    await gw.admin$('POST', `/consumers/${name}/key-auth`, { key: `${name}-key` })
  }
  const as = (who: string) => send(`${gw.proxy}/rl`, { apikey: `${who}-key` }).then((r) => r.status)
  t.same([await as('ann'), await as('ann'), await as('ann')], [200, 200, 429])
  t.same([await as('bob'), await as('bob'), await as('bob')], [200, 200, 429])
})

t.test('scope: a global plugin is one budget across routes; a route plugin has its own', async (t) => {
  const gw = await setup(t, { config: { year: 2 } })
  await gw.admin$('POST', '/services/s/routes', { name: 'r2', paths: ['/two'] })
  await gw.admin$('POST', '/services/s/routes', { name: 'r3', paths: ['/three'] })
  await gw.admin$('POST', '/routes/r3/plugins', { name: 'rate-limiting', config: { year: 1 } })
  t.equal((await send(`${gw.proxy}/rl`)).status, 200)
  t.equal((await send(`${gw.proxy}/two`)).status, 200)
  t.equal((await send(`${gw.proxy}/two`)).status, 429, 'the global budget is shared by /rl and /two')
  t.equal((await send(`${gw.proxy}/three`)).status, 200, 'the route plugin counts apart')
  t.equal((await send(`${gw.proxy}/three`)).status, 429)
})

t.test('custom error_code and error_message; hide_client_headers', async (t) => {
  const gw = await setup(t, { config: { year: 1, error_code: 404, error_message: 'Fake Not Found', hide_client_headers: true } })
  const ok = await send(`${gw.proxy}/rl`)
  t.equal(ok.status, 200)
  t.same(Object.keys(ok.headers).filter((h) => /ratelimit|retry-after/.test(h)), [], 'no rate-limit headers')
  const refused = await send(`${gw.proxy}/rl`, { accept: 'application/json' })
  t.equal(refused.status, 404)
  t.match(refused.body, { message: 'Fake Not Found' })
  t.same(Object.keys(refused.headers).filter((h) => /ratelimit|retry-after/.test(h)), [], 'none on the refusal either')
})

t.test('concurrent requests never pass the limit', async (t) => {
  const gw = await setup(t, { config: { year: 10 } })
  const agent = new Agent({ connections: 20 })
  t.teardown(() => agent.close())
  const statuses = await Promise.all(Array.from({ length: 30 }, async () => {
    const res = await request(`${gw.proxy}/rl`, { dispatcher: agent })
    await res.body.dump()
    return res.statusCode
  }))
  t.equal(statuses.filter((s) => s === 200).length, 10)
  t.equal(statuses.filter((s) => s === 429).length, 20)
})

t.test("the schema: Kong's messages", async (t) => {
  const gw = await startTestGateway(t)
  const post = async (config: Record<string, unknown>) => {
    const res = await request(`${gw.admin}/plugins`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'rate-limiting', config }) })
    return { status: res.statusCode, body: await res.body.json() as any }
  }
  let r = await post({})
  t.same([r.status, r.body.fields], [400, { '@entity': ["at least one of these fields must be non-empty: 'config.second', 'config.minute', 'config.hour', 'config.day', 'config.month', 'config.year'"] }])
  r = await post({ second: 20, hour: 10 })
  t.same(r.body.fields, { config: 'The limit for hour(10.0) cannot be lower than the limit for second(20.0)' })
  r = await post({ minute: 1, limit_by: 'header' })
  t.same(r.body.fields, { '@entity': ["failed conditional validation given value of field 'config.limit_by'"], config: { header_name: 'required field missing' } })
  r = await post({ minute: 1, limit_by: 'path' })
  t.same(r.body.fields.config, { path: 'required field missing' })
  r = await post({ minute: 1, limit_by: 'path', path: 'nope' })
  t.same(r.body.fields.config, { path: 'should start with: /' })
  r = await post({ minute: 0 })
  t.same(r.body.fields.config, { minute: 'value must be greater than 0' })
  r = await post({ minute: 1, policy: 'redis' })
  t.same(r.body.fields.config, { redis_host: 'required field missing' })
  r = await post({ minute: 1 })
  t.equal(r.status, 201)
  t.match(r.body.config, { minute: 1, limit_by: 'consumer', policy: 'local', fault_tolerant: true, hide_client_headers: false, error_code: 429, error_message: 'API rate limit exceeded', redis_port: 6379, redis_timeout: 2000, sync_rate: -1, redis: { host: null, port: 6379, timeout: 2000, database: 0, ssl: false } })
})

t.test('worker_processes = 2: one budget for the node (the guide\'s sixth request is refused whichever worker takes it)', async (t) => {
  const up = await startUpstream(t, echo)
  const gw = await startGateway(t, ['--prefix', tempDir(t)], { TOLLGATE_WORKER_PROCESSES: '2', TOLLGATE_ALLOW_DEBUG_HEADER: 'on' })
  t.equal((await form(`${gw.admin}/services`, 'POST', { name: 'example_service', url: up.url })).status, 201)
  t.equal((await form(`${gw.admin}/services/example_service/routes`, 'POST', { name: 'example_route', 'paths[]': '/mock' })).status, 201)
  t.equal((await form(`${gw.admin}/plugins`, 'POST', { name: 'rate-limiting', 'config.year': '6', 'config.policy': 'local' })).status, 201)
  // Until both workers apply the plugin (each follows the config within a poll).
  const workers = new Set<string>()
  const statuses: number[] = []
  for (let i = 0; i < 400 && statuses.length < 12; i++) {
    const agent = new Agent({ pipelining: 0 })
    const res = await request(`${gw.proxy}/mock`, { dispatcher: agent, headers: { 'kong-debug': '1' } })
    await res.body.dump()
    await agent.close()
    if (res.headers['x-ratelimit-limit-year'] === undefined && res.statusCode === 200) continue
    workers.add(String(res.headers['tollgate-worker']))
    statuses.push(res.statusCode)
  }
  t.same(statuses, [200, 200, 200, 200, 200, 200, 429, 429, 429, 429, 429, 429], 'six accepted across the node, then refused')
  t.equal(workers.size, 2, 'both workers answered')

  // The check: minute = 100, 300 concurrent requests over both workers, exactly 100
  // pass. Again if the minute rolls over meanwhile.
  const route = await form(`${gw.admin}/services/example_service/routes`, 'POST', { name: 'burst', 'paths[]': '/burst' })
  // Counted by a header each attempt changes, so an attempt begun before both workers had
  // the plugin leaves the next one a full budget.
  t.equal((await form(`${gw.admin}/routes/burst/plugins`, 'POST', { name: 'rate-limiting', 'config.minute': '100', 'config.limit_by': 'header', 'config.header_name': 'x-attempt' })).status, 201)
  t.ok(route.body.id)
  const all = await burstOf300(`${gw.proxy}/burst`)
  if (all === undefined) return t.fail('no burst within one minute window with the plugin applied everywhere')
  t.equal(all.filter((r) => r.status === 200).length, 100, 'exactly 100 of 300 concurrent requests pass')
  t.equal(new Set(all.map((r) => r.worker)).size, 2, 'both workers served the burst')
})

t.test("windows on the UTC calendar, as Kong's timestamp.get_timestamps", async (t) => {
  const now = Date.UTC(2028, 1, 29, 23, 59, 58, 750) // a leap day, late
  t.same(windowStarts(now), {
    second: Date.UTC(2028, 1, 29, 23, 59, 58),
    minute: Date.UTC(2028, 1, 29, 23, 59),
    hour: Date.UTC(2028, 1, 29, 23),
    day: Date.UTC(2028, 1, 29),
    month: Date.UTC(2028, 1, 1),
    year: Date.UTC(2028, 0, 1),
  })
})

t.test('a limit that is not a whole number: as Kong, refused once limit - count before <= 0', async (t) => {
  const gw = await setup(t, { config: { year: 2.5 } })
  const statuses: number[] = []
  for (let i = 0; i < 4; i++) statuses.push((await send(`${gw.proxy}/rl`)).status)
  t.same(statuses, [200, 200, 200, 429], 'year = 2.5 lets three through')
})
