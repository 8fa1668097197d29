import { connect } from 'node:net'
import { Readable } from 'node:stream'
import t from 'tap'
import { request } from 'undici'
import { echo, startTestGateway, startUpstream } from '../../helpers/gateway.js'

/** Sends raw bytes and resolves with everything the server wrote until it closed. */
function raw (url: string, text: string): Promise<string> {
  const u = new URL(url)
  return new Promise((resolve, reject) => {
    const s = connect(Number(u.port), u.hostname, () => s.write(text))
    let out = ''
    s.on('data', (d: Buffer) => { out += d.toString('latin1') })
    s.on('end', () => resolve(out))
    s.on('error', reject)
  })
}

t.test('the upstream request: path, query, Host, forwarded headers, hop-by-hop', async (t) => {
  const gw = await startTestGateway(t)
  const up = await startUpstream(t, echo)
  await gw.admin$('POST', '/services', { name: 'example_service', url: `${up.url}/base` })
  await gw.admin$('POST', '/services/example_service/routes', { name: 'example_route', paths: ['/mock'] })
  const res = await raw(gw.proxy, [
    'GET /mock/a/../b%20c?x=1&y HTTP/1.1',
    'Host: Client.Example:8000',
    'Connection: close, X-Drop-Me',
    'X-Drop-Me: 1',
    'Keep-Alive: timeout=5',
    'TE: trailers',
    'X-Forwarded-For: 10.0.0.1',
    'Via: 1.0 edge',
    'X-Custom: kept',
    '', ''].join('\r\n'))
  t.match(res, /^HTTP\/1.1 200 OK\r\n/)
  const [head, body] = res.split('\r\n\r\n') as [string, string]
  const got = JSON.parse(body) as { url: string, headers: Record<string, string> }
  t.equal(got.url, '/base/b%20c?x=1&y', 'stripped, normalized path; raw query kept')
  const h = got.headers
  t.equal(h.host, `127.0.0.1:${up.port}`, 'Host is the service host and non-default port')
  t.equal(h['x-forwarded-for'], '10.0.0.1, 127.0.0.1')
  t.equal(h['x-forwarded-proto'], 'http')
  t.equal(h['x-forwarded-host'], 'client.example')
  t.equal(h['x-forwarded-port'], new URL(gw.proxy).port)
  t.equal(h['x-forwarded-path'], '/mock/a/../b%20c', 'the raw path, not normalized')
  t.equal(h['x-forwarded-prefix'], '/mock')
  t.equal(h['x-real-ip'], '127.0.0.1')
  t.equal(h.via, '1.0 edge, 1.1 tollgate/0.1.0')
  t.match(h['x-kong-request-id'], /^[0-9a-f]{32}$/)
  t.equal(h['x-custom'], 'kept')
  for (const gone of ['x-drop-me', 'keep-alive', 'te']) t.notOk(gone in h, `${gone} is not forwarded`)
  t.match(head, /\r\nvia: 1\.1 tollgate\/0\.1\.0\r\n/i, 'Via on the response')
  t.match(head, /\r\nserver: echo-upstream\r\n/i, "the upstream's Server passes through")
  t.match(head, /\r\nx-kong-upstream-latency: \d+\r\n/i)
  t.match(head, /\r\nx-kong-proxy-latency: \d+\r\n/i)
  t.match(head, new RegExp(`\\r\\nx-kong-request-id: ${h['x-kong-request-id'] as string}\\r\\n`, 'i'), 'the same request id both ways')

  await gw.admin$('PATCH', '/routes/example_route', { preserve_host: true, strip_path: false })
  // Raw, because HTTP clients drop a bare '?'.
  const r2 = await raw(gw.proxy, 'GET /mock/x? HTTP/1.1\r\nHost: client.example:8000\r\nConnection: close\r\n\r\n')
  const b2 = JSON.parse(r2.split('\r\n\r\n')[1] as string) as { url: string, headers: Record<string, string> }
  t.equal(b2.headers.host, 'client.example:8000', 'preserve_host sends the client Host')
  t.equal(b2.url, '/base/mock/x?', 'strip_path off; a bare ? is kept')
  t.notOk('x-forwarded-prefix' in b2.headers)
})

t.test('request ids: 32 hex digits, none repeated across several blocks of ids', async (t) => {
  // Ids are cut from blocks of 256 (server.ts); 600 requests span at least two refills.
  const gw = await startTestGateway(t)
  const seen = new Set<string>()
  for (let i = 0; i < 600; i++) {
    const res = await request(`${gw.proxy}/nothing`)
    await res.body.dump()
    seen.add(res.headers['x-kong-request-id'] as string)
  }
  t.equal(seen.size, 600, 'every id is new')
  t.ok([...seen].every((id) => /^[0-9a-f]{32}$/.test(id)), 'each is 32 lower-case hex digits')
})

