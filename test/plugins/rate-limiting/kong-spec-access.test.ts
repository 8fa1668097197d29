// Kong 3.2.2's spec/03-plugins/23-rate-limiting/04-access_spec.lua, ported for the `local`
// policy (issue #17). Kong loops over strategies, policies, limit_by values and Redis TLS
// settings; here: one store (Kong's `#db`), policy = local, redis = no_ssl (the redis_*
// fields Kong sends are sent too, and ignored by the local policy, as in Kong).
//
// Ported (19 cases):
//   describe "Plugin: rate-limiting #db (access) [policy: local] [limit_by: <each>]":
//     "blocks if exceeding limit (single <limit_by>)" for ip, consumer, credential, service,
//       header and path (6);
//     limit_by ip: "blocks if exceeding limit (multiple ip)", "hide_client_headers (single ip)",
//       "handles multiple limits (single ip)", "expire counter", "blocks with a custom error
//       code and message" (5);
//     limit_by service: "blocks if exceeding limit (multiple service)" (1);
//     limit_by path: "blocks if exceeding limit (multiple path)" (1);
//     limit_by header: "blocks if exceeding limit (multiple header)" (1);
//     limit_by consumer / credential: "blocks if exceeding limit (multiple consumer)",
//       "(multiple credential)" (2);
//   describe "Plugin: rate-limiting enable globally #db (access)": "global for single
//     consumer" (1);
//   describe "Plugin: rate-limiting fault tolerancy #db (access) [policy: redis]": "does not
//     work if an error occurs", "keeps working if an error occurs" (2; a closed port stands
//     for Kong's port 80, so no Redis server is needed).
//
// Not ported, and why:
//   - Every [policy: cluster] and [policy: redis] variant of the cases above, and the
//     [redis: ssl_verify] / [redis: ssl_no_verify] ones: this file is the local policy's;
//     the cluster and redis policies have their own tests against the store and a real
//     redis-server (02-redis and 03-cluster in this folder), without TLS.
//   - "blocks if exceeding limit #grpc (single ip)": Tollgate does not proxy gRPC.
//   - fault tolerancy [policy: cluster] "does not work if an error occurs" / "keeps working
//     if an error occurs": they break Kong's database under the plugin (DROP TABLE
//     ratelimiting_metrics); the cluster policy and its storage are on another branch.
//   - The [strategy: off] (DB-less) runs: Tollgate has no DB-less mode.
//   - 05-integration_spec.lua (all 3 cases, "connection pool respects database setting",
//     "authenticates and executes with a valid redis user having proper ACLs", "fails to
//     rate-limit for a redis user with missing ACLs", each over three TLS settings): all
//     about the redis policy against a real Redis server (databases, ACL users); that
//     policy is on another branch.
//
// Differences from Kong's spec, on purpose:
//   - Time. Kong's retry() runs a case again after waiting for the next minute when the
//     minute flipped mid-case. Here a case notes the minute before and after its requests and,
//     when it changed, runs again at once with new entities (a new service, route,
//     consumer or credential), hence counters of their own; at most twice, as Kong.
//     "expire counter" waits for the next window, so it uses a `second` limit instead of
//     Kong's `minute` (the same check, seconds instead of a minute of waiting): each round
//     starts at the start of a second and is run again when its seven requests do not fit
//     in that second.
//   - helpers.wait_timer("rate-limiting"): Kong increments its counters in a timer after the
//     request; Tollgate counts atomically in the request (see handler.ts), so there is no
//     timer to wait for.
//   - "multiple ip": Kong sets X-Real-IP from a trusted_ips = 0.0.0.0/0 node. Tollgate has no
//     trusted_ips / real_ip_header, so the two clients really connect from 127.0.0.1 and
//     127.0.0.2 (all of 127.0.0.0/8 is loopback on Linux).
//   - "(single header)": Kong's proxy_fn passes the header as GET's second argument, not in
//     `headers`, so its request carries no header and is counted by IP; here the header is
//     sent, which is what the case means to test.
//   - helpers.wait_for_all_config_update: an Admin API change applies to the next request of
//     an in-process gateway, so there is nothing to wait for.
import t, { type Test } from 'tap'
import { Agent, request, type Dispatcher } from 'undici'
import { closedPort, echo, startTestGateway, startUpstream, type TestGateway } from '../../helpers/gateway.js'
import { windowStarts } from '../../../plugins/rate-limiting/handler.js'

