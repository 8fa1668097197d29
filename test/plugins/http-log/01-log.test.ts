// Kong's spec/03-plugins/03-http-log/01-log_spec.lua (3.2.2) through a real gateway; the log
// server is a real HTTP receiver on 127.0.0.1 that records what it is sent (Kong's
// mock_upstream /post_log). Each test names the it(...) it mirrors. Not ported: "logs custom
// values" (custom_fields_by_lua needs Lua), "logs to HTTP (#grpc)" / "(#grpcs)" (no gRPC
// proxying), "logs to HTTPS" (no TLS log receiver here), "should dereference config.headers
// value" (no vault). The queue cases run with one process, over statuses 200-202 and
// 300-302 (Kong cycles 200-209: the mock upstream answers a 204 with a body).
import t from 'tap'
import { request } from 'undici'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { closedPort, memoryLogger, startTestGateway, startUpstream, until, type TestGateway } from '../../helpers/gateway.js'
import { startMockUpstream } from '../../helpers/mock-upstream.js'

interface Seen { path: string, method: string, headers: IncomingMessage['headers'], body: any }
const seen: Seen[] = []
let failures = 0 // answers of 500 still to give

function receiver (req: IncomingMessage, res: ServerResponse): void {
  let text = ''
  req.on('data', (c: Buffer) => { text += c.toString() })
  req.on('end', () => {
    if (failures > 0) { failures--; res.writeHead(500).end('down'); return }
    seen.push({ path: req.url ?? '', method: req.method ?? '', headers: req.headers, body: JSON.parse(text) })
    res.writeHead(200).end('ok')
  })
}
const at = (path: string): Seen[] => seen.filter((s) => s.path === path)
const entries = (path: string): any[] => at(path).flatMap((s) => Array.isArray(s.body) ? s.body : [s.body])

let gw: TestGateway
const mem = memoryLogger('error')

t.before(async () => {
  gw = await startTestGateway(t, { log: mem.log })
  const up = await startMockUpstream(t)
  const logs = await startUpstream(t, receiver)
  const dead = `http://127.0.0.1:${await closedPort()}/post_log/dead`
  await gw.admin$('POST', '/services', { name: 'mock', url: up.url })
  const routes: Array<[string, Record<string, unknown>]> = [
    ['http_logging.test', { http_endpoint: `${logs.url}/post_log/http` }],
    ['http_logging_put.test', { http_endpoint: `${logs.url}/post_log/put`, method: 'PUT', content_type: 'application/json; charset=utf-8' }],
    ['https_logging_faulty.test', { http_endpoint: dead, retry_count: 0 }],
    ['http_basic_auth_logging.test', { http_endpoint: `http://testuser:testpassword@127.0.0.1:${logs.port}/post_log/basic_auth`, headers: { 'Hello-World': 'hi there' } }],
    ['http_queue_logging.test', { http_endpoint: `${logs.url}/post_log/http_queue`, queue_size: 5, flush_timeout: 0.1 }],
    ['http_queue_logging2.test', { http_endpoint: `${logs.url}/post_log/http_queue2`, queue_size: 5, flush_timeout: 0.1 }],
    ['http_retry.test', { http_endpoint: `${logs.url}/post_log/retry`, retry_count: 2 }],
    // Kong 3.3's queue record.
    ['q_batch.test', { http_endpoint: `${logs.url}/post_log/q_batch`, queue: { max_batch_size: 3, max_coalescing_delay: 0.1 } }],
    ['q_deprecated.test', { http_endpoint: `${logs.url}/post_log/q_deprecated`, queue_size: 2, flush_timeout: 0.1, queue: { max_batch_size: 1, max_coalescing_delay: 30 } }],
    ['q_retry.test', { http_endpoint: `${logs.url}/post_log/q_retry`, retry_count: 0, queue: { initial_retry_delay: 0.01, max_retry_delay: 0.05 } }],
    ['q_no_retry.test', { http_endpoint: `${logs.url}/post_log/q_no_retry`, queue: { max_retry_time: -1 } }],
    ['q_bytes.test', { http_endpoint: `${logs.url}/post_log/q_bytes`, queue: { max_bytes: 100 } }],
  ]
  for (const [host, config] of routes) {
    const route = await gw.admin$('POST', '/services/mock/routes', { hosts: [host] })
    await gw.admin$('POST', `/routes/${route.id as string}/plugins`, { name: 'http-log', config })
  }
})

