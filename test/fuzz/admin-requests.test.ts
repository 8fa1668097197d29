// Generated Admin API requests, sent byte for byte over raw sockets: paths (any bytes,
// percent-encoding valid and not, dot segments, very long, entity names and ids that exist
// and that do not, nested endpoints, trailing slashes), query strings (size, offset, tags
// with odd values, repeated keys, brackets, bad percent-encoding) and headers (content
// types with odd charsets and boundaries, accept, huge values, odd names), on every method.
// Invariants: every request is answered (where node's HTTP parser must refuse the request,
// with a 4xx); never a 5xx, a stack trace or an internal path; nothing logged as an error;
// a refused request (and any GET, HEAD or OPTIONS) leaves the store exactly as it was; the
// process goes on answering. Bodies are fuzzed in admin-bodies.test.ts.
import { connect } from 'node:net'
import fc from 'fast-check'
import t, { type Test } from 'tap'
import type { LmdbStore } from '../../core/store/index.js'
import { startAdmin, storeDump, type AdminClient } from '../helpers/admin.js'
import { memoryLogger } from '../helpers/gateway.js'
import { params } from './settings.js'
import { PluginRegistry } from '../../core/runtime/registry.js'
import { testPlugins } from '../helpers/entities.js'
import { prometheus } from '../../plugins/prometheus/index.js'
import { pair, pem } from '../helpers/tls.js'

const SVC = '5e1f0000-0000-4000-8000-000000000001'
const RT = '5e1f0000-0000-4000-8000-000000000002'
const CONS = '5e1f0000-0000-4000-8000-000000000003'
const PLUG = '5e1f0000-0000-4000-8000-000000000004'
const CRED = '5e1f0000-0000-4000-8000-000000000005'
const UPS = '5e1f0000-0000-4000-8000-000000000006'
const TGT = '5e1f0000-0000-4000-8000-000000000007'
const MISSING = '5e1f0000-0000-4000-8000-0000000000ff'
const CERT = '5e1f0000-0000-4000-8000-000000000008'
const SNI = '5e1f0000-0000-4000-8000-000000000009'
const CA = '5e1f0000-0000-4000-8000-00000000000a'

/** The entities every case may address; put back before each case, as a case may delete them. */
async function ensureFixtures (store: LmdbStore): Promise<void> {
  if (store.get('services', SVC) === undefined) await store.upsert('services', { id: SVC }, { name: 'svc', url: 'http://svc.test', tags: ['t1', 'é'] })
  if (store.get('routes', RT) === undefined) await store.upsert('routes', { id: RT }, { name: 'rt', paths: ['/rt'], service: { id: SVC }, tags: ['t1'] })
  if (store.get('consumers', CONS) === undefined) await store.upsert('consumers', { id: CONS }, { username: 'cons', custom_id: 'cid' })
  if (store.get('plugins', PLUG) === undefined) await store.upsert('plugins', { id: PLUG }, { name: 'test-auth', instance_name: 'plug', route: { id: RT } })
  if (store.get('test_credentials', CRED) === undefined) await store.upsert('test_credentials', { id: CRED }, { key: 'kkey', consumer: { id: CONS } })
  if (store.get('upstreams', UPS) === undefined) await store.upsert('upstreams', { id: UPS }, { name: 'ups.test', tags: ['t1'] })
  // Targets are paged newest first by position: three of them, so small pages have a next one.
  if (store.get('targets', TGT) === undefined) await store.upsert('targets', { id: TGT }, { target: 'tgt.test', upstream: { id: UPS }, tags: ['t1'] })
  for (const n of [1, 2]) {
    const id = `5e1f0000-0000-4000-8000-00000000020${n}`
    if (store.get('targets', id) === undefined) await store.upsert('targets', { id }, { target: `tgt${n}.test:80`, upstream: { id: UPS } })
  }
  if (store.get('certificates', CERT) === undefined) await store.upsert('certificates', { id: CERT }, { ...pair('a-rsa'), tags: ['t1'] })
  if (store.get('snis', SNI) === undefined) await store.upsert('snis', { id: SNI }, { name: 'a.example.test', certificate: { id: CERT } })
  if (store.get('ca_certificates', CA) === undefined) await store.upsert('ca_certificates', { id: CA }, { cert: pem('ca-cert') })
  // More rows, so that small pages have a next one, and a filter that a page loses shows:
  // in id order, the rows tagged t1 and é are not all next to each other.
  for (const n of [1, 2, 3]) {
    const id = `5e1f0000-0000-4000-8000-00000000010${n}`
    if (store.get('services', id) === undefined) await store.upsert('services', { id }, { name: `svc${n}`, host: 'more.test', tags: n === 1 ? ['t1'] : ['t1', 'é'] })
  }
}

