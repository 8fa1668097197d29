// Tollgate's own: the node's metrics with worker_processes = 2, through `tollgate start` in
// a child process. Each worker counts its own requests and adds them to the node's shared
// dictionary, so one scrape (of the Status API and of the Admin API, both served by the
// primary) counts every request whichever worker answered it. The exposition is read with
// the Prometheus project's own parser (test/helpers/prometheus.ts), not by matching lines.
import t from 'tap'
import { request } from 'undici'
import { parseExposition, prometheusParserAvailable, sampleValue as value, samples, type Family } from '../../helpers/prometheus.js'
import { startGateway, type Running } from '../../helpers/process.js'
import { startMockUpstream } from '../../helpers/mock-upstream.js'
import { until } from '../../helpers/gateway.js'
import { tempDir } from '../../helpers/store.js'

async function admin (gw: Running, method: string, path: string, body?: unknown): Promise<any> {
  const res = await request(`${gw.admin}${path}`, { method: method as 'GET', headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.body.text()
  if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${text}`)
  return text === '' ? undefined : JSON.parse(text)
}

async function scrape (base: string): Promise<Family[]> {
  const res = await request(`${base}/metrics`)
  const text = await res.body.text()
  if (res.statusCode !== 200) throw new Error(`GET ${base}/metrics: ${res.statusCode} ${text}`)
  if (!String(res.headers['content-type']).startsWith('text/plain')) throw new Error(`content-type ${String(res.headers['content-type'])}`)
  return parseExposition(text)
}

const family = (families: Family[], name: string): Family | undefined => families.find((f) => f.name === name)

t.test('two worker processes: one scrape counts every request, whichever worker answered it', async (t) => {
  if (!prometheusParserAvailable(t)) return
  const up = await startMockUpstream(t)
  const gw = await startGateway(t, ['--prefix', tempDir(t)], {
    TOLLGATE_WORKER_PROCESSES: '2',
    TOLLGATE_ALLOW_DEBUG_HEADER: 'on',
    TOLLGATE_STATUS_LISTEN: '127.0.0.1:0',
  })
  t.ok(gw.status, 'the Status API listens')
  const status = gw.status as string
  await admin(gw, 'POST', '/services', { name: 'mock-service', url: up.url })
  await admin(gw, 'POST', '/services/mock-service/routes', { name: 'http-route', paths: ['/counted'] })
  await admin(gw, 'POST', '/plugins', { name: 'prometheus', config: { status_code_metrics: true, latency_metrics: true, bandwidth_metrics: true } })

  // Fresh connections until both workers have answered (each accepts on its own), then some
  // more; the plugin is on every worker once each has answered with it.
  const byWorker = new Map<string, number>()
  let sent = 0
  const send = async (): Promise<void> => {
    const res = await request(`${gw.proxy}/counted/x`, { headers: { 'kong-debug': '1', connection: 'close' }, reset: true })
    await res.body.dump()
    t.equal(res.statusCode, 200, 'proxied', { diagnostic: false })
    const w = res.headers['tollgate-worker'] as string
    byWorker.set(w, (byWorker.get(w) ?? 0) + 1)
    sent++
  }
  while (byWorker.size < 2 && sent < 2000) await Promise.all(Array.from({ length: 8 }, send))
  t.equal(byWorker.size, 2, `both workers answered (${[...byWorker].map(([w, n]) => `${w}: ${n}`).join(', ')})`)
  await Promise.all(Array.from({ length: 40 }, send))
  // Not counted: no route matched, so no service (Kong's exporter.log records nothing).
  for (let i = 0; i < 5; i++) {
    const res = await request(`${gw.proxy}/nowhere`)
    await res.body.dump()
    t.equal(res.statusCode, 404)
  }

  const labels = { service: 'mock-service', route: 'http-route' }
  let families: Family[] = []
  const histograms = ['kong_request_latency_ms', 'kong_upstream_latency_ms', 'kong_kong_latency_ms']
  // A worker's flush adds its keys one by one (counters, then each histogram), as Kong's
  // shared-dict increments are: a scrape in the middle of one sees the counters ahead of
  // the histograms. Wait for all of them.
  await until(async () => {
    families = await scrape(status)
    return value(families, 'kong_http_requests_total', { ...labels, code: '200' }) >= sent &&
      histograms.every((name) => value(families, `${name}_count`, labels) >= sent)
  }, `kong_http_requests_total and the latency histograms count all ${sent} requests`)
  t.equal(value(families, 'kong_http_requests_total', { ...labels, code: '200', source: 'service', consumer: '' }), sent, 'every request counted once, none twice')
  t.equal(samples(families, 'kong_http_requests_total').length, 1, 'the 404s without a service are not counted')
  t.equal(family(families, 'kong_http_requests')?.type, 'counter')
  for (const name of histograms) {
    t.equal(family(families, name)?.type, 'histogram', `${name} is a histogram`)
    t.equal(value(families, `${name}_count`, labels), sent, `${name} observed every request`)
    t.equal(value(families, `${name}_bucket`, { ...labels, le: '+Inf' }), sent, `${name}'s +Inf bucket holds them all`)
    const buckets = samples(families, `${name}_bucket`, labels).map((s) => [s.labels.le === '+Inf' ? Infinity : Number(s.labels.le), s.value] as const)
    t.ok(buckets.length > 10, `${name} has all its buckets`)
    t.ok(buckets.every(([le, n], i) => i === 0 || (le > (buckets[i - 1] as readonly [number, number])[0] && n >= (buckets[i - 1] as readonly [number, number])[1])), `${name}'s buckets are in order, cumulative`)
  }
  const egress = value(families, 'kong_bandwidth_bytes_total', { ...labels, direction: 'egress' })
  t.ok(egress > sent * 100, `egress bytes counted, heads and bodies (${egress} for ${sent} responses)`)
  t.equal(value(families, 'kong_nginx_metric_errors_total'), 0)
  t.equal(value(families, 'kong_datastore_reachable'), 1)
  const vms = samples(families, 'kong_memory_workers_lua_vms_bytes')
  t.same(vms.map((m) => m.labels.pid).sort(), [...byWorker.keys()].sort(), 'one heap gauge per worker process, by pid')

  // The node's request total: each worker reports its count to the primary every second.
  await until(async () => value(await scrape(status), 'kong_nginx_requests_total') >= sent + 5, 'kong_nginx_requests_total counts both workers')

  // The Admin API's /metrics is the same exposition.
  const fromAdmin = await scrape(gw.admin)
  t.equal(value(fromAdmin, 'kong_http_requests_total', { ...labels, code: '200' }), sent, 'the Admin API counts the same')
  // The Status API is read-only: entities are not there.
  const res = await request(`${status}/services`)
  await res.body.dump()
  t.equal(res.statusCode, 404, 'the Status API serves no Admin API endpoint')
})
