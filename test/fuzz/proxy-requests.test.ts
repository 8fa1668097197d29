// Generated proxy traffic: request lines, headers and bodies as raw bytes on a socket, and
// key-auth keys of any characters in a header, the query and bodies. Invariants: every
// connection gets an HTTP answer; no 500 and no 502 (the upstream is healthy, so a 502
// would mean it was sent something it could not read); no stack trace; every request the
// upstream sees is one the gateway made (it carries a request id, once); a key the Admin
// API stored authenticates wherever it can be carried; the gateway goes on serving.
import { createServer } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import fc from 'fast-check'
import t, { type Test } from 'tap'
import { request } from 'undici'
import { startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { params } from './settings.js'

interface Seen { url: string, id: string | undefined, bytes: number }

async function upstream (t: Test): Promise<{ url: string, seen: Seen[] }> {
  const seen: Seen[] = []
  const server = createServer({ maxHeaderSize: 1024 * 1024 }, (req, res) => {
    let bytes = 0
    req.on('data', (c: Buffer) => { bytes += c.length })
    req.on('end', () => {
      seen.push({ url: req.url as string, id: req.headers['x-kong-request-id'] as string | undefined, bytes })
      res.end('ok')
    })
  })
  server.maxHeadersCount = 0
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen }
}

/** Writes `bytes` and resolves with what the gateway wrote until it closed the connection. */
function exchange (gw: TestGateway, bytes: Buffer): Promise<string> {
  const u = new URL(gw.proxy)
  return new Promise((resolve, reject) => {
    const s = connect(Number(u.port), u.hostname, () => s.write(bytes))
    let out = ''
    s.on('data', (d: Buffer) => { out += d.toString('latin1') })
    s.on('close', () => resolve(out))
    s.on('error', (err) => { if (out !== '') resolve(out); else reject(err) })
  })
}

async function setup (t: Test) {
  // Short client timeouts, so that a request the generator left unfinished is answered
  // (408) quickly instead of holding its connection for a minute.
  const gw = await startTestGateway(t, {
    config: { nginx_http_client_header_timeout: '300ms', nginx_http_client_body_timeout: '300ms', nginx_http_client_max_body_size: '16k' },
  })
  const up = await upstream(t)
  await gw.admin$('POST', '/services', { name: 'fz', url: up.url })
  await gw.admin$('POST', '/services/fz/routes', { name: 'open', paths: ['/open'], strip_path: false })
  await gw.admin$('POST', '/services/fz/routes', { name: 'auth', paths: ['/auth'], strip_path: false })
  await gw.admin$('POST', '/routes/auth/plugins', { name: 'key-auth', config: { key_in_body: true } })
  await gw.admin$('POST', '/consumers', { username: 'fz' })
  await gw.admin$('POST', '/consumers/fz/key-auth', { key: 'known-key' })
  return { gw, up }
}

const anyText = (max: number) => fc.oneof(fc.string({ maxLength: max }), fc.string({ maxLength: max, unit: 'binary' }), fc.uint8Array({ maxLength: max }).map((b) => Buffer.from(b).toString('latin1')))
const method = fc.oneof(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT', 'get', 'PRI', ''), anyText(8))
const segment = fc.oneof(fc.constantFrom('open', 'auth', '..', '.', '%2e%2e', '%00', '%zz', '', '%2F', 'a b', '~', '\u00e9', '?', '#', ';x=1'), anyText(10))
const target = fc.oneof(
  fc.array(segment, { maxLength: 5 }).chain((segs) => fc.constantFrom('/open/', '/auth/', '/').map((head) => head + segs.join('/'))),
  fc.tuple(fc.constantFrom('/open', '/auth'), fc.array(fc.tuple(anyText(6), anyText(8)), { maxLength: 4 })).map(([p, q]) => `${p}?${q.map(([k, v]) => `${k}=${v}`).join('&')}`),
  fc.constantFrom('*', 'http://x/open', 'http://user@x/open', 'https://x:99999/open', '//open', 'open'),
  anyText(40),
)
const version = fc.oneof(fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/0.9', 'HTTP/1.2', 'http/1.1', 'HTTP/1.1 ', ''), anyText(10))
const headerName = fc.oneof(fc.constantFrom('Host', 'Content-Length', 'Transfer-Encoding', 'Connection', 'Expect', 'apikey', 'Content-Type', 'Upgrade', 'Kong-Debug', 'X-A', 'Host ', ' Host', 'Content-Length '), anyText(12))
const headerValue = fc.oneof(fc.constantFrom('x', 'chunked', 'chunked, gzip', 'gzip, chunked', '0', '5', '-1', '18446744073709551616', 'close', 'keep-alive', '100-continue', 'websocket', 'known-key', 'application/json', 'application/x-www-form-urlencoded', ' chunked', 'a\r\n b'), anyText(30))
const body = fc.oneof(
  fc.constantFrom('', '0\r\n\r\n', '5\r\nhello\r\n0\r\n\r\n', 'zz\r\n', '{"apikey":"known-key"}', 'apikey=known-key', `GET /open/smuggled HTTP/1.1\r\nHost: x\r\n\r\n`),
  anyText(200),
)
const rawRequest = fc.record({
  method, target, version,
  host: fc.boolean(),
  headers: fc.array(fc.tuple(headerName, headerValue), { maxLength: 8 }),
  eol: fc.constantFrom('\r\n', '\r\n', '\r\n', '\n', '\r'),
  close: fc.boolean(),
  body,
})

t.test('raw requests of any bytes: answered, never 500/502, nothing reaches the upstream but what the gateway sent', async (t) => {
  const { gw, up } = await setup(t)
  let answered = 0
  await fc.assert(fc.asyncProperty(rawRequest, async (r) => {
    const lines = [`${r.method} ${r.target} ${r.version}`]
    if (r.host) lines.push('Host: fuzz.test')
    for (const [n, v] of r.headers) lines.push(`${n}: ${v}`)
    // Connection: close last, so that a well-formed request ends its connection and the
    // exchange finishes without waiting for the keep-alive timeout.
    if (r.close) lines.push('Connection: close')
    const text = lines.join(r.eol) + r.eol + r.eol + r.body
    const out = await exchange(gw, Buffer.from(text, 'latin1'))
    const statuses = [...out.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]))
    if (statuses.length === 0) throw new Error(`no answer to ${JSON.stringify(text.slice(0, 300))}`)
    for (const s of statuses) if (s === 500 || s === 502) throw new Error(`${s} for ${JSON.stringify(text.slice(0, 300))}: ${out.slice(0, 400)}`)
    if (/\bat .+:\d+:\d+|node:internal|"stack"/.test(out)) throw new Error(`a stack trace in ${out.slice(0, 400)}`)
    answered++
  }), params(200))
  t.ok(answered >= 200, `${answered} generated requests answered`)
  const ids = up.seen.map((s) => s.id)
  t.notOk(ids.includes(undefined), 'every request the upstream saw came from the gateway (it has a request id)')
  t.equal(new Set(ids).size, ids.length, 'and each was sent once')
  t.notOk(up.seen.some((s) => s.url.includes('smuggled') && s.id === undefined))
  const after = await request(`${gw.proxy}/open/after`)
  t.equal(after.statusCode, 200, 'the gateway still serves')
  await after.body.text()
})