interface Answer { status: number | undefined, head: string, body: string }

/**
 * Sends raw bytes on a new connection and reads one answer: until its body is complete
 * (Content-Length, or the end of a chunked body; none after HEAD, 1xx, 204, 304), or until
 * the server closes the connection.
 */
function send (port: number, request: Buffer, head = false, timeoutMs = 5000): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0)
    let done = false
    const socket = connect(port, '127.0.0.1', () => socket.write(request))
    const finish = (): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      // A 1xx interim answer (100 Continue) comes before the real one.
      const all = buf.toString('latin1').replace(/^(?:HTTP\/1\.1 1\d\d [^\r]*\r\n\r\n)+(?=HTTP)/, '')
      const end = all.indexOf('\r\n\r\n')
      const headText = end === -1 ? all : all.slice(0, end)
      const m = /^HTTP\/1\.[01] (\d{3}) /.exec(headText)
      const raw = end === -1 ? '' : all.slice(end + 4)
      resolve({ status: m === null ? undefined : Number(m[1]), head: headText, body: /\r\ntransfer-encoding: *chunked/i.test(headText) ? dechunk(raw) : raw })
    }
    const timer = setTimeout(() => { if (!done) { done = true; socket.destroy(); reject(new Error(`no answer within ${timeoutMs} ms`)) } }, timeoutMs)
    socket.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c])
      const all = buf.toString('latin1').replace(/^(?:HTTP\/1\.1 1\d\d [^\r]*\r\n\r\n)+(?=HTTP)/, '')
      const end = all.indexOf('\r\n\r\n')
      if (end === -1) return
      const headText = all.slice(0, end)
      const status = Number(/^HTTP\/1\.[01] (\d{3}) /.exec(headText)?.[1] ?? 0)
      const rest = Buffer.byteLength(all, 'latin1') - (Buffer.byteLength(headText, 'latin1') + 4)
      const length = /\r\ncontent-length: *(\d+)/i.exec(headText)
      if (head || status === 204 || status === 304) finish()
      else if (length !== null) { if (rest >= Number(length[1])) finish() } else if (/\r\ntransfer-encoding: *chunked/i.test(headText)) { if (all.endsWith('0\r\n\r\n')) finish() }
    })
    socket.on('error', () => {}) // a reset after the answer is the server closing; judged by what arrived
    socket.on('close', finish)
  })
}

function dechunk (raw: string): string {
  let out = ''
  let at = 0
  for (;;) {
    const eol = raw.indexOf('\r\n', at)
    const size = eol === -1 ? NaN : parseInt(raw.slice(at, eol), 16)
    if (Number.isNaN(size) || size === 0) return out
    out += raw.slice(eol + 2, eol + 2 + size)
    at = eol + 2 + size + 2
  }
}

function httpRequest (method: string, target: string, headers: Array<[string, string]>, body = ''): Buffer {
  const payload = Buffer.from(body)
  const lines = [`${method} ${target} HTTP/1.1`, ...headers.map(([k, v]) => `${k}: ${v}`)]
  if (payload.length > 0 || ['POST', 'PUT', 'PATCH'].includes(method)) lines.push(`Content-Length: ${payload.length}`)
  // latin1 keeps every code point below 256 a single byte, so generated bytes go out as given.
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), payload])
}

const BASIC: Array<[string, string]> = [['Host', '127.0.0.1'], ['Connection', 'close']]

interface Harness { api: AdminClient, port: number, errors: () => unknown[] }

async function harness (t: Test): Promise<Harness> {
  const { log, lines } = memoryLogger()
  // The test plugins, and prometheus for a plugin-owned endpoint (/metrics) under the same fire.
  const plugins = new PluginRegistry()
  for (const p of testPlugins.all()) plugins.register(p)
  plugins.register(prometheus)
  const api = await startAdmin(t, { log, plugins })
  await ensureFixtures(api.store)
  return { api, port: Number(new URL(api.url).port), errors: () => lines.filter((l) => l.level >= 50) }
}