t.test('Tollgate-made answers: 404, 503, 426, 405 and their formats', async (t) => {
  const gw = await startTestGateway(t)
  let res = await request(`${gw.proxy}/nothing`)
  t.equal(res.statusCode, 404)
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  t.match(res.headers['x-kong-response-latency'], /^\d+$/)
  t.equal(res.headers.server, 'tollgate/0.1.0')
  t.notOk('via' in res.headers)
  const id = res.headers['x-kong-request-id'] as string
  t.equal(await res.body.text(), `{\n  "message":"no Route matched with those values",\n  "request_id":"${id}"\n}`)
  res = await request(`${gw.proxy}/nothing`, { headers: { accept: 'text/plain' } })
  t.equal(await res.body.text(), `no Route matched with those values\nrequest_id: ${res.headers['x-kong-request-id'] as string}\n`)
  res = await request(`${gw.proxy}/nothing`, { headers: { accept: 'text/html;q=0.9, application/xml' } })
  t.match(await res.body.text(), /<error>\n {2}<message>no Route matched with those values<\/message>/)

  await gw.admin$('POST', '/routes', { name: 'orphan', paths: ['/orphan'] })
  res = await request(`${gw.proxy}/orphan`)
  t.equal(res.statusCode, 503)
  t.match(await res.body.json(), { message: 'no Service found with those values' })

  const up = await startUpstream(t, echo)
  await gw.admin$('POST', '/services', { name: 's', url: up.url })
  await gw.admin$('POST', '/services/s/routes', { name: 'secure', paths: ['/secure'], protocols: ['https'] })
  res = await request(`${gw.proxy}/secure`)
  t.equal(res.statusCode, 426)
  t.equal(res.headers.upgrade, 'TLS/1.2, HTTP/1.1')
  t.match(await res.body.json(), { message: 'Please use HTTPS protocol' })
  await gw.admin$('PATCH', '/routes/secure', { https_redirect_status_code: 301 })
  res = await request(`${gw.proxy}/secure/x?y=1`, { headers: { host: 'api.test' } })
  t.equal(res.statusCode, 301)
  t.equal(res.headers.location, 'https://api.test/secure/x?y=1')
  await res.body.dump()
  res = await request(`${gw.proxy}/secure`, { method: 'TRACE' })
  t.equal(res.statusCode, 405)
  t.equal(await res.body.text(), `Method not allowed\nrequest_id: ${res.headers['x-kong-request-id'] as string}\n`, 'nginx-level errors default to text')

  await gw.admin$('PATCH', '/services/s', { enabled: false })
  await gw.admin$('POST', '/services/s/routes', { name: 'plain', paths: ['/plain'] })
  res = await request(`${gw.proxy}/plain`)
  t.equal(res.statusCode, 404, 'routes of a disabled service are not matched')
  await res.body.dump()
})

t.test('bodies: chunked both ways, HEAD, 204, 304', async (t) => {
  const gw = await startTestGateway(t)
  const up = await startUpstream(t, (req, res) => {
    if (req.url === '/204') { res.writeHead(204, { 'x-a': '1' }); res.end(); return }
    if (req.url === '/304') { res.writeHead(304, { etag: '"x"' }); res.end(); return }
    if (req.url === '/chunked') {
      let received = ''
      req.setEncoding('utf8')
      req.on('data', (c: string) => { received += c })
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/plain', 'x-te': String(req.headers['transfer-encoding']) })
        let i = 0
        const tick = (): void => { if (i++ < 5) { res.write(`part${i};`); setTimeout(tick, 5) } else res.end(`got:${received}`) }
        tick()
      })
      return
    }
    echo(req, res)
  })
  await gw.admin$('POST', '/services', { name: 's', url: up.url })
  await gw.admin$('POST', '/services/s/routes', { paths: ['/'] })
  const body = Readable.from((async function * () { yield 'he'; yield 'llo' })())
  let res = await request(`${gw.proxy}/chunked`, { method: 'POST', body })
  t.equal(res.headers['transfer-encoding'], 'chunked')
  t.equal(await res.body.text(), 'part1;part2;part3;part4;part5;got:hello')
  res = await request(`${gw.proxy}/head`, { method: 'HEAD' })
  t.equal(res.statusCode, 200)
  t.equal(await res.body.text(), '')
  res = await request(`${gw.proxy}/204`)
  t.equal(res.statusCode, 204)
  t.equal(res.headers['x-a'], '1')
  t.equal(await res.body.text(), '')
  res = await request(`${gw.proxy}/304`)
  t.equal(res.statusCode, 304)
  t.equal(res.headers.etag, '"x"')
  t.equal(await res.body.text(), '')
})