interface Res { status: number, headers: Record<string, string | undefined>, body: any }

// Kong's REDIS_* as sent with every config, whatever the policy.
const REDIS = { redis_host: '127.0.0.1', redis_port: 6379, redis_password: '', redis_database: 1 }

async function GET (base: string, path: string, headers: Record<string, string> = {}, dispatcher?: Dispatcher): Promise<Res> {
  const res = await request(`${base}${path}`, { headers, ...(dispatcher === undefined ? {} : { dispatcher }) })
  const text = await res.body.text()
  let body: unknown = text
  try { body = JSON.parse(text) } catch {}
  return { status: res.statusCode, headers: res.headers as Record<string, string | undefined>, body }
}

const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v))

/** Kong's client_requests: n requests, and the headers of each in columns. */
async function clientRequests (n: number, proxyFn: () => Promise<Res>) {
  const ret = {
    minute_limit: [] as Array<number | undefined>,
    minute_remaining: [] as Array<number | undefined>,
    hour_limit: [] as Array<number | undefined>,
    hour_remaining: [] as Array<number | undefined>,
    limit: [] as Array<number | undefined>,
    remaining: [] as Array<number | undefined>,
    status: [] as number[],
    reset: [] as Array<number | undefined>,
  }
  for (let i = 0; i < n; i++) {
    const res = await proxyFn()
    ret.reset.push(num(res.headers['ratelimit-reset']))
    ret.status.push(res.status)
    ret.minute_limit.push(num(res.headers['x-ratelimit-limit-minute']))
    ret.minute_remaining.push(num(res.headers['x-ratelimit-remaining-minute']))
    ret.hour_limit.push(num(res.headers['x-ratelimit-limit-hour']))
    ret.hour_remaining.push(num(res.headers['x-ratelimit-remaining-hour']))
    ret.limit.push(num(res.headers['ratelimit-limit']))
    ret.remaining.push(num(res.headers['ratelimit-remaining']))
  }
  return ret
}
type Collected = Awaited<ReturnType<typeof clientRequests>>

/** Kong's validate_headers: limit 6, six accepted then refused, with the headers' counts. */
function validateHeaders (t: Test, h: Collected, checkMinute: boolean, checkHour = false): void {
  if (checkMinute) {
    t.same(h.minute_limit, [6, 6, 6, 6, 6, 6, 6], 'X-RateLimit-Limit-Minute')
    t.same(h.minute_remaining, [5, 4, 3, 2, 1, 0, 0], 'X-RateLimit-Remaining-Minute')
  }
  if (checkHour) {
    // Kong loops over what it got (possibly nothing): every value present must be sane.
    for (const v of h.hour_limit) if (v !== undefined) t.ok(v > 0, `X-RateLimit-Limit-Hour ${v} > 0`)
    for (const v of h.hour_remaining) if (v !== undefined) t.ok(v >= 0, `X-RateLimit-Remaining-Hour ${v} >= 0`)
  }
  t.same(h.limit, [6, 6, 6, 6, 6, 6, 6], 'RateLimit-Limit')
  t.same(h.remaining, [5, 4, 3, 2, 1, 0, 0], 'RateLimit-Remaining')
  t.same(h.status, [200, 200, 200, 200, 200, 200, 429], 'statuses')
  const max = checkHour ? 3600 : 60
  t.ok(h.reset.every((r) => r !== undefined && r >= 0 && r <= max), `RateLimit-Reset within [0, ${max}]: ${h.reset.join(',')}`)
}

/**
 * Entities made through the Admin API for one run of a case, deleted in reverse order
 * afterwards (Kong's finally(): delete_credential, delete_consumer, delete_plugin, ...).
 */