// What only the gateway's own internals could put in an answer: a stack, anywhere; a path
// of this checkout, in an error (GET / shows the configured prefix on purpose, as Kong does).
const STACK = /"stack"|\bat (?:async )?[\w.$<>]+ \(|\.ts:\d+:\d+|node_modules|file:\/\//
const INTERNALS = new RegExp(process.cwd().replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
/** Fastify's onSend hook adds this to every answer from a route (latency_tokens is on by default). */
const ROUTED = /\r\nx-kong-admin-latency:/i

const READS = new Set(['GET', 'HEAD', 'OPTIONS'])

/** Sends one request and checks every invariant against the answer and the store. */
async function check (h: Harness, method: string, request: Buffer, what: string, target?: string): Promise<Answer> {
  await ensureFixtures(h.api.store)
  const before = storeDump(h.api.store)
  const a = await send(h.port, request, method === 'HEAD')
  const where = `${what.slice(0, 300)} -> ${a.status ?? 'no answer'}`
  if (a.status === undefined) throw new Error(`no HTTP answer: ${where} ${JSON.stringify(a.head.slice(0, 100))}`)
  if (a.status >= 500) throw new Error(`${where} ${a.body.slice(0, 300)}`)
  if (STACK.test(a.body) || (a.status >= 400 && INTERNALS.test(a.body))) throw new Error(`internals in the answer: ${where} ${a.head.slice(0, 200)} ${a.body.slice(0, 300)}`)
  // Kong's error bodies: `{ message }` or the DAO's `{ code, name, message, ... }`; 415 and a
  // refused request without Host (node's own answer) have none.
  if (a.status >= 400 && a.body !== '') {
    let parsed: unknown
    try { parsed = JSON.parse(a.body) } catch {}
    if (typeof (parsed as { message?: unknown } | undefined)?.message !== 'string') throw new Error(`not Kong's error body: ${where} ${a.body.slice(0, 200)}`)
  }
  // An answer from a route (not one to a request the parser refused) follows HEAD.
  if (method === 'HEAD' && ROUTED.test(a.head) && a.body !== '') throw new Error(`a body on HEAD: ${where}`)
  if ((a.status >= 400 || READS.has(method)) && storeDump(h.api.store) !== before) throw new Error(`the store changed: ${where}`)
  const errors = h.errors()
  if (errors.length > 0) throw new Error(`logged as an error: ${where} ${JSON.stringify(errors[0]).slice(0, 300)}`)
  // A page's `next` link is always good for the next page, whatever the first request held.
  if (method === 'GET' && a.status === 200 && ROUTED.test(a.head)) {
    let next: unknown
    try { next = (JSON.parse(a.body) as { next?: unknown }).next } catch {}
    if (typeof next === 'string') {
      const n = await send(h.port, httpRequest('GET', next, BASIC))
      if (n.status !== 200) throw new Error(`next page ${next} of ${where}: ${n.status} ${n.body.slice(0, 200)}`)
      // ... and it is the page the same request with that offset gets: it keeps the filter.
      const q = target?.indexOf('?') ?? -1
      const offset = /[?&]offset=([^&]*)/.exec(next)?.[1]
      // Only for top-level lists and /tags/{tag}: as in Kong, a nested list's next link holds
      // the offset alone (kong/api/endpoints.lua), so its size falls back to the default.
      // And only for a target sent as is: a space or a control byte ends the request line.
      const nested = (target?.slice(0, q).split('/').length ?? 0) > 3
      if (target !== undefined && !nested && /^[\x21-\x7e]*$/.test(target) && q !== -1 && offset !== undefined) {
        const kept = target.slice(q + 1).split('&').filter((part) => !/^offset(=|$)/.test(part))
        const same = `${target.slice(0, q)}?${[...kept, `offset=${offset}`].join('&')}`
        const o = await send(h.port, httpRequest('GET', same, BASIC))
        if (o.body !== n.body) throw new Error(`next page ${next} of ${where} differs from ${same}: ${n.body.slice(0, 150)} / ${o.status} ${o.body.slice(0, 150)}`)
      }
    }
  }
  return a
}

// --- paths ---------------------------------------------------------------------------

const ENTITY_SEGMENTS = ['services', 'routes', 'consumers', 'plugins', 'test-creds', 'test-cred', 'tags', 'schemas', 'validate', 'service', 'route', 'consumer', 'enabled', 'endpoints', 'status', 'openapi.json', 'certificates', 'client_certificate', 'upstreams', 'targets', 'all', 'upstream', 'health', 'healthy', 'unhealthy', 'snis', 'certificate', 'ca_certificates']
const KEYS = ['svc', 'rt', 'cons', 'plug', 'kkey', 't1', 'test-auth', SVC, RT, CONS, PLUG, CRED, MISSING, SVC.toUpperCase(), 'missing', 'é', '%C3%A9', '00000000-0000-0000-0000-000000000000',
  'ups.test', UPS, TGT, 'tgt.test:8000', 'tgt.test', '1.2.3.4', '[::1]:80', '%5B0000:0000:0000:0000:0000:0000:0000:0001%5D:8000', 'a.example.test', '*.wild.example.test', '%2A.wild.example.test', CERT, SNI, CA]
const ODD_SEGMENTS = ['', '.', '..', '%2e', '%2E%2E', '%2F', '%2f..%2f', '%', '%z', '%zz', '%G0', '%00', '%ff', '%C0%AF', '%E2%82', '%F0%9F%99%82', '%25', '%20', ' ', '+', ';', ';a=b', '*', '~', '\\', '..\\..', '%5C', ':', '@', '!$&\'()*,=', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty']

const byteSegment = fc.uint8Array({ maxLength: 6 }).map((b) => Buffer.from(b).toString('latin1'))
const segment = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...ENTITY_SEGMENTS) },
  { weight: 4, arbitrary: fc.constantFrom(...KEYS) },
  { weight: 3, arbitrary: fc.constantFrom(...ODD_SEGMENTS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }).map(encodeURIComponent) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }).map(encodeURIComponent) },
  { weight: 1, arbitrary: byteSegment },
  { weight: 1, arbitrary: fc.uuid() },
  { weight: 1, arbitrary: fc.constantFrom(2047, 2048, 2049, 5000, 70000).map((n) => 'a'.repeat(n)) },
)
/** Anything: a first segment, then up to four of any kind. */
const anyPath = fc.tuple(
  fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...ENTITY_SEGMENTS.slice(0, 8)) }, { weight: 1, arbitrary: segment }),
  fc.array(segment, { maxLength: 4 }),
).map(([first, rest]) => [first, ...rest].join('/'))

