// Kong's prometheus spec cases, ported: scraping a test gateway's /metrics (prometheus plugin),
// on the Admin API or the Status API.
import type { AddressInfo } from 'node:net'
import { parseExposition, parserHere } from './prometheus.js'
import type { Test } from 'tap'
import { Agent, getGlobalDispatcher, request, setGlobalDispatcher } from 'undici'
import { startTestGateway, until, type TestGateway } from './gateway.js'
import { startMockUpstream } from './mock-upstream.js'

/**
 * Call after startTestGateway: this test's requests get their own connection pool, closed
 * (teardowns run last first) before the gateway stops, so the proxy's drain finds no idle
 * keep-alive connection to wait out and a gateway per describe stays cheap.
 */
export function ownConnections (t: Test): void {
  const previous = getGlobalDispatcher()
  const agent = new Agent()
  setGlobalDispatcher(agent)
  t.teardown(async () => { setGlobalDispatcher(previous); await agent.close() })
}

/** Kong's UUID_PATTERN, as a regex source. */
export const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'

/** The Status API's base URL (status_listen = 127.0.0.1:0). */
export function statusUrl (gw: TestGateway): string {
  return `http://127.0.0.1:${(gw.gateway.status[0] as AddressInfo).port}`
}

/** GET `${base}/metrics`: the body, after checking the answer is a 200 in the text format. */
export async function scrape (base: string): Promise<string> {
  const res = await request(`${base}/metrics`)
  const body = await res.body.text()
  if (res.statusCode !== 200) throw new Error(`GET /metrics: ${res.statusCode} ${body}`)
  return body
}

/**
 * Kong's helpers.wait_until around a scrape: scrapes until `line` is in the body (or, with
 * `absent`, until it is not) and returns that body. Counts reach the node's dictionary
 * within a second, so the wait is for a condition, never a fixed time.
 */
export async function scrapeUntil (base: string, line: string, opts: { absent?: boolean } = {}): Promise<string> {
  let body = ''
  await until(async () => {
    body = await scrape(base)
    return body.includes(line) !== (opts.absent === true)
  }, `${opts.absent === true ? 'no ' : ''}${line} in /metrics`)
  return body
}

/** A regex from Kong's Lua pattern line: everything literal but `%UUID%`, `%d+`, `%w+` and `%S+`. */
export function pattern (text: string): RegExp {
  const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  return new RegExp(escaped.replace(/%UUID%/g, UUID).replace(/%d\\\+/g, '\\d+').replace(/%w\\\+/g, '\\w+').replace(/%S\\\+/g, '\\S+'))
}

// Kong's granular_metrics_set: each switch alone, and the family it (and only it) brings.
export const GRANULAR: Record<string, string> = {
  status_code_metrics: 'http_requests_total',
  latency_metrics: 'kong_latency_ms',
  bandwidth_metrics: 'bandwidth_bytes',
  upstream_health_metrics: 'upstream_target_health',
}

/** Kong's "granular metrics switch" describe, for one switch, scraping `base(gw)`. */
export async function granularSwitch (t: Test, sw: string, base: (gw: TestGateway) => string, config: Record<string, string> = {}): Promise<void> {
  const expected = GRANULAR[sw] as string
  const gw = await startTestGateway(t, { config })
  ownConnections(t)
  const up = await startMockUpstream(t)
  await gw.admin$('POST', '/services', { name: 'mock-service', url: up.url })
  await gw.admin$('POST', '/services/mock-service/routes', { name: 'http-route', protocols: ['http'], paths: ['/'], methods: ['GET'] })
  await gw.admin$('POST', '/upstreams', { name: 'mock-upstream-healthchecksoff' })
  await gw.admin$('POST', '/upstreams/mock-upstream-healthchecksoff/targets', { target: `127.0.0.1:${up.port}`, weight: 1000 })
  await gw.admin$('POST', '/plugins', { name: 'prometheus', config: { [sw]: true } })
  let scraped = ''
  await t.test(`it("expected metrics ${expected} is found")`, async (t) => {
    const res = await request(`${gw.proxy}/status/200`, { headers: { apikey: 'alice-key' } })
    await res.body.dump()
    t.equal(res.statusCode, 200)
    scraped = await scrapeUntil(base(gw), expected)
    t.match(scraped, 'kong_nginx_metric_errors_total 0')
  })
  await t.test('it("unexpected metrics is not found")', async (t) => {
    for (const [other, family] of Object.entries(GRANULAR)) if (other !== sw) t.notMatch(scraped, family, `${family} without ${other}`)
  })
}

/**
 * Kong's "scrape response has metrics and comments only", with a real parser as well: every
 * line a comment or a kong_ sample, and the whole parses into kong_ families, each typed and
 * with samples (so no line was a stray one the parser skipped into a family).
 */
export async function metricsAndCommentsOnly (t: Test, body: string): Promise<void> {
  for (const line of body.split(/\r?\n/).filter((l) => l !== '')) t.match(line, /^(#|kong_)/, line)
  // The Prometheus project's parser reads it all (it rejects a malformed line). Under CI
  // a missing parser fails (.ci/run installs it); elsewhere the line checks above stand.
  if (!parserHere()) {
    if (process.env.CI === 'true') t.fail('python3-prometheus-client is not installed (CI=true: .ci/run must install it)')
    else t.comment('python3-prometheus-client is not installed: the scrape is not parsed (apt-get install -y python3-prometheus-client)')
    return
  }
  const families = await parseExposition(body)
  t.ok(families.length > 0, 'families parsed')
  for (const f of families) {
    t.match(f.name, /^kong_/, `${f.name} is Kong's`)
    t.ok(['counter', 'gauge', 'histogram'].includes(f.type), `${f.name} is typed (${f.type})`)
    t.ok(f.help !== '' && f.samples.length > 0, `${f.name} has help and samples`)
  }
  t.equal(families.flatMap((f) => f.samples).find((s) => s.name === 'kong_nginx_metric_errors_total')?.value, 0, 'kong_nginx_metric_errors_total 0')
  // Every HELP line's family came through the parser.
  t.equal(families.length, body.split('\n').filter((l) => l.startsWith('# HELP ')).length, 'one family per HELP line')
}