t.test('upstream failures: 502 when down (after retries), 504 when slow', async (t) => {
  const gw = await startTestGateway(t)
  let attempts = 0
  const flaky = await startUpstream(t, echo)
  flaky.server.on('connection', (s) => { if (++attempts <= 2) s.destroy() })
  const slow = await startUpstream(t, (_req, res) => { setTimeout(() => { if (!res.destroyed) res.end('late') }, 3000) })
  const dead = await startUpstream(t, echo)
  const deadUrl = dead.url
  await new Promise<void>((resolve) => dead.server.close(() => resolve()))

  await gw.admin$('POST', '/services', { name: 'dead', url: deadUrl, retries: 2 })
  await gw.admin$('POST', '/services/dead/routes', { paths: ['/dead'] })
  await gw.admin$('POST', '/services', { name: 'slow', url: slow.url, read_timeout: 200 })
  await gw.admin$('POST', '/services/slow/routes', { paths: ['/slow'] })
  await gw.admin$('POST', '/services', { name: 'flaky', url: flaky.url, retries: 3 })
  await gw.admin$('POST', '/services/flaky/routes', { paths: ['/flaky'] })

  let res = await request(`${gw.proxy}/dead`)
  t.equal(res.statusCode, 502)
  t.equal(res.headers['content-type'], 'text/plain; charset=utf-8', 'no Accept: text, as nginx error pages')
  t.match(await res.body.text(), /^An invalid response was received from the upstream server\nrequest_id: [0-9a-f]{32}\n$/)
  // The upstream was tried: Kong reports its latencies, not a response latency.
  t.match(res.headers['x-kong-upstream-latency'], /^\d+$/)
  t.match(res.headers['x-kong-proxy-latency'], /^\d+$/)
  t.notOk('x-kong-response-latency' in res.headers)
  res = await request(`${gw.proxy}/slow`, { headers: { accept: 'application/json' } })
  t.equal(res.statusCode, 504)
  t.match(await res.body.json(), { message: 'The upstream server is timing out' })
  res = await request(`${gw.proxy}/flaky`)
  t.equal(res.statusCode, 200, 'connection resets are retried')
  await res.body.dump()
  t.equal(attempts, 3)
})

t.test('a service host that does not resolve: 503 name resolution failed', async (t) => {
  // .invalid never resolves (RFC 6761), so the resolver answers at once.
  const gw = await startTestGateway(t)
  await gw.admin$('POST', '/services', { name: 'nxdomain', url: 'http://tollgate-test.invalid:8080' })
  await gw.admin$('POST', '/services/nxdomain/routes', { paths: ['/nx'] })
  const res = await request(`${gw.proxy}/nx`)
  t.equal(res.statusCode, 503)
  t.match(await res.body.json(), { message: 'name resolution failed', request_id: /^[0-9a-f]{32}$/ })
  t.match(res.headers['x-kong-upstream-latency'], /^\d+$/, 'the upstream was tried')
})

t.test("kong.conf's headers and headers_upstream: Kong's own headers turned off or picked", async (t) => {
  const kongHeaders = /^(server|via|x-kong-.*)$/
  const own = (h: Record<string, unknown>): string[] => Object.keys(h).filter((k) => kongHeaders.test(k)).sort()
  const quiet = await startTestGateway(t, { config: { headers: 'off', headers_upstream: 'off' } })
  const up = await startUpstream(t, (req, res) => {
    // No Server header of its own, so any Server is Tollgate's.
    res.writeHead(200, { 'content-type': 'application/json', 'x-seen': JSON.stringify(req.headers) })
    res.end('{}')
  })
  await quiet.admin$('POST', '/services', { name: 's', url: up.url })
  await quiet.admin$('POST', '/services/s/routes', { paths: ['/q'] })
  let res = await request(`${quiet.proxy}/q`)
  await res.body.dump()
  t.equal(res.statusCode, 200)
  t.same(own(res.headers), [], 'a proxied response carries none of them')
  const seen = JSON.parse(res.headers['x-seen'] as string) as Record<string, string>
  t.notOk('x-kong-request-id' in seen, 'nor does the upstream request')
  t.equal(seen.via, '1.1 tollgate/0.1.0', 'Via upstream stays (Kong sends it whatever the setting)')
  res = await request(`${quiet.proxy}/nowhere`)
  t.equal(res.statusCode, 404)
  t.same(own(res.headers), [], 'nor a Tollgate-made one')
  t.match(await res.body.json(), { message: 'no Route matched with those values', request_id: /^[0-9a-f]{32}$/ }, 'the body keeps its request id')
  const admin = await request(`${quiet.admin}/`)
  await admin.body.dump()
  t.notOk('x-kong-admin-latency' in admin.headers, 'latency_tokens off covers the Admin API')

  const picked = await startTestGateway(t, { config: { headers: 'server_tokens, X-Kong-Upstream-Status' } })
  await picked.admin$('POST', '/services', { name: 's', url: up.url })
  await picked.admin$('POST', '/services/s/routes', { paths: ['/q'] })
  res = await request(`${picked.proxy}/q`)
  await res.body.dump()
  t.same(own(res.headers), ['server', 'via', 'x-kong-upstream-status'])
  t.equal(res.headers['x-kong-upstream-status'], '200')
  t.equal(res.headers.server, 'tollgate/0.1.0', 'Server added when the upstream sent none')
  t.ok('x-kong-request-id' in JSON.parse(res.headers['x-seen'] as string), 'headers_upstream left at its default')
  res = await request(`${picked.proxy}/nowhere`)
  await res.body.dump()
  t.same(own(res.headers), ['server'], 'a Tollgate-made answer: Server only (no Via, as in Kong)')
})