/** Shaped like the Admin API's paths: /S, /S/{k}, /S/{k}/f, /S/{k}/C/{k}, with real and odd keys. */
const COLLECTIONS = ['services', 'routes', 'consumers', 'plugins', 'test-creds', 'tags', 'schemas', 'upstreams', 'targets', 'certificates', 'snis', 'ca_certificates']
const CHILDREN = ['routes', 'plugins', 'service', 'route', 'consumer', 'test-cred', 'validate', 'client_certificate', 'targets', 'upstream', 'snis', 'certificate', 'services', 'nope']
const key = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...KEYS) }, { weight: 1, arbitrary: segment })
const apiPath = fc.tuple(fc.constantFrom(...COLLECTIONS), fc.option(key, { nil: undefined }), fc.option(fc.constantFrom(...CHILDREN), { nil: undefined }), fc.option(key, { nil: undefined }))
  .map(([c, k, child, k2]) => [c, ...(k === undefined ? [] : [k, ...(child === undefined ? [] : [child, ...(k2 === undefined ? [] : [k2])])])].join('/'))

/** Rewrites a path the way clients and attackers do: encoded, dotted, doubled, cased. */
const MUTATIONS: Array<(p: string) => string> = [
  (p) => p,
  (p) => p,
  (p) => p,
  (p) => p.replace(/[a-z]/, (c) => `%${c.charCodeAt(0).toString(16)}`),
  (p) => p.replace(/[a-z]/, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
  (p) => p.replace('/', '/./'),
  (p) => p.replace('/', '/x/../'),
  (p) => p.replace('/', '//'),
  (p) => p.replace('/', '%2F'),
  (p) => p.toUpperCase(),
  (p) => `${p};x=1`,
]
const path = fc.tuple(
  fc.oneof({ weight: 3, arbitrary: apiPath }, { weight: 1, arbitrary: anyPath }),
  fc.constantFrom(...MUTATIONS),
  fc.constantFrom('', '', '', '/', '//', '/.', '?', '#frag', '?#'),
  fc.constantFrom('/', '/', '/', '//', '/./', '/../'),
).map(([p, mutate, tail, lead]) => `${lead}${mutate(p)}${tail}`)

const METHODS = ['GET', 'GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']
const ODD_METHODS = ['TRACE', 'CONNECT', 'PROPFIND', 'PURGE', 'SEARCH', 'LINK', 'M-SEARCH', 'QUERY']
const method = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...METHODS) }, { weight: 1, arbitrary: fc.constantFrom(...ODD_METHODS) })

