// The plugin bundle's contestants for `npm run bench` (issue #20): one per bundled plugin,
// each `tollgate` (one route, nothing else) plus that plugin on the route, configured so it
// does its work on every measured request, and the stack teams reach for. run.ts seeds each
// through the store and starts it as it does the other Tollgate contestants; the ready check
// here proves the plugin is active (a refusal without credentials, a header it adds, a line
// it logs), so a plugin silently left out cannot pass for a cheap one.
//
// Adding a plugin is one entry in PLUGIN_BENCHES. An entry whose plugins are not all bundled
// in this tree is skipped with a printed note (prometheus, before it lands).

import { createHmac } from 'node:crypto'
import { existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { LmdbStore } from '../core/store/index.js'

/** What a plugin entry gets to seed its route (the store is open, the route `bench` stored). */
export interface PluginSeed {
  store: LmdbStore
  route: { id: string }
  /** The contestant's own temp dir (removed at exit): file-log writes there. */
  dir: string
  /** The loopback log collector's URL (http-log). */
  collector: string
  /** Whether a plugin is bundled in this tree (optional parts of a stack). */
  has: (name: string) => boolean
}

/** What a ready check gets: the measured URL and headers, the Admin API, and the seed's facts. */
export interface PluginCheck {
  url: string
  headers: Record<string, string>
  admin: string
  dir: string
  /** Log entries the collector has received so far. */
  collected: () => number
}

export type PluginTarget =
  | { kind: 'cost', max: number }
  | { kind: 'ratio', min: number }
  | { kind: 'none', why: string }

export interface PluginBench {
  /** The contestant is `tollgate-plugin-<id>`. */
  id: string
  /** Plugins it cannot run without; when one is not bundled the contestant is skipped. */
  needs: string[]
  /** Plugins added when bundled, named in the note when not (prometheus in the stack). */
  optional?: string[]
  /** The contestant the cost or ratio is taken against, measured in the same rounds. */
  against: string
  target: PluginTarget
  headers: Record<string, string>
  seed: (s: PluginSeed) => Promise<void>
  check: (c: PluginCheck) => Promise<void>
  note?: string
}

export const benchName = (p: PluginBench): string => `tollgate-plugin-${p.id}`

// --- shared bits -------------------------------------------------------------------------

const get = async (url: string, headers: Record<string, string> = {}, init: RequestInit = {}): Promise<Response> =>
  await fetch(url, { headers, signal: AbortSignal.timeout(10_000), ...init })

function expect (cond: boolean, what: string): void {
  if (!cond) throw new Error(`plugin not active: ${what}`)
}

async function status (url: string, headers: Record<string, string>, want: number, what: string, init: RequestInit = {}): Promise<Response> {
  const res = await get(url, headers, init)
  await res.arrayBuffer()
  expect(res.status === want, `${what}: expected ${want}, got ${res.status}`)
  return res
}

/** Plugins with no effect a client can see are at least checked as stored on the route and running. */
async function configured (admin: string, names: string[]): Promise<void> {
  const res = await get(`${admin}/routes/bench/plugins`)
  const body = await res.json() as { data?: { name: string, enabled?: boolean }[] }
  for (const n of names) expect(body.data?.some((p) => p.name === n && p.enabled !== false) === true, `${n} is not on the route (Admin API)`)
}

const plugin = async (s: PluginSeed, name: string, config: Record<string, unknown>): Promise<void> => {
  await s.store.insert('plugins', { name, config, route: { id: s.route.id } })
}

/** A consumer `bench` with the key `bench-key`, and key-auth on the route. */
async function keyAuthConsumer (s: PluginSeed): Promise<{ id: string }> {
  const consumer = await s.store.insert('consumers', { username: 'bench' }) as { id: string }
  await s.store.insert('keyauth_credentials', { key: 'bench-key', consumer: { id: consumer.id } })
  await plugin(s, 'key-auth', {})
  return consumer
}

/** acl on a key-auth route: the bench consumer is in three groups, two of them allowed; an outsider in none. */
async function aclGroups (s: PluginSeed, consumer: { id: string }): Promise<void> {
  for (const group of ['bench-readers', 'bench-writers', 'staff']) await s.store.insert('acls', { group, consumer: { id: consumer.id } })
  const outsider = await s.store.insert('consumers', { username: 'outsider' }) as { id: string }
  await s.store.insert('keyauth_credentials', { key: 'outsider-key', consumer: { id: outsider.id } })
  await plugin(s, 'acl', { allow: ['bench-writers', 'admins', 'staff'] })
}

const ORIGIN = 'https://app.example.com'
/** An origin list as a site has them: exact origins and a regex, the request's not first. */
const CORS_CONFIG = {
  origins: ['https://www.example.com', 'https://admin\\.example\\.(com|org)', ORIGIN, 'http://localhost:3000'],
  headers: ['Accept', 'Authorization', 'Content-Type', 'apikey'],
  exposed_headers: ['X-Request-Id'],
  credentials: true,
  max_age: 3600,
}
const corsHeaders = { Origin: ORIGIN }
async function corsActive (c: PluginCheck): Promise<void> {
  const res = await get(c.url, c.headers)
  await res.arrayBuffer()
  expect(res.status === 200, `status ${res.status}`)
  expect(res.headers.get('access-control-allow-origin') === ORIGIN, `Access-Control-Allow-Origin is ${String(res.headers.get('access-control-allow-origin'))}`)
}

/** Removes one header, renames one, adds two and a query argument, removes a query argument. */
const REQUEST_TRANSFORMER_CONFIG = {
  remove: { headers: ['x-internal-debug'], querystring: ['debug'] },
  rename: { headers: ['x-client-version:x-api-version'] },
  add: { headers: ['x-gateway:tollgate', 'x-forwarded-env:bench'], querystring: ['source:gateway'] },
}
const requestTransformerHeaders = { 'x-internal-debug': '1', 'x-client-version': '2.4.1' }

const BROWSER_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'

/** An HS256 token for the jwt contestant, its `exp` far ahead (verified on every request). */
function hs256 (key: string, secret: string): string {
  const b64 = (x: unknown): string => Buffer.from(JSON.stringify(x)).toString('base64url')
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ iss: key, sub: 'bench', exp: Math.floor(Date.now() / 1000) + 10 * 365 * 86400 })}`
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`
}
const JWT = hs256('bench-jwt-key', 'bench-jwt-secret-0123456789abcdef')