async function get (host: string, path = '/status/200'): Promise<number> {
  const res = await request(`${gw.proxy}${path}`, { headers: { host } })
  await res.body.text()
  return res.statusCode
}

t.test('it("logs to HTTP")', async (t) => {
  t.equal(await get('http_logging.test'), 200)
  await until(() => at('/post_log/http').length === 1, 'the log entry')
  const s = at('/post_log/http')[0] as Seen
  t.equal(s.method, 'POST')
  t.equal(s.headers['content-type'], 'application/json')
  t.notOk(Array.isArray(s.body), 'queue_size 1: one object, not an array')
  t.equal(s.body.client_ip, '127.0.0.1')
  t.equal(s.body.response.status, 200)
  t.equal(s.body.request.headers.host, 'http_logging.test')
})

t.test('method PUT and the charset content type', async (t) => {
  t.equal(await get('http_logging_put.test'), 200)
  await until(() => at('/post_log/put').length === 1, 'the log entry')
  const s = at('/post_log/put')[0] as Seen
  t.equal(s.method, 'PUT')
  t.equal(s.headers['content-type'], 'application/json; charset=utf-8')
})

t.test('it("gracefully handles layer 4 failures")', async (t) => {
  t.equal(await get('https_logging_faulty.test'), 200)
  await until(() => mem.lines.some((l) => /\[http-log\] failed to process entries: 127\.0\.0\.1:\d+: .*dropping 1 entries/.test(l.msg)), 'the failure logged')
})

t.test('it("adds authorization if userinfo and/or header is present")', async (t) => {
  t.equal(await get('http_basic_auth_logging.test'), 200)
  await until(() => at('/post_log/basic_auth').length === 1, 'the log entry')
  const s = at('/post_log/basic_auth')[0] as Seen
  t.equal(s.headers.authorization, 'Basic dGVzdHVzZXI6dGVzdHBhc3N3b3Jk')
  t.equal(s.headers['hello-world'], 'hi there')
})

t.test('it("logs to HTTP with a buffer")', async (t) => {
  const n = 40
  for (let i = 1; i <= n; i++) t.equal(await get('http_queue_logging.test', `/status/${200 + (i % 3)}`), 200 + (i % 3))
  await until(() => entries('/post_log/http_queue').length >= n, 'every entry')
  t.equal(entries('/post_log/http_queue').length, n)
  t.ok(at('/post_log/http_queue').every((s) => Array.isArray(s.body) && s.body.length <= 5), 'arrays of at most queue_size')
  t.ok(at('/post_log/http_queue').length < n, 'batched')
})

t.test('it("does not mix buffers")', async (t) => {
  seen.length = 0
  const n = 30
  for (let i = 1; i <= n; i++) {
    await get('http_queue_logging.test', `/status/${200 + (i % 3)}`)
    await get('http_queue_logging2.test', `/status/${300 + (i % 3)}`)
  }
  await until(() => entries('/post_log/http_queue').length >= n && entries('/post_log/http_queue2').length >= n, 'every entry')
  t.ok(entries('/post_log/http_queue').every((e) => e.response.status >= 200 && e.response.status < 300))
  t.ok(entries('/post_log/http_queue2').every((e) => e.response.status >= 300 && e.response.status < 400))
})

t.test('a failed batch is retried with backoff, then delivered', async (t) => {
  failures = 1
  t.equal(await get('http_retry.test'), 200)
  await until(() => at('/post_log/retry').length === 1, 'the retried entry')
  t.equal(failures, 0, 'the first attempt failed')
  t.ok(mem.lines.some((l) => /retry 1 of 2/.test(l.msg)), 'the retry logged')
})

t.test('queue record: max_batch_size and max_coalescing_delay batch the entries', async (t) => {
  for (let i = 0; i < 7; i++) t.equal(await get('q_batch.test'), 200)
  await until(() => entries('/post_log/q_batch').length >= 7, 'every entry')
  t.equal(entries('/post_log/q_batch').length, 7)
  t.ok(at('/post_log/q_batch').every((s) => Array.isArray(s.body) && s.body.length >= 1 && s.body.length <= 3), 'arrays of at most max_batch_size (above 1: always an array)')
})