/** Small bodies: a few valid for some endpoint, most not; the body fuzzer does the rest. */
const body = fc.constantFrom(
  ['', ''],
  ['application/json', '{}'],
  ['application/json', '{"name":"fz","host":"fz.test"}'],
  ['application/json', '{"username":"fz"}'],
  ['application/json', '{"paths":["/fz"]}'],
  ['application/json', '{"name":"test-auth"}'],
  ['application/json', '{"key":"fz"}'],
  ['application/x-www-form-urlencoded', 'host=fz.test&tags[]=a'],
  ['application/json', '{"id":5,"host":"fz.test"}'],
  ['application/json', '{"target":"fz.test:81","weight":5}'],
  ['application/json', '{"hash_on":"header","healthchecks":{"active":{"healthy":{"interval":1}}}}'],
  ['application/x-www-form-urlencoded', 'target=fz.test&weight=0'],
  ['application/x-www-form-urlencoded', 'name=fz.test&algorithm=latency&healthchecks.passive.unhealthy.tcp_failures=1'],
)

// --- queries -------------------------------------------------------------------------

const SIZES = ['0', '1', '1', '2', '2', '3', '-1', '1000', '1001', '1.5', '1e0', '2e0', '1e309', 'abc', '', ' 1', '0x1', 'Infinity', 'NaN', '%zz', '%', '%31', '+1']
const OFFSETS = ['WyJ4Il0=', 'WyJ4IiwieSIsInoiXQ==', 'W10=', 'bnVsbA==', 'eyJhIjoxfQ==', 'WyI1ZTFmMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAxMDEiXQ==', 'AAAA', '!!!', '=', '====', '', '%zz', '%2B', 'x'.repeat(3000)]
const TAGS = ['t1', 't1', '%C3%A9', '%C3%A9', 'é', 't1,%C3%A9', 't1/%C3%A9', 't1%2C%C3%A9', 'a,b/c', ',', '/', 'a,,b', 'a//b', '1,2,3,4,5,6', ' ', '%20', '%ff', '%C3', '%zz', '__proto__', 'x'.repeat(3000)]
const OTHER_KEYS = ['custom_id', 'foo', '__proto__', 'constructor', '', 'size[]', 'tags[]', 'offset[a]', 'tags[0]', 'SIZE', 'ttl', 'offset', 'size', 'tags', 'balancer_health']
const OTHER_VALUES = ['cid', 'cons', '', '1', 'abc', '%zz', '%ff', '%00', '+', '=']
const anyValue = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...OTHER_VALUES, ...SIZES, ...TAGS) }, { weight: 1, arbitrary: fc.string({ maxLength: 10 }).map(encodeURIComponent) }, { weight: 1, arbitrary: byteSegment })
const queryPart = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...SIZES).map((v) => `size=${v}`) },
  { weight: 3, arbitrary: fc.constantFrom(...TAGS).map((v) => `tags=${v}`) },
  { weight: 2, arbitrary: fc.constantFrom(...OFFSETS).map((v) => `offset=${v}`) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...OTHER_KEYS), anyValue).map(([k, v]) => `${k}=${v}`) },
  { weight: 1, arbitrary: fc.constantFrom(...OTHER_KEYS) },
  { weight: 1, arbitrary: fc.constantFrom('&', '=', '==', '&&', ';', '%', '%zz=%zz', '#') },
  // A key given twice, each time with a value of its own kind.
  { weight: 3, arbitrary: fc.oneof(fc.tuple(fc.constant('size'), fc.constantFrom(...SIZES), fc.constantFrom(...SIZES)), fc.tuple(fc.constant('tags'), fc.constantFrom(...TAGS), fc.constantFrom(...TAGS)), fc.tuple(fc.constant('offset'), fc.constantFrom(...OFFSETS), fc.constantFrom(...OFFSETS))).map(([k, a, b]) => `${k}=${a}&${k}=${b}`) },
)
const query = fc.array(queryPart, { maxLength: 5 }).map((parts) => parts.join('&'))
const LISTS = ['/services', '/routes', '/consumers', '/plugins', '/test-creds', '/tags', '/tags/t1', '/tags/%C3%A9', '/services/svc/routes', '/services/svc/plugins', '/routes/rt/plugins', '/consumers/cons/plugins', '/consumers/cons/test-cred', `/services/${MISSING}/routes`, '/services/svc', '/schemas/services', '/', '/status', '/endpoints', '/routes/rt/service', '/config', '/metrics',
  '/upstreams', '/upstreams/ups.test/targets', `/upstreams/${UPS}/targets/all`, '/upstreams/ups.test/targets/tgt.test:8000',
  '/upstreams/ups.test/health', '/upstreams/ups.test/targets/tgt.test:8000/healthy', '/upstreams/ups.test/targets/tgt.test:8000/127.0.0.1:8000/unhealthy', '/upstreams/ups.test/targets/tgt.test:8000/%zz/healthy']

