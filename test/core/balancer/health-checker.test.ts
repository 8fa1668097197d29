// The health checker: passive counters and lua-resty-healthcheck's four states, manual
// verdicts, and active probes against real servers on 127.0.0.1 (HTTP, HTTPS, TCP, refused
// ports, servers that never answer), concurrency, reconfiguration and stopping.
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { createServer as createNetServer, type AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import {
  HealthChecker, activeOn, checksOn, isHealthy, passiveOn, requestHead, startProbe,
  type CheckTarget, type Healthchecks, type InternalHealth,
} from '../../../core/balancer/index.js'
import { closedPort } from '../../helpers/gateway.js'

const IP = '127.0.0.1'
const FIXTURES = new URL('../../fixtures/tls/', import.meta.url)

/** Kong's defaults: everything off. */
function defaults (): Healthchecks {
  return {
    active: {
      type: 'http',
      timeout: 1,
      concurrency: 10,
      http_path: '/',
      https_sni: null,
      https_verify_certificate: true,
      headers: null,
      healthy: { interval: 0, http_statuses: [200, 302], successes: 0 },
      unhealthy: { interval: 0, http_statuses: [429, 404, 500, 501, 502, 503, 504, 505], tcp_failures: 0, timeouts: 0, http_failures: 0 },
    },
    passive: {
      type: 'http',
      healthy: { http_statuses: [200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308], successes: 0 },
      unhealthy: { http_statuses: [429, 500, 503], tcp_failures: 0, timeouts: 0, http_failures: 0 },
    },
    threshold: 0,
  }
}

type Over = { active?: Partial<Omit<Healthchecks['active'], 'healthy' | 'unhealthy'>> & { healthy?: Partial<Healthchecks['active']['healthy']>, unhealthy?: Partial<Healthchecks['active']['unhealthy']> },
  passive?: Partial<Omit<Healthchecks['passive'], 'healthy' | 'unhealthy'>> & { healthy?: Partial<Healthchecks['passive']['healthy']>, unhealthy?: Partial<Healthchecks['passive']['unhealthy']> } }

function hc (over: Over = {}): Healthchecks {
  const d = defaults()
  const { healthy: ah, unhealthy: au, ...a } = over.active ?? {}
  const { healthy: ph, unhealthy: pu, ...p } = over.passive ?? {}
  return {
    active: { ...d.active, ...a, healthy: { ...d.active.healthy, ...ah }, unhealthy: { ...d.active.unhealthy, ...au } },
    passive: { ...d.passive, ...p, healthy: { ...d.passive.healthy, ...ph }, unhealthy: { ...d.passive.unhealthy, ...pu } },
    threshold: 0,
  }
}

const tg = (port: number, hostname = IP): CheckTarget => ({ ip: IP, port, hostname })

async function until (cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** A checker with one target, recording every change as `from>to`. */
function passive (t: Test, over: Over, target = tg(80)): { c: HealthChecker, events: string[], h: () => InternalHealth | undefined } {
  const c = new HealthChecker({ name: 'up.test', healthchecks: hc(over) })
  c.setTargets([target])
  const events: string[] = []
  c.onChange((_t, h, prev) => events.push(`${prev}>${h}`))
  t.teardown(() => c.stop())
  return { c, events, h: () => c.health(target.ip, target.port, target.hostname) }
}

interface Seen { url: string, version: string, headers: IncomingMessage['headers'], raw: string[], servername?: string | false | undefined }

interface TestServer {
  port: number
  server: Server
  status: number
  /** Milliseconds before answering; -1: never answer. */
  delay: number
  seen: Seen[]
  active: number
  maxActive: number
}

async function startServer (t: Test, opts: { https?: boolean } = {}): Promise<TestServer> {
  const s: Partial<TestServer> & { seen: Seen[] } = { status: 200, delay: 0, seen: [], active: 0, maxActive: 0 }
  const handler = (req: IncomingMessage, res: import('node:http').ServerResponse): void => {
    const ts = s as TestServer
    ts.seen.push({ url: req.url ?? '', version: req.httpVersion, headers: req.headers, raw: req.rawHeaders, servername: (req.socket as { servername?: string | false }).servername })
    ts.active++
    ts.maxActive = Math.max(ts.maxActive, ts.active)
    res.on('close', () => { ts.active-- })
    if (ts.delay < 0) return
    setTimeout(() => { res.statusCode = ts.status; res.end('ok') }, ts.delay)
  }
  const server = opts.https === true
    ? createHttpsServer({ key: readFileSync(new URL('localhost-key.pem', FIXTURES)), cert: readFileSync(new URL('localhost-cert.pem', FIXTURES)) }, handler)
    : createServer(handler)
  server.listen(0, IP)
  await once(server, 'listening')
  t.teardown(async () => { server.closeAllConnections(); server.close(); await once(server, 'close') })
  s.server = server
  s.port = (server.address() as AddressInfo).port
  return s as TestServer
}

const QUICK = { timeout: 0.2 }

// ---------------------------------------------------------------------------------------
// Passive checks and the state machine

t.test('passive TCP failures: healthy → mostly_healthy → unhealthy at the threshold', async (t) => {
  const { c, events, h } = passive(t, { passive: { unhealthy: { tcp_failures: 3 } } })
  t.equal(h(), 'healthy', 'every target starts healthy')
  c.report(IP, 80, IP, 'tcp')
  t.equal(h(), 'mostly_healthy')
  t.same(c.counters(IP, 80, IP), { successes: 0, tcp_failures: 1, timeouts: 0, http_failures: 0 })
  c.report(IP, 80, IP, 'tcp')
  t.equal(h(), 'mostly_healthy')
  c.report(IP, 80, IP, 'tcp')
  t.equal(h(), 'unhealthy')
  t.same(events, ['healthy>mostly_healthy', 'mostly_healthy>unhealthy'], 'one event per change, mostly_* included')
  t.equal(isHealthy('mostly_healthy'), true)
  t.equal(isHealthy('mostly_unhealthy'), false)
})

t.test('passive timeouts and HTTP failures count separately, each against its threshold', async (t) => {
  const { c, h } = passive(t, { passive: { unhealthy: { timeouts: 2, http_failures: 3 } } })
  c.report(IP, 80, IP, 'timeout')
  c.report(IP, 80, IP, 'response', 500)
  c.report(IP, 80, IP, 'response', 503)
  t.same(c.counters(IP, 80, IP), { successes: 0, tcp_failures: 0, timeouts: 1, http_failures: 2 })
  t.equal(h(), 'mostly_healthy', 'no counter at its threshold yet')
  c.report(IP, 80, IP, 'timeout')
  t.equal(h(), 'unhealthy', 'the second timeout reaches timeouts=2')

  const b = passive(t, { passive: { unhealthy: { http_failures: 2 } } })
  b.c.report(IP, 80, IP, 'response', 429)
  b.c.report(IP, 80, IP, 'response')
  t.equal(b.h(), 'unhealthy', 'a response without a status is an invalid response: an HTTP failure')
})

t.test('a success clears the failure counters; a failure clears successes', async (t) => {
  const { c, h } = passive(t, { passive: { healthy: { successes: 3 }, unhealthy: { tcp_failures: 2, timeouts: 2 } } })
  c.report(IP, 80, IP, 'tcp')
  c.report(IP, 80, IP, 'timeout')
  c.report(IP, 80, IP, 'response', 200)
  t.same(c.counters(IP, 80, IP), { successes: 1, tcp_failures: 0, timeouts: 0, http_failures: 0 })
  t.equal(h(), 'mostly_healthy', 'a success below its threshold leaves mostly_healthy as it is')
  c.report(IP, 80, IP, 'tcp')
  t.same(c.counters(IP, 80, IP), { successes: 0, tcp_failures: 1, timeouts: 0, http_failures: 0 })
  t.equal(h(), 'mostly_healthy', 'the first TCP failure before the success no longer counts')
  c.report(IP, 80, IP, 'tcp')
  t.equal(h(), 'unhealthy')
  for (let i = 0; i < 3; i++) c.report(IP, 80, IP, 'response', 204)
  t.equal(h(), 'healthy', 'three successes in a row')
})

t.test('mostly_unhealthy: successes below the threshold; failures keep it there', async (t) => {
  const { c, events, h } = passive(t, { passive: { healthy: { successes: 3 }, unhealthy: { http_failures: 2 } } })
  c.set(IP, 80, IP, false)
  events.length = 0
  c.report(IP, 80, IP, 'response', 200)
  t.equal(h(), 'mostly_unhealthy')
  c.report(IP, 80, IP, 'response', 500)
  t.equal(h(), 'mostly_unhealthy', 'one failure below http_failures changes no state')
  t.same(c.counters(IP, 80, IP), { successes: 0, tcp_failures: 0, timeouts: 0, http_failures: 1 })
  c.report(IP, 80, IP, 'response', 200)
  c.report(IP, 80, IP, 'response', 200)
  t.equal(h(), 'mostly_unhealthy', 'the count started over after the failure')
  c.report(IP, 80, IP, 'response', 200)
  t.equal(h(), 'healthy')
  t.same(events, ['unhealthy>mostly_unhealthy', 'mostly_unhealthy>healthy'])

  // And from mostly_unhealthy failures can take it back to unhealthy.
  c.set(IP, 80, IP, false)
  c.report(IP, 80, IP, 'response', 200)
  c.report(IP, 80, IP, 'response', 500)
  c.report(IP, 80, IP, 'response', 500)
  t.equal(h(), 'unhealthy')
})

t.test('no-op reports: successes while healthy, failures while unhealthy', async (t) => {
  const { c, events, h } = passive(t, { passive: { healthy: { successes: 2 }, unhealthy: { tcp_failures: 1, timeouts: 1, http_failures: 1 } } })
  c.report(IP, 80, IP, 'response', 200)
  t.same(c.counters(IP, 80, IP), { successes: 0, tcp_failures: 0, timeouts: 0, http_failures: 0 }, 'a success is not counted while fully healthy')
  c.report(IP, 80, IP, 'tcp')
  t.equal(h(), 'unhealthy')
  c.report(IP, 80, IP, 'response', 200)
  t.same(c.counters(IP, 80, IP), { successes: 1, tcp_failures: 0, timeouts: 0, http_failures: 0 })
  t.equal(h(), 'mostly_unhealthy')
  c.report(IP, 80, IP, 'timeout')
  t.equal(h(), 'unhealthy')
  const before = c.counters(IP, 80, IP)
  const n = events.length
  c.report(IP, 80, IP, 'tcp')
  c.report(IP, 80, IP, 'timeout')
  c.report(IP, 80, IP, 'response', 500)
  t.same(c.counters(IP, 80, IP), before, 'failures are not counted while fully unhealthy')
  t.equal(events.length, n, 'and raise no event')
})

t.test('statuses in neither list are ignored; a threshold of 0 ignores that kind', async (t) => {
  const { c, h } = passive(t, { passive: { healthy: { successes: 0 }, unhealthy: { http_failures: 1, tcp_failures: 0, timeouts: 1 } } })
  for (const s of [404, 418, 501, 100]) c.report(IP, 80, IP, 'response', s)
  t.equal(h(), 'healthy', 'not in passive.unhealthy.http_statuses')
  t.same(c.counters(IP, 80, IP), { successes: 0, tcp_failures: 0, timeouts: 0, http_failures: 0 })
  for (let i = 0; i < 5; i++) c.report(IP, 80, IP, 'tcp')
  t.equal(h(), 'healthy', 'tcp_failures 0: TCP failures are not evidence')
  t.equal(c.counters(IP, 80, IP)?.tcp_failures, 0)

  // successes 0: a success does not even clear the failure counters.
  const b = passive(t, { passive: { unhealthy: { timeouts: 2 } } })
  b.c.report(IP, 80, IP, 'timeout')
  b.c.report(IP, 80, IP, 'response', 200)
  t.equal(b.c.counters(IP, 80, IP)?.timeouts, 1)
  b.c.report(IP, 80, IP, 'timeout')
  t.equal(b.h(), 'unhealthy')
})

t.test('passive.type tcp still classes statuses (Kong reports every status the same way)', async (t) => {
  const { c, h } = passive(t, { passive: { type: 'tcp', unhealthy: { http_failures: 1 } } })
  c.report(IP, 80, IP, 'response', 500)
  t.equal(h(), 'unhealthy')
})

t.test('manual set: full state, counters cleared, false for an unknown target', async (t) => {
  const { c, events, h } = passive(t, { passive: { healthy: { successes: 2 }, unhealthy: { tcp_failures: 3 } } })
  c.report(IP, 80, IP, 'tcp')
  t.equal(c.set(IP, 80, IP, false), true)
  t.equal(h(), 'unhealthy')
  t.same(c.counters(IP, 80, IP), { successes: 0, tcp_failures: 0, timeouts: 0, http_failures: 0 })
  c.report(IP, 80, IP, 'response', 200)
  t.equal(c.set(IP, 80, IP, true), true)
  t.equal(h(), 'healthy')
  t.equal(c.counters(IP, 80, IP)?.successes, 0)
  t.same(events, ['healthy>mostly_healthy', 'mostly_healthy>unhealthy', 'unhealthy>mostly_unhealthy', 'mostly_unhealthy>healthy'])
  t.equal(c.set(IP, 81, IP, false), false)
  t.equal(c.set(IP, 80, 'other.test', false), false, 'the hostname is part of the key')
  t.equal(c.health(IP, 81, IP), undefined)
})

t.test('targets are keyed by ip, port and hostname; IPv6 in brackets', async (t) => {
  const c = new HealthChecker({ name: 'up.test', healthchecks: hc({ passive: { unhealthy: { tcp_failures: 1 } } }) })
  c.setTargets([{ ip: IP, port: 80, hostname: 'a.test' }, { ip: IP, port: 80, hostname: 'b.test' }, { ip: '[::1]', port: 80, hostname: '[::1]' }])
  c.report(IP, 80, 'a.test', 'tcp')
  c.report('[::1]', 80, '[::1]', 'tcp')
  t.equal(c.health(IP, 80, 'a.test'), 'unhealthy')
  t.equal(c.health(IP, 80, 'b.test'), 'healthy')
  t.equal(c.health('[::1]', 80, '[::1]'), 'unhealthy')
  c.report(IP, 99, 'a.test', 'tcp') // unknown: ignored, no throw
  t.equal(c.targets().length, 3)
})

t.test('setTargets adds healthy targets, forgets removed ones, a re-add starts over', async (t) => {
  const { c, h } = passive(t, { passive: { unhealthy: { http_failures: 2 } } })
  c.report(IP, 80, IP, 'response', 500)
  c.setTargets([tg(80), tg(81)])
  t.equal(h(), 'mostly_healthy', 'a kept target keeps its state')
  t.equal(c.counters(IP, 80, IP)?.http_failures, 1, 'and its counters')
  t.equal(c.health(IP, 81, IP), 'healthy')
  c.report(IP, 80, IP, 'response', 500)
  t.equal(h(), 'unhealthy')
  c.setTargets([tg(81)])
  t.equal(h(), undefined, 'removed')
  t.same(c.targets(), [tg(81)])
  c.setTargets([tg(81), tg(80)])
  t.equal(h(), 'healthy')
  t.equal(c.counters(IP, 80, IP)?.http_failures, 0)
})

t.test('update keeps targets, states and counters; new thresholds apply', async (t) => {
  const { c, h } = passive(t, { passive: { unhealthy: { tcp_failures: 5 } } })
  c.report(IP, 80, IP, 'tcp')
  c.report(IP, 80, IP, 'tcp')
  c.update(hc({ passive: { unhealthy: { tcp_failures: 3 } } }))
  t.equal(h(), 'mostly_healthy')
  t.equal(c.counters(IP, 80, IP)?.tcp_failures, 2)
  c.report(IP, 80, IP, 'tcp')
  t.equal(h(), 'unhealthy', 'the third failure reaches the new threshold')
  t.equal(c.healthchecks.passive.unhealthy.tcp_failures, 3)
})

t.test('a throwing listener does not stop the others or the change', async (t) => {
  const { c, h } = passive(t, { passive: { unhealthy: { tcp_failures: 1 } } })
  c.onChange(() => { throw new Error('boom') })
  let seen = ''
  const off = c.onChange((target, health) => { seen = `${target.ip}:${target.port} ${health}` })
  c.report(IP, 80, IP, 'tcp')
  t.equal(h(), 'unhealthy')
  t.equal(seen, '127.0.0.1:80 unhealthy')
  off()
  c.set(IP, 80, IP, true)
  t.equal(seen, '127.0.0.1:80 unhealthy', 'unsubscribed')
})

t.test('checksOn, activeOn, passiveOn follow Kong\'s is_upstream_using_healthcheck', async (t) => {
  t.equal(checksOn(hc()), false, 'defaults: off')
  t.equal(checksOn(null), false)
  t.equal(checksOn(hc({ passive: { healthy: { successes: 5 } } })), false, 'passive successes alone do not count')
  t.equal(checksOn(hc({ active: { healthy: { successes: 5 }, unhealthy: { tcp_failures: 2 } } })), false, 'active thresholds without an interval do not either')
  for (const over of [{ active: { healthy: { interval: 1 } } }, { active: { unhealthy: { interval: 0.5 } } }] as Over[]) {
    t.equal(activeOn(hc(over)), true)
    t.equal(passiveOn(hc(over)), false)
    t.equal(checksOn(hc(over)), true)
  }
  for (const u of [{ tcp_failures: 1 }, { timeouts: 1 }, { http_failures: 1 }]) {
    const h = hc({ passive: { unhealthy: u } })
    t.equal(passiveOn(h), true, JSON.stringify(u))
    t.equal(activeOn(h), false)
    t.equal(checksOn(h), true)
  }
})

// ---------------------------------------------------------------------------------------
// Active probes

function active (t: Test, over: Over, targets: CheckTarget[], hostHeader?: string | null): HealthChecker {
  const c = new HealthChecker({ name: 'up.test', healthchecks: hc(over), hostHeader })
  c.setTargets(targets)
  t.teardown(() => c.stop())
  c.start()
  return c
}

t.test('active http: failures take a target down, successes bring it back', async (t) => {
  const s = await startServer(t)
  s.status = 500
  const changes: string[] = []
  const c = active(t, { active: { ...QUICK, healthy: { interval: 0.05, successes: 2 }, unhealthy: { interval: 0.05, http_failures: 2 } } }, [tg(s.port)])
  c.onChange((_t, h) => changes.push(h))
  await until(() => c.health(IP, s.port, IP) === 'unhealthy', 'unhealthy')
  t.same(changes, ['mostly_healthy', 'unhealthy'])
  s.status = 302
  await until(() => c.health(IP, s.port, IP) === 'healthy', 'healthy again')
  t.same(changes, ['mostly_healthy', 'unhealthy', 'mostly_unhealthy', 'healthy'])
  const r = s.seen[0]
  t.equal(r?.url, '/')
  t.equal(r?.version, '1.0', 'Kong probes with HTTP/1.0')
  t.equal(r?.headers.host, IP, 'Host: the target host, no port (Kong)')
})

t.test('active statuses in neither list are ignored', async (t) => {
  const s = await startServer(t)
  s.status = 418
  const c = active(t, { active: { ...QUICK, healthy: { interval: 0.05, successes: 1 }, unhealthy: { interval: 0.05, http_failures: 1 } } }, [tg(s.port)])
  c.set(IP, s.port, IP, false)
  await c.nextRound('unhealthy')
  await c.nextRound('unhealthy')
  t.ok(s.seen.length >= 2, 'probed')
  t.equal(c.health(IP, s.port, IP), 'unhealthy', '418 is no success')
  c.set(IP, s.port, IP, true)
  await c.nextRound('healthy')
  t.same(await c.nextRound('healthy'), { mode: 'healthy', probed: 1 })
  t.equal(c.health(IP, s.port, IP), 'healthy', 'and no failure')
})

t.test('probes send http_path, active.headers and Host (host_header when set)', async (t) => {
  const s = await startServer(t)
  const c = active(t, {
    active: { ...QUICK, http_path: '/status?deep=1', headers: { 'X-Probe': ['one', 'two'], 'X-Single': ['v'] }, healthy: { interval: 0.05 } },
  }, [tg(s.port, 'svc.test')])
  await until(() => s.seen.length >= 1, 'a probe')
  const r = s.seen[0] as Seen
  t.equal(r.url, '/status?deep=1')
  t.equal(r.headers.host, 'svc.test', 'the target hostname')
  t.same(r.raw.filter((_, i) => i % 2 === 0), ['X-Probe', 'X-Probe', 'X-Single', 'Host'], 'Kong\'s order: headers, then Host; one line per value')
  t.equal(r.headers['x-probe'], 'one, two')
  t.equal(r.headers['x-single'], 'v')

  c.update(hc({ active: { ...QUICK, http_path: '/other', healthy: { interval: 0.05 } } }), 'api.example:8443')
  await until(() => s.seen.some((x) => x.url === '/other'), 'a probe with the new config')
  const last = s.seen.find((x) => x.url === '/other') as Seen
  t.equal(last.headers.host, 'api.example:8443', 'host_header, verbatim')
  t.equal(last.headers['x-probe'], undefined)
  t.equal(requestHead('/p', 'h', { a: ['x\r\nInjected: 1'] }), 'GET /p HTTP/1.0\r\na: xInjected: 1\r\nHost: h\r\n\r\n', 'CR/LF dropped from values')
})

t.test('active timeouts: a server that never answers', async (t) => {
  const s = await startServer(t)
  s.delay = -1
  const c = active(t, { active: { ...QUICK, healthy: { interval: 0.05 }, unhealthy: { timeouts: 2, tcp_failures: 1, http_failures: 1 } } }, [tg(s.port)])
  await until(() => c.health(IP, s.port, IP) === 'mostly_healthy', 'one timeout')
  t.same(c.counters(IP, s.port, IP), { successes: 0, tcp_failures: 0, timeouts: 1, http_failures: 0 }, 'counted as a timeout, not a TCP failure')
  await until(() => c.health(IP, s.port, IP) === 'unhealthy', 'unhealthy')
  t.ok(s.seen.length >= 2, 'the request reached the server')
})

t.test('active TCP failures: nothing listening', async (t) => {
  const port = await closedPort()
  const c = active(t, { active: { ...QUICK, healthy: { interval: 0.05 }, unhealthy: { tcp_failures: 2, timeouts: 1 } } }, [tg(port)])
  await until(() => c.health(IP, port, IP) === 'unhealthy', 'unhealthy')
  t.equal(c.counters(IP, port, IP)?.tcp_failures, 2)
  t.equal(c.counters(IP, port, IP)?.timeouts, 0)
})

t.test('type tcp only connects', async (t) => {
  const port = await closedPort()
  let accepted = 0
  let data = 0
  const tcp = createNetServer((sock) => { accepted++; sock.on('data', () => { data++ }); sock.on('error', () => {}) })
  tcp.listen(0, IP)
  await once(tcp, 'listening')
  t.teardown(() => { tcp.close() })
  const open = (tcp.address() as AddressInfo).port
  const c = active(t, { active: { ...QUICK, type: 'tcp', healthy: { interval: 0.05, successes: 1 }, unhealthy: { interval: 0.05, tcp_failures: 1 } } }, [tg(port), tg(open)])
  c.set(IP, open, IP, false)
  await until(() => c.health(IP, port, IP) === 'unhealthy' && c.health(IP, open, IP) === 'healthy', 'refused port down, open port up')
  t.ok(accepted >= 1)
  t.equal(data, 0, 'no request is sent')
})

t.test('active probes overturn a manual verdict', async (t) => {
  const s = await startServer(t)
  const c = active(t, { active: { ...QUICK, healthy: { interval: 0.05, successes: 1 }, unhealthy: { interval: 0.05, http_failures: 1 } } }, [tg(s.port)])
  c.set(IP, s.port, IP, false)
  await until(() => c.health(IP, s.port, IP) === 'healthy', 'back up by probe')
  s.status = 503
  c.set(IP, s.port, IP, true)
  await until(() => c.health(IP, s.port, IP) === 'unhealthy', 'down by probe')
  t.pass('both directions')
})

t.test('healthy targets on healthy.interval, unhealthy ones on unhealthy.interval; interval 0 = none', async (t) => {
  const a = await startServer(t)
  const b = await startServer(t)
  const c = active(t, { active: { ...QUICK, healthy: { interval: 0.05 }, unhealthy: { interval: 0 } } }, [tg(a.port), tg(b.port)])
  c.set(IP, b.port, IP, false)
  const r1 = await c.nextRound()
  const r2 = await c.nextRound()
  t.same([r1, r2], [{ mode: 'healthy', probed: 1 }, { mode: 'healthy', probed: 1 }])
  t.ok(a.seen.length >= 2)
  t.equal(b.seen.length, 0, 'the unhealthy target is never probed')
  c.update(hc({ active: { ...QUICK, healthy: { interval: 0 }, unhealthy: { interval: 0.05 } } }))
  const r3 = await c.nextRound('unhealthy')
  t.same(r3, { mode: 'unhealthy', probed: 1 })
  await until(() => b.seen.length >= 1, 'b probed')
})

t.test('concurrency bounds simultaneous probes', async (t) => {
  const s = await startServer(t)
  s.delay = 80
  const targets = Array.from({ length: 7 }, (_, i) => tg(s.port, `h${i}.test`))
  const c = active(t, { active: { timeout: 2, concurrency: 2, healthy: { interval: 0.05 } } }, targets)
  const round = await c.nextRound('healthy')
  t.equal(round.probed, 7)
  t.same(new Set(s.seen.slice(0, 7).map((r) => r.headers.host)).size, 7, 'every target probed once in the round')
  t.equal(s.maxActive, 2, 'never more than 2 at once, and the bound is used')
})

t.test('https probes: SNI, certificate verification', async (t) => {
  const s = await startServer(t, { https: true })
  const over = (sni: string | null, verify: boolean): Over =>
    ({ active: { ...QUICK, type: 'https', https_sni: sni, https_verify_certificate: verify, healthy: { interval: 0.05, successes: 1 }, unhealthy: { interval: 0.05, tcp_failures: 1 } } })
  // The fixture certificate is self-signed, so verification fails whatever the name.
  const verified = active(t, over('localhost', true), [tg(s.port, 'localhost')])
  await until(() => verified.health(IP, s.port, 'localhost') === 'unhealthy', 'verification failure = TCP failure')
  t.equal(verified.counters(IP, s.port, 'localhost')?.tcp_failures, 1)
  await verified.stop()

  const plain = active(t, over('probe.test', false), [tg(s.port, 'localhost')])
  plain.set(IP, s.port, 'localhost', false)
  await until(() => plain.health(IP, s.port, 'localhost') === 'healthy', 'healthy over TLS')
  t.equal(s.seen.at(-1)?.servername, 'probe.test', 'https_sni wins')
  await plain.stop()

  const byHost = active(t, over(null, false), [tg(s.port, 'localhost')], 'api.example:8443')
  await until(() => s.seen.some((r) => r.headers.host === 'api.example:8443'), 'probe with host_header')
  t.equal(s.seen.find((r) => r.headers.host === 'api.example:8443')?.servername, 'api.example', 'else the Host, without its port')
  await byHost.stop()
})

t.test('grpc / grpcs are probed at the transport level', async (t) => {
  const s = await startServer(t, { https: true })
  const port = await closedPort()
  const c = active(t, { active: { ...QUICK, type: 'grpcs', https_verify_certificate: false, healthy: { interval: 0.05, successes: 1 }, unhealthy: { interval: 0.05, tcp_failures: 1 } } }, [tg(s.port), tg(port)])
  c.set(IP, s.port, IP, false)
  await until(() => c.health(IP, port, IP) === 'unhealthy', 'refused port down')
  await until(() => c.health(IP, s.port, IP) === 'healthy', 'a completed TLS handshake is a success')
  t.equal(s.seen.length, 0, 'no HTTP/1 request is sent')
})

t.test('a probe never throws; odd input is a TCP failure', async (t) => {
  const bad = await startProbe({ type: 'http', ip: IP, port: 70000, timeoutMs: 1000, request: '', verify: true }).done
  t.same(bad, { kind: 'tcp' }, 'a port out of range throws inside net.connect')
  const refused = await startProbe({ type: 'tcp', ip: IP, port: await closedPort(), timeoutMs: 1000, request: '', verify: true }).done
  t.same(refused, { kind: 'tcp' })
  // A server answering with garbage: status 0, an invalid response.
  const junk = createNetServer((sock) => { sock.on('error', () => {}); sock.end('SSH-2.0-OpenSSH\r\n') })
  junk.listen(0, IP)
  await once(junk, 'listening')
  t.teardown(() => { junk.close() })
  const spec = { type: 'http' as const, ip: IP, port: (junk.address() as AddressInfo).port, timeoutMs: 1000, request: requestHead('/', IP, null), verify: true }
  t.same(await startProbe(spec).done, { kind: 'status', status: 0 })
  const c = active(t, { active: { ...QUICK, healthy: { interval: 0.05 }, unhealthy: { http_failures: 1 } } }, [tg(spec.port)])
  await until(() => c.health(IP, spec.port, IP) === 'unhealthy', 'an invalid response is an HTTP failure')
  t.pass()
})

t.test('stop() aborts probes in flight and leaves no sockets or timers', async (t) => {
  const s = await startServer(t)
  s.delay = -1
  const resources = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length
  const baseline = resources()
  const targets = Array.from({ length: 4 }, (_, i) => tg(s.port, `h${i}.test`))
  const c = new HealthChecker({ name: 'up.test', healthchecks: hc({ active: { timeout: 120, healthy: { interval: 0.05 }, unhealthy: { timeouts: 1 } } }) })
  c.setTargets(targets)
  let rounds = 0
  c.onRound(() => { rounds++ })
  c.start()
  await until(() => s.active === 4, 'four probes hanging')
  t.ok(resources() >= baseline + 8, 'client and server sockets open')
  const stopping = Date.now()
  await c.stop()
  t.ok(Date.now() - stopping < 10_000, 'stop() does not wait for the probes\' own timeout (120 s)')
  await until(() => s.active === 0, 'server sees every probe connection close')
  await until(() => resources() === baseline, 'no socket left')
  t.equal(rounds, 0, 'an aborted round completes no round')
  t.same(targets.map((x) => c.health(x.ip, x.port, x.hostname)), ['healthy', 'healthy', 'healthy', 'healthy'], 'aborted probes report nothing')
  const seen = s.seen.length
  c.start()
  await until(() => s.seen.length > seen, 'start() again probes again')
  await c.stop()
  await until(() => resources() === baseline, 'no socket left after the second stop')
})
