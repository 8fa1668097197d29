// An unexpected error in an Admin API handler is Kong's bare 500, with the details in the
// log only, on a line that carries the request id; input at fault (a body, query or path
// the parsers refuse) is a 400 with Kong's body and is not logged as an error at all.

import { connect } from 'node:net'
import t from 'tap'
import { Type } from 'typebox'
import type { PluginDescriptor } from '../../../core/runtime/plugin.js'
import { PluginRegistry } from '../../../core/runtime/registry.js'
import { startAdmin } from '../../helpers/admin.js'
import { memoryLogger } from '../../helpers/gateway.js'

const INTERNAL = { message: 'An unexpected error occurred' }
const REQUEST_ID = /^[0-9a-f]{32}$/

t.test('an unexpected error: 500, no details, one log line with the request id', async (t) => {
  const { log, lines } = memoryLogger()
  const api = await startAdmin(t, { log })
  // A store that fails as a broken disk would: a plain Error, not a DbError.
  api.store.insert = async () => { throw new Error('disk on fire at /var/lib/tollgate/tollgate.mdb') }

  const a = await api.call('POST', '/services', { json: { name: 's', host: 's.test' } })
  const b = await api.call('POST', '/consumers', { form: 'username=u' })
  for (const r of [a, b]) {
    t.same([r.status, r.body], [500, INTERNAL], "Kong's body")
    t.match(r.headers['content-type'], 'application/json')
    t.notMatch(r.text, /disk|tollgate\.mdb|\bat .+:\d+:\d+/, 'nothing of the error in the answer')
  }
  const errors = lines.filter((l) => l.msg === 'admin API error')
  t.equal(errors.length, 2, 'one line per failed request')
  t.same(errors.map((l) => [l.level, l.method, l.path, l.err?.message]), [
    [50, 'POST', '/services', 'disk on fire at /var/lib/tollgate/tollgate.mdb'],
    [50, 'POST', '/consumers', 'disk on fire at /var/lib/tollgate/tollgate.mdb'],
  ], 'the error, its request and its stack go to the log')
  t.match(errors[0]?.err?.stack, /disk on fire/)
  t.match(errors[0]?.request_id, REQUEST_ID, 'logged with a Kong-style request id')
  t.not(errors[0]?.request_id, errors[1]?.request_id, 'each request has its own')

  // The process goes on serving.
  t.equal((await api.call('GET', '/services')).status, 200)
})

t.test("a plugin's Admin route that throws is logged with the request id too", async (t) => {
  const plugins = new PluginRegistry()
  const boom: PluginDescriptor<ReturnType<typeof Type.Object>> = {
    name: 'boom', version: '1.0.0', priority: 1, schema: Type.Object({}),
    admin: [{ method: 'GET', path: '/boom', handler: () => { throw new Error('kaboom') } }],
  }
  plugins.register(boom)
  const { log, lines } = memoryLogger()
  const api = await startAdmin(t, { log, plugins })
  const r = await api.call('GET', '/boom')
  t.same([r.status, r.body], [500, INTERNAL])
  const line = lines.find((l) => l.plugin === 'boom')
  t.equal(line?.err?.message, 'kaboom')
  t.match(line?.request_id, REQUEST_ID)
})

t.test('input at fault is a 400 with Kong-shaped body, never logged as an error', async (t) => {
  const { log, lines } = memoryLogger()
  const api = await startAdmin(t, { log })
  await api.call('POST', '/services', { json: { name: 's', host: 's.test' } })
  const cases: Array<[string, string, Parameters<typeof api.call>[2], unknown]> = [
    ['POST', '/services', { body: '{"name":', headers: { 'content-type': 'application/json' } }, { message: 'Cannot parse JSON body' }],
    ['PUT', '/services/s', { body: '', headers: { 'content-type': 'application/json' } }, { message: 'Cannot parse JSON body' }],
    ['POST', '/services', { body: 'a=1', headers: { 'content-type': 'multipart/form-data' } }, { message: 'Cannot parse multipart body: Multipart: Boundary not found' }],
    ['POST', '/services', { body: 'x', headers: { 'content-type': 'multipart/form-data; boundary=zz' } }, { message: 'Cannot parse multipart body: Unexpected end of multipart data' }],
    ['GET', '/services/%zz', {}, { message: 'invalid utf-8 or percent-encoding in the request path' }],
    ['GET', '/services/%E0%A4', {}, { message: 'invalid utf-8 or percent-encoding in the request path' }],
    ['DELETE', '/services/s/routes/%ff', {}, { message: 'invalid utf-8 or percent-encoding in the request path' }],
    ['GET', '/services?size=%zz', {}, { code: 9, name: 'invalid size', message: 'size must be a number' }],
    ['GET', '/services?offset=%zz', {}, { code: 7, name: 'invalid offset', message: "'%zz' is not a valid offset: bad base64 encoding" }],
    ['GET', '/services?tags', {}, { code: 11, name: 'invalid options', message: 'invalid option (tags: cannot be null)', options: { tags: 'cannot be null' } }],
    ['GET', `/services?${'a=1&'.repeat(1001)}`, {}, { message: 'Too many arguments' }],
  ]
  for (const [method, path, opts, body] of cases) {
    const r = await api.call(method, path, opts)
    t.same([r.status, r.body], [400, body], `${method} ${path.slice(0, 40)}`)
  }
  t.same(lines.filter((l) => l.level >= 50), [], 'nothing logged as an error')
})

/** Raw bytes on a new connection; everything the server sends until it closes it. */
function raw (url: string, bytes: string): Promise<string> {
  const { port } = new URL(url)
  return new Promise((resolve) => {
    let out = ''
    const s = connect(Number(port), '127.0.0.1', () => s.write(bytes, 'latin1'))
    s.on('data', (d: Buffer) => { out += d.toString('latin1') })
    s.on('error', () => {})
    s.on('close', () => resolve(out))
  })
}

// Found by the request fuzzer: node closed a CONNECT request's connection without a word,
// and what its parser refused got fastify's {"error","message","statusCode"} body.
t.test("what never reaches a route is answered too, in Kong's words", async (t) => {
  const { log, lines } = memoryLogger()
  const api = await startAdmin(t, { log })
  const answer = (text: string): [string, unknown] => {
    const [head = '', body = ''] = text.split('\r\n\r\n')
    return [head.split('\r\n')[0] as string, JSON.parse(body)]
  }
  t.same(answer(await raw(api.url, 'CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n')), ['HTTP/1.1 405 Method Not Allowed', { message: 'Method not allowed' }])
  t.same(answer(await raw(api.url, 'CONNECT /services HTTP/1.1\r\nHost: x\r\n\r\n')), ['HTTP/1.1 405 Method Not Allowed', { message: 'Method not allowed' }])
  t.same(answer(await raw(api.url, 'GET /services HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n')), ['HTTP/1.1 400 Bad Request', { message: 'Bad request' }])
  t.same(answer(await raw(api.url, 'POST /services HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')), ['HTTP/1.1 400 Bad Request', { message: 'Bad request' }])
  t.same(answer(await raw(api.url, `GET /services HTTP/1.1\r\nHost: x\r\nX-Big: ${'v'.repeat(20000)}\r\n\r\n`)), ['HTTP/1.1 400 Bad Request', { message: 'Request header or cookie too large' }])
  t.match(await raw(api.url, 'GET /services HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n'), /\r\nServer: tollgate\/.+\r\nConnection: close\r\n/)
  t.equal((await api.call('GET', '/services')).status, 200, 'still serving')
  t.same(lines.filter((l) => l.level >= 50), [], 'nothing logged as an error')
})