// --- headers -------------------------------------------------------------------------

const CONTENT_TYPES = [
  'application/json', 'application/json; charset=utf-8', 'application/json; charset=utf-16', 'application/json; charset=bogus', 'application/json; charset="',
  'APPLICATION/JSON', 'application/json;', 'application/json;;;', 'application/jsonx', 'application/json, text/plain', ' application/json', 'application/json\t',
  'application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=utf-7', 'application/x-www-form-urlencoded; charset=iso-8859-1',
  'multipart/form-data', 'multipart/form-data; boundary=', 'multipart/form-data; boundary="', 'multipart/form-data; boundary=""', 'multipart/form-data; boundary=fz',
  'multipart/form-data; boundary="fz"', `multipart/form-data; boundary=${'b'.repeat(71)}`, 'multipart/form-data; boundary=fz; boundary=other', 'multipart/mixed; boundary=fz',
  'text/plain', 'text/html; charset=utf-8', '', ';', '*/*', 'application/*', 'application/xml', 'x/y; a=b; c', 'application/json; boundary=fz',
]
const ACCEPTS = ['*/*', 'application/json', 'text/html', 'text/plain;q=0.5, application/xml;q=0.9', 'image/png', '', ';q=x', 'text/*;q=0', 'application/json;q=0']
const headerValue = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 20 }).map((s) => s.replace(/[\r\n\0]/g, ' ')) },
  { weight: 1, arbitrary: fc.constantFrom(1000, 8000, 15000, 20000, 70000).map((n) => 'v'.repeat(n)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b).toString('latin1').replace(/[\r\n]/g, ' ')) },
)
const headerName = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('X-Fuzz', 'Accept', 'Origin', 'Access-Control-Request-Headers', 'Access-Control-Request-Method', 'Kong-Debug', 'Cookie', 'Authorization', 'X-Forwarded-For', 'Upgrade', 'Expect', 'Content-Encoding', 'Accept-Encoding', 'If-None-Match', 'Range', 'Content-Language', 'Content-Disposition', 'X-Kong-Request-Id', 'Request-Id', '__proto__', 'constructor') },
  { weight: 1, arbitrary: fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}$/) },
  { weight: 1, arbitrary: fc.constantFrom('X Fuzz', 'X:Fuzz', 'X-Fuzz ', 'Ü', '(x)', '[x]', '"x"', '') },
)
const header = fc.tuple(headerName, headerValue)
const contentTypes = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...CONTENT_TYPES).map((c) => [c]) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom(...CONTENT_TYPES), { minLength: 0, maxLength: 3 }) },
)

// --- properties ----------------------------------------------------------------------

t.test('paths: every method on generated paths is answered, never 5xx, refusals change nothing', async (t) => {
  const h = await harness(t)
  await fc.assert(fc.asyncProperty(method, path, body, async (m, p, [type, text]) => {
    const headers: Array<[string, string]> = [...BASIC, ...(type === '' ? [] : [['Content-Type', type] as [string, string]])]
    await check(h, m, httpRequest(m, p, headers, READS.has(m) ? '' : text), `${m} ${p} ${text}`)
  }), params(250))
  t.equal((await h.api.call('GET', '/status')).status, 200, 'still answering')
})