/** Characters a header value carries byte for byte: visible ASCII, space and tab inside. */
const headerSafe = (k: string): boolean => /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(k)

t.test('key-auth: any key the Admin API stores authenticates from the query, a form, JSON and (when it fits) a header', async (t) => {
  const { gw } = await setup(t)
  let n = 0
  let stored = 0
  const keys = new Set(['known-key'])
  await fc.assert(fc.asyncProperty(fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }), fc.string({ minLength: 1, maxLength: 20, unit: 'binary' })), async (key) => {
    const username = `u${++n}`
    await gw.admin$('POST', '/consumers', { username })
    const created = await request(`${gw.admin}/consumers/${username}/key-auth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key }) })
    const createdText = await created.body.text()
    if (created.statusCode >= 500) throw new Error(`Admin API ${created.statusCode} for key ${JSON.stringify(key)}: ${createdText}`)
    if (created.statusCode === 201) { stored++; keys.add(key) }
    // A key stored before (for another consumer) is a unique violation now, and still works.
    const expected = keys.has(key) ? 200 : 401
    const tries: Array<[string, Parameters<typeof request>[1]]> = [
      [`/auth/q?apikey=${encodeURIComponent(key)}`, {}],
      ['/auth/form', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `apikey=${encodeURIComponent(key)}` }],
      ['/auth/json', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apikey: key }) }],
    ]
    if (headerSafe(key)) tries.push(['/auth/h', { headers: { apikey: key } }])
    for (const [path, opts] of tries) {
      const res = await request(`${gw.proxy}${path}`, opts)
      const text = await res.body.text()
      if (res.statusCode !== expected) throw new Error(`${path} with key ${JSON.stringify(key)} (stored: ${created.statusCode}): ${res.statusCode} ${text.slice(0, 200)}`)
    }
  }), params(60))
  t.ok(stored > 0, `${stored} generated keys stored and used`)
})

t.test('key-auth: keys of any bytes that match nothing are 401 wherever they are carried, never 5xx', async (t) => {
  const { gw, up } = await setup(t)
  const before = up.seen.length
  await fc.assert(fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 60 }), fc.constantFrom('query', 'form', 'json', 'multipart', 'header'), async (bytes, where) => {
    const key = Buffer.from(bytes)
    let text: Buffer
    if (where === 'query') text = Buffer.concat([Buffer.from('GET /auth?apikey='), Buffer.from(key.toString('latin1').replace(/[\s#%&]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`), 'latin1'), Buffer.from(' HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')])
    else if (where === 'header') text = Buffer.concat([Buffer.from('GET /auth HTTP/1.1\r\nHost: x\r\nConnection: close\r\napikey: '), key, Buffer.from('\r\n\r\n')])
    else {
      const payload = where === 'form'
        ? Buffer.concat([Buffer.from('apikey='), key])
        : where === 'json'
          ? Buffer.concat([Buffer.from('{"apikey":"'), key, Buffer.from('"}')])
          : Buffer.concat([Buffer.from('--b\r\nContent-Disposition: form-data; name="apikey"\r\n\r\n'), key, Buffer.from('\r\n--b--\r\n')])
      const type = where === 'form' ? 'application/x-www-form-urlencoded' : where === 'json' ? 'application/json' : 'multipart/form-data; boundary=b'
      text = Buffer.concat([Buffer.from(`POST /auth HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: ${type}\r\nContent-Length: ${payload.length}\r\n\r\n`), payload])
    }
    const out = await exchange(gw, text)
    const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(out)?.[1] ?? 0)
    // 400: bytes node's parser refuses in a header or a request line.
    if (status !== 401 && status !== 400) throw new Error(`${where} key ${key.toString('hex')}: ${out.slice(0, 300)}`)
  }), params(150))
  t.equal(up.seen.length, before, 'no unauthenticated request reached the upstream')
})