t.test("queue record: deprecated queue_size and flush_timeout, set, win over queue.* (Kong 3.3's precedence)", async (t) => {
  // queue.max_batch_size 1 would send single objects, and max_coalescing_delay 30 would
  // hold a short batch for 30 s: queue_size 2 and flush_timeout 0.1 decide instead.
  for (let i = 0; i < 3; i++) t.equal(await get('q_deprecated.test'), 200)
  await until(() => entries('/post_log/q_deprecated').length >= 3, 'every entry, the last one alone after flush_timeout')
  t.ok(at('/post_log/q_deprecated').every((s) => Array.isArray(s.body) && s.body.length <= 2), 'arrays of at most queue_size')
  t.ok(mem.lines.some((l) => /\[http-log\] the queue_size parameter is deprecated/.test(l.msg)), 'queue_size deprecation logged')
  t.ok(mem.lines.some((l) => /\[http-log\] the flush_timeout parameter is deprecated/.test(l.msg)), 'flush_timeout deprecation logged')
})

t.test('queue record: retries from initial_retry_delay until delivered; retry_count no longer counts', async (t) => {
  failures = 2
  t.equal(await get('q_retry.test'), 200)
  await until(() => at('/post_log/q_retry').length === 1, 'the retried entry')
  t.equal(failures, 0, 'two attempts failed, retried although retry_count is 0')
  t.ok(mem.lines.some((l) => /retry 1 in 10 ms/.test(l.msg)), 'first retry after initial_retry_delay')
  t.ok(mem.lines.some((l) => /retry 2 in 20 ms/.test(l.msg)), 'then doubled')
  t.ok(mem.lines.some((l) => /the retry_count parameter no longer works/.test(l.msg)), 'retry_count deprecation logged')
})

t.test('queue record: a negative max_retry_time drops a failed batch at once', async (t) => {
  failures = 1
  t.equal(await get('q_no_retry.test'), 200)
  await until(() => failures === 0, 'the failed attempt')
  await until(() => mem.lines.some((l) => /post_log|127\.0\.0\.1/.test(l.msg) && /dropping 1 entries after 0 retries/.test(l.msg) && /500/.test(l.msg)), 'the drop logged')
  t.equal(at('/post_log/q_no_retry').length, 0, 'never delivered')
})

t.test('queue record: an entry larger than max_bytes is dropped', async (t) => {
  t.equal(await get('q_bytes.test'), 200)
  await until(() => mem.lines.some((l) => /larger than queue\.max_bytes \(100\)/.test(l.msg)), 'the drop logged')
  t.equal(at('/post_log/q_bytes').length, 0, 'never sent')
})

t.test('queue record: a full queue (max_entries) drops its oldest entries for new ones', async (t) => {
  // A log server that holds its first request until released, so entries pile up behind it.
  const got: Array<{ request: { querystring: Record<string, string> } }> = []
  let release: (() => void) | undefined
  const slow = await startUpstream(t, (req, res) => {
    let text = ''
    req.on('data', (c: Buffer) => { text += c.toString() })
    req.on('end', () => {
      got.push(JSON.parse(text))
      if (got.length === 1) release = () => { res.writeHead(200).end('ok') }
      else res.writeHead(200).end('ok')
    })
  })
  const route = await gw.admin$('POST', '/services/mock/routes', { hosts: ['q_full.test'] })
  await gw.admin$('POST', `/routes/${route.id as string}/plugins`, { name: 'http-log', config: { http_endpoint: `${slow.url}/post_log/q_full`, queue: { max_entries: 2 } } })
  t.equal(await get('q_full.test', '/status/200?n=1'), 200)
  await until(() => release !== undefined, 'the first entry in flight, held')
  for (const n of [2, 3, 4]) t.equal(await get('q_full.test', `/status/200?n=${n}`), 200)
  await until(() => mem.lines.some((l) => /\[http-log\] queue full: dropped 1 oldest entries/.test(l.msg)), 'the drop logged')
  release?.()
  await until(() => got.length === 3, 'the held entry and the two newest')
  t.same(got.map((e) => e.request.querystring.n), ['1', '3', '4'], 'entry 2, the oldest waiting, was dropped')
})

t.test('it("executes successfully when route does not exist")', async (t) => {
  const logs = await startUpstream(t, receiver)
  const p = await gw.admin$('POST', '/plugins', { name: 'http-log', config: { http_endpoint: `${logs.url}/post_log/global` } })
  const res = await request(`${gw.proxy}/nope`, { headers: { host: 'no-such-route.test' } })
  await res.body.text()
  t.equal(res.statusCode, 404)
  await until(() => at('/post_log/global').length === 1, 'the 404 logged')
  t.equal(at('/post_log/global')[0]?.body.response.status, 404)
  await gw.admin$('DELETE', `/plugins/${p.id as string}`)
})