t.test('queries: lists and writes with generated query strings', async (t) => {
  const h = await harness(t)
  const list = fc.oneof({ weight: 2, arbitrary: fc.constantFrom('/services', '/tags', '/tags/t1', '/services/svc/routes') }, { weight: 3, arbitrary: fc.constantFrom(...LISTS) })
  await fc.assert(fc.asyncProperty(fc.constantFrom('GET', 'GET', 'GET', 'POST', 'PATCH', 'DELETE', 'HEAD'), list, query, body, async (m, p, q, [type, text]) => {
    const headers: Array<[string, string]> = [...BASIC, ...(type === '' ? [] : [['Content-Type', type] as [string, string]])]
    await check(h, m, httpRequest(m, `${p}?${q}`, headers, READS.has(m) ? '' : text), `${m} ${p}?${q} ${text}`, `${p}?${q}`)
  }), params(200))
  t.equal((await h.api.call('GET', '/status')).status, 200, 'still answering')
})

t.test('headers: content types, accept, huge values and odd names', async (t) => {
  const h = await harness(t)
  const target = fc.constantFrom('/services', '/consumers', '/services/svc', '/consumers/cons', '/services/svc/routes', '/routes/rt/service', '/plugins/plug', '/schemas/services/validate', '/', '/nowhere')
  const multipartBody = '--fz\r\nContent-Disposition: form-data; name="username"\r\n\r\nfz-mp\r\n--fz--\r\n'
  await fc.assert(fc.asyncProperty(method, target, contentTypes, fc.constantFrom(...ACCEPTS), fc.array(header, { maxLength: 4 }), fc.constantFrom('', '{}', 'username=fz-form', multipartBody, '{"username":"fz-json"}'),
    async (m, p, types, accept, extra, text) => {
      const headers: Array<[string, string]> = [...BASIC, ['Accept', accept], ...types.map((c) => ['Content-Type', c] as [string, string]), ...extra]
      await check(h, m, httpRequest(m, p, headers, READS.has(m) ? '' : text), `${m} ${p} ${JSON.stringify(headers).slice(0, 200)} ${text.slice(0, 40)}`)
    }), params(200))
  t.equal((await h.api.call('GET', '/status')).status, 200, 'still answering')
})

t.test("what node's HTTP parser refuses is still answered, in Kong's shape", async (t) => {
  const h = await harness(t)
  const junk = fc.oneof(
    // Empty lines before a request line are allowed (RFC 9112 2.2): the server rightly waits.
    fc.uint8Array({ minLength: 1, maxLength: 60 }).filter((b) => b.some((x) => x !== 10 && x !== 13)).map((b) => Buffer.concat([Buffer.from(b), Buffer.from('\r\n\r\n')])),
    fc.tuple(method, fc.uint8Array({ maxLength: 20 })).map(([m, b]) => Buffer.concat([Buffer.from(`${m} /`), Buffer.from(b), Buffer.from(' HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')])),
    fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 10 }), fc.string({ maxLength: 10 })).map(([name, v]) =>
      Buffer.concat([Buffer.from('GET /services HTTP/1.1\r\nHost: x\r\nConnection: close\r\n'), Buffer.from(name), Buffer.from(`: ${v.replace(/[\r\n]/g, '')}\r\n\r\n`, 'latin1')])),
    fc.constantFrom(
      'GET /services HTTP/1.1\r\nConnection: close\r\n\r\n', // no Host
      'GET /services HTTP/9.9\r\nHost: x\r\n\r\n',
      'GET /services HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\nConnection: close\r\n\r\nab',
      'POST /services HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n',
      'POST /services HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n',
      'POST /services HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\nConnection: close\r\n\r\n',
      `GET /services HTTP/1.1\r\nHost: x\r\nX-Big: ${'v'.repeat(20000)}\r\nConnection: close\r\n\r\n`,
      `GET /services HTTP/1.1\r\nHost: x\r\n${'X-Many: y\r\n'.repeat(3000)}Connection: close\r\n\r\n`,
      'GET /services HTTP/1.1\r\nHost: x\r\n Folded: y\r\nConnection: close\r\n\r\n',
      'CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n',
      'CONNECT /services HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /services HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
      'GET /services HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n',
      'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
      'GET http://other.test/services HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      'GET * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    ).map((s) => Buffer.from(s, 'latin1')),
  )
  // Some junk parses as a request the API serves (GET * is GET /); the rest must get a 4xx.
  await fc.assert(fc.asyncProperty(junk, async (raw) => {
    await check(h, 'junk', raw, JSON.stringify(raw.toString('latin1')))
  }), params(120))
  t.equal((await h.api.call('GET', '/status')).status, 200, 'still answering')
})