/** The Admin API's /metrics counts the route's requests and their latencies. */
async function prometheusCounts (c: PluginCheck): Promise<void> {
  await status(c.url, c.headers, 200, 'a request')
  const text = await (await get(`${c.admin}/metrics`)).text()
  expect(/^kong_http_requests_total\{[^}]*route="bench"/m.test(text) && /^kong_request_latency_ms_bucket\{/m.test(text), 'no kong_http_requests_total or kong_request_latency_ms for the route on /metrics')
}

// --- the table ---------------------------------------------------------------------------

const COST = { kind: 'cost', max: 0.03 } as const

/** prometheus as issue #20 measures it (Kong 3.2's fields; the others stay false). */
const PROMETHEUS_CONFIG = { status_code_metrics: true, latency_metrics: true, bandwidth_metrics: true }

export const PLUGIN_BENCHES: PluginBench[] = [
  {
    id: 'key-auth',
    needs: ['key-auth'],
    against: 'tollgate',
    target: COST,
    headers: { apikey: 'bench-key' },
    seed: async (s) => { await keyAuthConsumer(s) },
    check: async (c) => { await status(c.url, {}, 401, 'no key') },
    note: 'key in a header, one consumer',
  },
  {
    // acl cannot run alone (it needs a consumer): its cost is against key-auth alone.
    id: 'acl',
    needs: ['key-auth', 'acl'],
    against: 'tollgate-plugin-key-auth',
    target: COST,
    headers: { apikey: 'bench-key' },
    seed: async (s) => { await aclGroups(s, await keyAuthConsumer(s)) },
    check: async (c) => {
      await status(c.url, {}, 401, 'no key')
      await status(c.url, { apikey: 'outsider-key' }, 403, 'a consumer in no allowed group')
    },
    note: 'key-auth + acl (3 groups, 3 allowed), against key-auth alone',
  },
  {
    id: 'basic-auth',
    needs: ['basic-auth'],
    against: 'tollgate',
    target: COST,
    headers: { authorization: `Basic ${Buffer.from('bench:bench-password').toString('base64')}` },
    seed: async (s) => {
      const consumer = await s.store.insert('consumers', { username: 'bench' }) as { id: string }
      // Stored hashed (Kong's salted SHA-1) by the entity's write rewrite.
      await s.store.insert('basicauth_credentials', { username: 'bench', password: 'bench-password', consumer: { id: consumer.id } })
      await plugin(s, 'basic-auth', {})
    },
    check: async (c) => {
      await status(c.url, {}, 401, 'no credentials')
      await status(c.url, { authorization: `Basic ${Buffer.from('bench:wrong').toString('base64')}` }, 401, 'a wrong password')
    },
  },
  {
    id: 'jwt',
    needs: ['jwt'],
    against: 'tollgate',
    target: COST,
    headers: { authorization: `Bearer ${JWT}` },
    seed: async (s) => {
      const consumer = await s.store.insert('consumers', { username: 'bench' }) as { id: string }
      await s.store.insert('jwt_secrets', { key: 'bench-jwt-key', secret: 'bench-jwt-secret-0123456789abcdef', algorithm: 'HS256', consumer: { id: consumer.id } })
      await plugin(s, 'jwt', { claims_to_verify: ['exp'] })
    },
    check: async (c) => {
      await status(c.url, {}, 401, 'no token')
      await status(c.url, { authorization: `Bearer ${JWT.slice(0, -2)}xx` }, 401, 'a bad signature')
    },
    note: 'HS256, exp verified',
  },
  {
    id: 'cors',
    needs: ['cors'],
    against: 'tollgate',
    target: COST,
    headers: corsHeaders,
    seed: async (s) => { await plugin(s, 'cors', CORS_CONFIG) },
    check: corsActive,
    note: '4 origins (one a regex), the request with Origin',
  },
  {
    id: 'ip-restriction',
    needs: ['ip-restriction'],
    against: 'tollgate',
    target: COST,
    headers: {},
    seed: async (s) => { await plugin(s, 'ip-restriction', { allow: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '203.0.113.7', '127.0.0.1', '::1'] }) },
    // 127.0.0.1 must get through; the refusal cannot be shown from 127.0.0.1 without a
    // second set-up, so the check is that the plugin is on the route.
    check: async (c) => { await configured(c.admin, ['ip-restriction']) },
    note: 'allow list of 6, 127.0.0.1 among them',
  },
  {
    id: 'request-transformer',
    needs: ['request-transformer'],
    against: 'tollgate',
    target: COST,
    headers: requestTransformerHeaders,
    seed: async (s) => { await plugin(s, 'request-transformer', REQUEST_TRANSFORMER_CONFIG) },
    // Its effects are on the upstream request, which the nginx upstream does not echo.
    check: async (c) => { await configured(c.admin, ['request-transformer']) },
    note: 'headers removed, renamed, added; a query argument added, one removed',
  },
  {
    id: 'response-transformer',
    needs: ['response-transformer'],
    against: 'tollgate',
    target: COST,
    headers: {},
    seed: async (s) => {
      await plugin(s, 'response-transformer', {
        remove: { headers: ['x-powered-by'] },
        rename: { headers: ['server:x-upstream-server'] },
        add: { headers: ['x-gateway:tollgate', 'cache-control:no-store'] },
      })
    },
    check: async (c) => {
      const res = await get(c.url, c.headers)
      await res.arrayBuffer()
      expect(res.headers.get('x-gateway') === 'tollgate', 'x-gateway added')
    },
    note: 'headers only: one removed, one renamed, two added',
  },
  {
    id: 'response-transformer-json',
    needs: ['response-transformer'],
    against: 'tollgate',
    target: COST,
    headers: {},
    seed: async (s) => {
      await plugin(s, 'response-transformer', {
        remove: { json: ['hello'] },
        add: { json: ['gateway:tollgate', 'version:3'], json_types: ['string', 'number'] },
      })
    },
    check: async (c) => {
      const body = await (await get(c.url, c.headers)).json() as Record<string, unknown>
      expect(body.gateway === 'tollgate' && body.version === 3 && !('hello' in body), `body ${JSON.stringify(body)}`)
    },
    note: 'the JSON body: one property removed, two added (body buffered and re-encoded)',
  },
  {
    id: 'correlation-id',
    needs: ['correlation-id'],
    against: 'tollgate',
    target: COST,
    headers: {},
    seed: async (s) => { await plugin(s, 'correlation-id', { generator: 'uuid#counter', echo_downstream: true }) },
    check: async (c) => {
      const res = await get(c.url, c.headers)
      await res.arrayBuffer()
      expect(/^[0-9a-f-]{36}#\d+$/.test(res.headers.get('kong-request-id') ?? ''), `Kong-Request-ID is ${String(res.headers.get('kong-request-id'))}`)
    },
    note: 'uuid#counter, echoed downstream',
  },
  {
    id: 'request-size-limiting',
    needs: ['request-size-limiting'],
    against: 'tollgate',
    target: COST,
    headers: {},
    seed: async (s) => { await plugin(s, 'request-size-limiting', { allowed_payload_size: 1, size_unit: 'kilobytes' }) },
    check: async (c) => {
      await status(c.url, {}, 413, 'a 2 KB body', { method: 'POST', body: 'x'.repeat(2048) })
    },
    note: 'GET requests (no body) under a 1 KB limit',
  },
  {
    id: 'bot-detection',
    needs: ['bot-detection'],
    against: 'tollgate',
    target: COST,
    headers: { 'user-agent': BROWSER_UA },
    seed: async (s) => { await plugin(s, 'bot-detection', { deny: ['badbot/\\d+'] }) },
    check: async (c) => {
      await status(c.url, { 'user-agent': 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' }, 403, 'Googlebot')
      await status(c.url, { 'user-agent': 'badbot/7' }, 403, 'the deny list')
    },
    note: 'a browser User-Agent, one deny regex and the built-in rules',
  },
  {
    id: 'rate-limiting',
    needs: ['rate-limiting'],
    against: 'tollgate',
    target: COST,
    headers: {},
    seed: async (s) => { await plugin(s, 'rate-limiting', { minute: 1e9, hour: 1e12, policy: 'local' }) },
    check: async (c) => {
      const res = await get(c.url, c.headers)
      await res.arrayBuffer()
      expect(res.headers.get('x-ratelimit-limit-minute') === '1000000000', 'X-RateLimit-Limit-Minute')
    },
    note: 'local policy, minute and hour limits never reached',
  },
  {
    id: 'file-log',
    needs: ['file-log'],
    against: 'tollgate',
    target: COST,
    headers: {},
    seed: async (s) => { await plugin(s, 'file-log', { path: join(s.dir, 'access.log') }) },
    check: async (c) => {
      await status(c.url, c.headers, 200, 'a request')
      const file = join(c.dir, 'access.log')
      // The line is written after the answer: give it a moment.
      for (let i = 0; i < 50 && !(existsSync(file) && statSync(file).size > 0); i++) await new Promise((r) => setTimeout(r, 20))
      expect(existsSync(file) && statSync(file).size > 0, `nothing logged to ${file}`)
    },
    note: 'one JSON line per request to a file in a temp dir',
  },
  {
    id: 'http-log',
    needs: ['http-log'],
    against: 'tollgate',
    target: COST,
    headers: {},
    // Batches of 100 (Kong's default of 1 sends one POST per request, which one batch in
    // flight at a time cannot keep up with at these rates: entries would be dropped).
    seed: async (s) => { await plugin(s, 'http-log', { http_endpoint: s.collector, queue_size: 100, flush_timeout: 0.2 }) },
    check: async (c) => {
      const before = c.collected()
      await status(c.url, c.headers, 200, 'a request')
      for (let i = 0; i < 100 && c.collected() === before; i++) await new Promise((r) => setTimeout(r, 20))
      expect(c.collected() > before, 'the collector received no entry')
    },
    note: 'batches of 100 to a loopback collector (in the harness, on CPU 1)',
  },
  {
    id: 'request-termination',
    needs: ['request-termination'],
    against: 'tollgate',
    target: { kind: 'none', why: 'an exit: the upstream is never called' },
    headers: {},
    seed: async (s) => { await plugin(s, 'request-termination', { status_code: 200, message: 'maintenance' }) },
    check: async (c) => {
      const body = await (await get(c.url, c.headers)).json() as { message?: string }
      expect(body.message === 'maintenance', `body ${JSON.stringify(body)}`)
    },
    note: 'an exit (200 with a message), not comparable',
  },
  {
    // What most routes carry (issue #20): authentication, groups, CORS, a header rewrite and metrics.
    id: 'stack',
    needs: ['key-auth', 'acl', 'cors', 'request-transformer'],
    optional: ['prometheus'],
    against: 'bare',
    target: { kind: 'ratio', min: 0.8 },
    headers: { apikey: 'bench-key', ...corsHeaders, ...requestTransformerHeaders },
    seed: async (s) => {
      await aclGroups(s, await keyAuthConsumer(s))
      await plugin(s, 'cors', CORS_CONFIG)
      await plugin(s, 'request-transformer', REQUEST_TRANSFORMER_CONFIG)
      if (s.has('prometheus')) await plugin(s, 'prometheus', PROMETHEUS_CONFIG)
    },
    check: async (c) => {
      await status(c.url, {}, 401, 'no key')
      await status(c.url, { apikey: 'outsider-key' }, 403, 'a consumer in no allowed group')
      await corsActive(c)
      await configured(c.admin, ['request-transformer'])
      if ((await get(`${c.admin}/plugins?size=1000`).then(async (r) => await r.text())).includes('"prometheus"')) await prometheusCounts(c)
    },
    note: 'key-auth + acl + cors + request-transformer (+ prometheus when bundled)',
  },
  {
    id: 'prometheus',
    needs: ['prometheus'],
    against: 'tollgate',
    target: COST,
    headers: {},
    seed: async (s) => { await plugin(s, 'prometheus', PROMETHEUS_CONFIG) },
    check: async (c) => { await prometheusCounts(c) },
    note: 'status code, latency and bandwidth metrics',
  },
  {
    // The control: `tollgate` again (no plugin), started after the others. Its "cost" is what
    // the measurement itself puts between two identical gateways in one run (start order,
    // drift within a round), the floor under which a plugin's cost cannot be told apart.
    id: 'control',
    needs: [],
    against: 'tollgate',
    target: { kind: 'none', why: 'the control: the same set-up as tollgate, its difference is the noise floor' },
    headers: {},
    seed: async () => {},
    check: async () => {},
    note: 'no plugin: tollgate again, started last',
  },
]

/** proxy-cache is measured by the older `tollgate-proxy-cache-hit` contestant (a hit skips the upstream). */
export const PLUGINS_MEASURED_ELSEWHERE: Record<string, string> = {
  'proxy-cache': 'tollgate-proxy-cache-hit (every request a hit: faster than the route uncached, target >= 1.5x)',
}

/** The plugins in `names` that are not bundled in this tree. */
export const missing = (p: PluginBench, bundled: Set<string>): string[] => p.needs.filter((n) => !bundled.has(n))