class Fixtures {
  readonly #gw: TestGateway
  readonly #made: string[] = []
  constructor (gw: TestGateway) { this.#gw = gw }
  async #post (path: string, body: unknown, at: (e: any) => string): Promise<any> {
    const e = await this.#gw.admin$('POST', path, body)
    this.#made.push(at(e))
    return e
  }

  service (url: string) { return this.#post('/services', { url }, (e) => `/services/${e.id as string}`) }
  route (service: any, paths: string[]) { return this.#post('/routes', { protocols: ['http'], service: { id: service.id }, paths }, (e) => `/routes/${e.id as string}`) }
  rlPlugin (config: Record<string, unknown>, service?: any) {
    return this.#post('/plugins', { name: 'rate-limiting', ...(service === undefined ? {} : { service: { id: service.id } }), config }, (e) => `/plugins/${e.id as string}`)
  }

  keyAuthPlugin (config: Record<string, unknown>, service?: any) {
    return this.#post('/plugins', { name: 'key-auth', ...(service === undefined ? {} : { service: { id: service.id } }), config }, (e) => `/plugins/${e.id as string}`)
  }

  consumer (username: string) { return this.#post('/consumers', { username }, (e) => `/consumers/${e.id as string}`) }
  credential (consumer: any, key: string) { return this.#post(`/consumers/${consumer.id as string}/key-auth`, { key }, (e) => `/consumers/${consumer.id as string}/key-auth/${e.id as string}`) }

  async cleanup (): Promise<void> {
    for (const path of this.#made.reverse()) await this.#gw.admin$('DELETE', path)
    this.#made.length = 0
  }
}

/**
 * Kong's retry(): `run` sets up its own entities, sends its requests and returns the checks
 * to make. When the minute changed while it ran, its counts may straddle two windows: it is
 * run again (new entities, new counters) and its first results are dropped. At most twice.
 */
async function retry (t: Test, gw: TestGateway, run: (fx: Fixtures) => Promise<() => void>): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const fx = new Fixtures(gw)
    const minute = windowStarts(Date.now()).minute
    let check: () => void
    try {
      check = await run(fx)
    } finally {
      await fx.cleanup()
    }
    if (windowStarts(Date.now()).minute === minute) return check()
    t.comment('the minute changed during the case: running it again')
  }
  t.fail('the minute changed during both runs')
}

const TEST_PATH = '/test'

t.test('04-access_spec.lua', async (t) => {
  const gw = await startTestGateway(t)
  const up = await startUpstream(t, echo)
  const UPSTREAM_URL = `${up.url}/always_200`
  const get = (path: string, headers: Record<string, string> = {}, dispatcher?: Dispatcher) => GET(gw.proxy, path, headers, dispatcher)

  for (const limitBy of ['ip', 'consumer', 'credential', 'service', 'header', 'path'] as const) {
    const describe = `Plugin: rate-limiting #db (access) [policy: local] [limit_by: ${limitBy}] [redis: no_ssl]`

    // it(fmt("blocks if exceeding limit (single %s)", limit_by))
    t.test(`${describe}: blocks if exceeding limit (single ${limitBy})`, async (t) => {
      const testHeader = 'test-header'
      const testKeyName = 'test-key'
      const testCredential = 'test_credential'
      await retry(t, gw, async (fx) => {
        const service = await fx.service(UPSTREAM_URL)
        await fx.route(service, [TEST_PATH])
        await fx.rlPlugin({ minute: 6, policy: 'local', limit_by: limitBy, path: TEST_PATH, header_name: testHeader, ...REDIS }, service)
        if (limitBy === 'consumer' || limitBy === 'credential') {
          await fx.keyAuthPlugin({ key_names: [testKeyName] }, service)
          const consumer = await fx.consumer('Bob')
          await fx.credential(consumer, testCredential)
        }
        const proxyFn = () => {
          if (limitBy === 'header') return get(TEST_PATH, { [testHeader]: 'test' })
          if (limitBy === 'consumer' || limitBy === 'credential') return get(TEST_PATH, { [testKeyName]: testCredential })
          return get(TEST_PATH)
        }
        const ret = await clientRequests(7, proxyFn)
        return () => validateHeaders(t, ret, true)
      })
    })

    if (limitBy === 'ip') {
      // it("blocks if exceeding limit (multiple ip)")
      t.test(`${describe}: blocks if exceeding limit (multiple ip)`, async (t) => {
        await retry(t, gw, async (fx) => {
          const service = await fx.service(UPSTREAM_URL)
          await fx.route(service, [TEST_PATH])
          await fx.rlPlugin({ minute: 6, policy: 'local', limit_by: 'ip', ...REDIS }, service)
          const rets: Collected[] = []
          for (const ip of ['127.0.0.1', '127.0.0.2']) {
            const agent = new Agent({ localAddress: ip })
            try {
              rets.push(await clientRequests(7, () => get(TEST_PATH, {}, agent)))
            } finally {
              await agent.close()
            }
          }
          return () => { for (const ret of rets) validateHeaders(t, ret, true) }
        })
      })

      // it("hide_client_headers (single ip)")
      t.test(`${describe}: hide_client_headers (single ip)`, async (t) => {
        const fx = new Fixtures(gw)
        t.teardown(() => fx.cleanup())
        const service = await fx.service(UPSTREAM_URL)
        await fx.route(service, [TEST_PATH])
        await fx.rlPlugin({ minute: 6, policy: 'local', limit_by: 'ip', hide_client_headers: true, ...REDIS }, service)
        const res = await get(TEST_PATH)
        t.equal(res.status, 200)
        for (const h of ['x-ratelimit-limit-minute', 'x-ratelimit-remaining-minute', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'retry-after']) {
          t.equal(res.headers[h], undefined, `no ${h}`)
        }
      })

      // it("handles multiple limits (single ip)")
      t.test(`${describe}: handles multiple limits (single ip)`, async (t) => {
        await retry(t, gw, async (fx) => {
          const service = await fx.service(UPSTREAM_URL)
          await fx.route(service, [TEST_PATH])
          await fx.rlPlugin({ minute: 6, hour: 99999, policy: 'local', limit_by: limitBy, path: TEST_PATH, header_name: 'test-header', ...REDIS }, service)
          const ret = await clientRequests(7, () => get(TEST_PATH))
          return () => {
            validateHeaders(t, ret, true, true)
            t.same(ret.hour_limit, [99999, 99999, 99999, 99999, 99999, 99999, 99999], 'the hour limit is reported too')
          }
        })
      })

      // it("expire counter"), with a `second` limit instead of `minute` (see the top).
      t.test(`${describe}: expire counter`, async (t) => {
        const fx = new Fixtures(gw)
        t.teardown(() => fx.cleanup())
        const service = await fx.service(UPSTREAM_URL)
        await fx.route(service, [TEST_PATH])
        await fx.rlPlugin({ second: 6, policy: 'local', limit_by: limitBy, path: TEST_PATH, ...REDIS }, service)
        /** Seven requests from the start of a second to its end; again when they spill over. */
        const round = async (): Promise<Collected> => {
          for (let attempt = 0; attempt < 10; attempt++) {
            const before = windowStarts(Date.now()).second
            while (windowStarts(Date.now()).second === before) await new Promise((resolve) => setTimeout(resolve, 1))
            const second = windowStarts(Date.now()).second
            const ret = await clientRequests(7, () => get(TEST_PATH))
            if (windowStarts(Date.now()).second === second) return ret
            t.comment('seven requests did not fit in one second: again')
          }
          throw new Error('seven requests never fit in one second')
        }
        const check = (ret: Collected) => {
          t.same(ret.status, [200, 200, 200, 200, 200, 200, 429], 'statuses')
          t.same(ret.limit, [6, 6, 6, 6, 6, 6, 6], 'RateLimit-Limit')
          t.same(ret.remaining, [5, 4, 3, 2, 1, 0, 0], 'RateLimit-Remaining')
          t.ok(ret.reset.every((r) => r !== undefined && r >= 0 && r <= 1), `RateLimit-Reset within [0, 1]: ${ret.reset.join(',')}`)
        }
        check(await round())
        // wait for the counter to expire: the next window starts with a full budget
        check(await round())
      })

      // it("blocks with a custom error code and message")
      t.test(`${describe}: blocks with a custom error code and message`, async (t) => {
        await retry(t, gw, async (fx) => {
          const service = await fx.service(UPSTREAM_URL)
          await fx.route(service, [TEST_PATH])
          await fx.rlPlugin({ minute: 1, policy: 'local', limit_by: limitBy, path: TEST_PATH, ...REDIS, error_code: 404, error_message: 'Fake Not Found' }, service)
          const first = await get(TEST_PATH)
          const second = await get(TEST_PATH)
          return () => {
            t.equal(first.status, 200)
            t.equal(second.status, 404)
            t.equal(second.body?.message, 'Fake Not Found')
          }
        })
      })
    }

    if (limitBy === 'service') {
      // it("blocks if exceeding limit (multiple service)")
      t.test(`${describe}: blocks if exceeding limit (multiple service)`, async (t) => {
        await retry(t, gw, async (fx) => {
          const service1 = await fx.service(UPSTREAM_URL)
          const service2 = await fx.service(UPSTREAM_URL)
          await fx.route(service1, ['/1-test'])
          await fx.route(service2, ['/2-test'])
          await fx.rlPlugin({ minute: 6, policy: 'local', limit_by: 'service', ...REDIS }) // global
          const rets: Collected[] = []
          for (const path of ['/1-test', '/2-test']) rets.push(await clientRequests(7, () => get(path)))
          return () => { for (const ret of rets) validateHeaders(t, ret, true) }
        })
      })
    }

    if (limitBy === 'path') {
      // it("blocks if exceeding limit (multiple path)")
      t.test(`${describe}: blocks if exceeding limit (multiple path)`, async (t) => {
        await retry(t, gw, async (fx) => {
          const service = await fx.service(UPSTREAM_URL)
          await fx.route(service, ['/1-test'])
          await fx.route(service, ['/2-test'])
          // path = the first: requests to the second are counted by IP, a budget of their own
          await fx.rlPlugin({ minute: 6, policy: 'local', limit_by: 'path', path: '/1-test', ...REDIS }, service)
          const rets: Collected[] = []
          for (const path of ['/1-test', '/2-test']) rets.push(await clientRequests(7, () => get(path)))
          return () => { for (const ret of rets) validateHeaders(t, ret, true) }
        })
      })
    }

    if (limitBy === 'header') {
      // it("blocks if exceeding limit (multiple header)")
      t.test(`${describe}: blocks if exceeding limit (multiple header)`, async (t) => {
        await retry(t, gw, async (fx) => {
          const service = await fx.service(UPSTREAM_URL)
          await fx.route(service, [TEST_PATH])
          // header_name = the first: requests with the second are counted by IP
          await fx.rlPlugin({ minute: 6, policy: 'local', limit_by: 'header', header_name: 'test-header-1', ...REDIS }, service)
          const rets: Collected[] = []
          for (const name of ['test-header-1', 'test-header-2']) rets.push(await clientRequests(7, () => get(TEST_PATH, { [name]: 'test' })))
          return () => { for (const ret of rets) validateHeaders(t, ret, true) }
        })
      })
    }

    if (limitBy === 'consumer' || limitBy === 'credential') {
      // it(fmt("blocks if exceeding limit (multiple %s)", limit_by))
      t.test(`${describe}: blocks if exceeding limit (multiple ${limitBy})`, async (t) => {
        const testKeyName = 'test-key'
        await retry(t, gw, async (fx) => {
          const service = await fx.service(UPSTREAM_URL)
          await fx.route(service, [TEST_PATH])
          await fx.rlPlugin({ minute: 6, policy: 'local', limit_by: limitBy, ...REDIS }, service)
          await fx.keyAuthPlugin({ key_names: [testKeyName] }, service)
          const bob = await fx.consumer('Bob')
          const alice = await fx.consumer('Alice')
          await fx.credential(bob, 'test_credential_1')
          await fx.credential(alice, 'test_credential_2')
          const rets: Collected[] = []
          for (const key of ['test_credential_1', 'test_credential_2']) rets.push(await clientRequests(7, () => get(TEST_PATH, { [testKeyName]: key })))
          return () => { for (const ret of rets) validateHeaders(t, ret, true) }
        })
      })
    }
  }

  // describe("Plugin: rate-limiting enable globally #db (access)") it("global for single consumer")
  t.test('Plugin: rate-limiting enable globally #db (access): global for single consumer', async (t) => {
    const testKeyName = 'test-key'
    const testCredential = 'test-credential'
    await retry(t, gw, async (fx) => {
      const service1 = await fx.service(UPSTREAM_URL)
      const service2 = await fx.service(UPSTREAM_URL)
      await fx.route(service1, ['/1-test'])
      await fx.route(service2, ['/2-test'])
      const consumer = await fx.consumer('Bob')
      await fx.keyAuthPlugin({ key_names: [testKeyName] })
      await fx.rlPlugin({ minute: 6, policy: 'local', limit_by: 'credential', ...REDIS, redis_ssl: false })
      await fx.credential(consumer, testCredential)
      const first = await clientRequests(7, () => get('/1-test', { [testKeyName]: testCredential }))
      const second = await clientRequests(7, () => get('/2-test', { [testKeyName]: testCredential }))
      return () => {
        validateHeaders(t, first, true)
        // the same budget on the other service: spent
        t.same(second.minute_limit, [6, 6, 6, 6, 6, 6, 6], 'X-RateLimit-Limit-Minute')
        t.same(second.minute_remaining, [0, 0, 0, 0, 0, 0, 0], 'X-RateLimit-Remaining-Minute')
        t.same(second.limit, [6, 6, 6, 6, 6, 6, 6], 'RateLimit-Limit')
        t.same(second.remaining, [0, 0, 0, 0, 0, 0, 0], 'RateLimit-Remaining')
        t.same(second.status, [429, 429, 429, 429, 429, 429, 429], 'statuses')
        t.ok(second.reset.every((r) => r !== undefined && r >= 0 && r <= 60), `RateLimit-Reset within [0, 60]: ${second.reset.join(',')}`)
      }
    })
  })

  // describe("Plugin: rate-limiting fault tolerancy #db (access) [policy: redis]"): Kong's
  // redis_port = 80 (nothing listening) is a closed port here.
  const NO_HEADERS = ['x-ratelimit-limit-minute', 'x-ratelimit-remaining-minute', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset']
  for (const faultTolerant of [false, true]) {
    const it = faultTolerant ? 'keeps working if an error occurs' : 'does not work if an error occurs'
    t.test(`Plugin: rate-limiting fault tolerancy #db (access) [policy: redis]: ${it}`, async (t) => {
      const fx = new Fixtures(gw)
      t.teardown(() => fx.cleanup())
      const service = await fx.service(UPSTREAM_URL)
      await fx.route(service, [TEST_PATH])
      await fx.rlPlugin({ minute: 6, policy: 'redis', limit_by: 'ip', redis_host: '127.0.0.1', redis_port: await closedPort(), redis_ssl: false, fault_tolerant: faultTolerant }, service)
      const res = await get(TEST_PATH, { accept: 'application/json' })
      if (faultTolerant) {
        t.equal(res.status, 200)
      } else {
        t.equal(res.status, 500)
        // Kong 3.5+'s bodies carry the request id too, as Tollgate's do.
        t.equal(res.body.message, 'An unexpected error occurred')
      }
      for (const h of NO_HEADERS) t.equal(res.headers[h], undefined, `no ${h}`)
    })
  }
})
