// Kong's spec/03-plugins/15-response-transformer/04-filter_spec.lua and
// 05-big_response_body_spec.lua (3.2.2), and the two handler cases of
// 02-body_transformer_spec.lua, through a real gateway to a real upstream on 127.0.0.1.
// Kong's basic-auth on response3.com is key-auth here (any plugin that answers in access).
import type { IncomingMessage, ServerResponse } from 'node:http'
import t from 'tap'
import { request } from 'undici'
import { startTestGateway, startUpstream, type TestGateway } from '../../helpers/gateway.js'

let gw: TestGateway

const PRETTY = '{\n  "id": 1,\n  "name": "Some One",\n  "address": {\n    "city": "Gwendoline"\n  }\n}\n'

/** Kong's mock upstream, the parts these cases use. */
function upstream (req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    const url = req.url ?? '/'
    const send = (body: string, headers: Record<string, string> = {}): void => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers })
      res.end(body)
    }
    if (url.startsWith('/response-headers')) return send('{"ok":true}', { 'access-control-allow-origin': '*' })
    if (url.startsWith('/pretty')) return send(PRETTY)
    if (url.startsWith('/not-json')) return send('not a json value')
    if (url.startsWith('/text')) {
      res.writeHead(200, { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' })
      res.write('{"url":')
      res.end('"kept"}')
      return
    }
    if (url.startsWith('/post')) return send(JSON.stringify({ params: JSON.parse(Buffer.concat(chunks).toString('utf8')), url }))
    send(JSON.stringify({ headers: req.headers, uri_args: {}, url: `http://${req.headers.host ?? ''}${url}`, ip: '127.0.0.1' }))
  })
}

async function get (host: string, path: string, opts: { method?: string, body?: string } = {}): Promise<{ status: number, headers: Record<string, unknown>, text: string }> {
  const res = await request(`${gw.proxy}${path}`, { method: (opts.method ?? 'GET') as 'GET', headers: { host, 'content-type': 'application/json' }, body: opts.body })
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() }
}

t.before(async () => {
  gw = await startTestGateway(t)
  const up = await startUpstream(t, upstream)
  await gw.admin$('POST', '/services', { name: 'mock', url: up.url })
  const configs: [string, Record<string, unknown>, Record<string, unknown>?][] = [
    ['response.com', { remove: { headers: ['Access-Control-Allow-Origin'], json: ['url'] } }],
    ['response2.com', { replace: { json: ['headers:/hello/world', 'uri_args:this is a / test', 'url:"wot"'] } }],
    ['response3.com', { remove: { json: ['ip'] } }],
    ['big.com', { add: { json: ['p1:v1'] }, remove: { json: ['params'] } }, { methods: ['POST'] }],
    ['headers-only.com', { remove: { headers: ['h1', 'h2', 'h3'] } }],
  ]
  for (const [host, config, route] of configs) {
    const r = await gw.admin$('POST', '/services/mock/routes', { hosts: [host], ...route })
    await gw.admin$('POST', `/routes/${r.id as string}/plugins`, { name: 'response-transformer', config })
    if (host === 'response3.com') await gw.admin$('POST', `/routes/${r.id as string}/plugins`, { name: 'key-auth' })
  }
})

t.test('parameters', async (t) => {
  t.test('it("remove a parameter")', async (t) => {
    const r = await get('response.com', '/get')
    t.equal(r.status, 200)
    const json = JSON.parse(r.text)
    t.equal(json.url, undefined)
    t.ok(json.headers)
    t.equal(r.headers['content-length'], String(Buffer.byteLength(r.text)), 'the length of the new body')
  })
  t.test('it("remove a header")', async (t) => {
    const r = await get('response.com', '/response-headers')
    t.equal(r.status, 200)
    t.same(JSON.parse(r.text), { ok: true })
    t.equal(r.headers['access-control-allow-origin'], undefined)
  })
  t.test('it("replace a body parameter on GET")', async (t) => {
    const r = await get('response2.com', '/get')
    t.equal(r.status, 200)
    const json = JSON.parse(r.text)
    t.same([json.headers, json.url, json.uri_args], ['/hello/world', '"wot"', 'this is a / test'])
  })
  t.test('a response that is not JSON is left alone (and streams)', async (t) => {
    const r = await get('response.com', '/text')
    t.equal(r.text, '{"url":"kept"}')
  })
})

t.test('regressions: it("does not throw an error when request was short-circuited in access phase")', async (t) => {
  t.equal((await get('response3.com', '/get')).status, 401)
})

t.test('02-body_transformer: leave body alone: it("body remains unaltered if no transforms have been set")', async (t) => {
  const r = await get('headers-only.com', '/pretty')
  t.equal(r.text, PRETTY)
})

t.test('02-body_transformer: handle unexpected body type: it("gracefully fails transforming invalid json body")', async (t) => {
  const r = await get('response3.com', '/not-json?apikey=none')
  t.equal(r.status, 401, 'key-auth still answers first')
  const s = await get('response.com', '/not-json')
  t.equal(s.status, 200)
  t.equal(s.text, 'not a json value')
})

t.test('05-big_response_body: it("add new parameters on large POST") / it("remove parameters on large POST")', async (t) => {
  const body = JSON.stringify({ mock_json: { big_field: '*'.repeat(1024 * 1024) } })
  const r = await get('big.com', '/post', { method: 'POST', body })
  t.equal(r.status, 200)
  const json = JSON.parse(r.text)
  t.equal(json.p1, 'v1')
  t.equal(json.params, undefined)
})
