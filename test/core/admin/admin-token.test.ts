// admin_token: with a token set, every Admin API request without it is refused, whatever
// the path (core, plugin-owned, unknown) and method; the Status API stays open.

import type { AddressInfo } from 'node:net'
import t from 'tap'
import { request } from 'undici'
import { prometheus } from '../../../plugins/prometheus/index.js'
import { PluginRegistry } from '../../../core/runtime/registry.js'
import { startAdmin, storeDump } from '../../helpers/admin.js'
import { testPlugins } from '../../helpers/entities.js'
import { startTestGateway } from '../../helpers/gateway.js'

const TOKEN = 'tollgate-admin-token-0123456789abcdef'
const UNAUTHORIZED = { message: 'Invalid credentials. Token or User credentials required' }
const CHALLENGE = 'Bearer realm="tollgate-admin"'

/** The token with its last character changed: same length, one byte off. */
const lastCharOff = TOKEN.slice(0, -1) + (TOKEN.endsWith('f') ? 'e' : 'f')

const WITHOUT: Array<[string, Record<string, string>]> = [
  ['no token', {}],
  ['a wrong Bearer token', { authorization: 'Bearer not-the-token-at-all-0000' }],
  ['a Bearer token off in its last character', { authorization: `Bearer ${lastCharOff}` }],
  ['a Kong-Admin-Token off in its last character', { 'kong-admin-token': lastCharOff }],
  ['a token prefix', { authorization: `Bearer ${TOKEN.slice(0, -1)}` }],
  ['the token with more after it', { 'kong-admin-token': `${TOKEN}x` }],
  ['the token as Basic credentials', { authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}` }],
  ['the token bare in Authorization', { authorization: TOKEN }],
]
const WITH: Array<[string, Record<string, string>]> = [
  ['Authorization: Bearer', { authorization: `Bearer ${TOKEN}` }],
  ['Authorization: bearer (scheme case-insensitive)', { authorization: `bearer ${TOKEN}` }],
  ['Kong-Admin-Token', { 'kong-admin-token': TOKEN }],
]

async function send (url: string, method: string, headers: Record<string, string>, body?: string) {
  const res = await request(url, { method: method as 'GET', headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' }, body })
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() }
}

t.test('every path /endpoints lists, every method, refused without the token and served with it', async (t) => {
  const plugins = new PluginRegistry()
  for (const p of testPlugins.all()) plugins.register(p)
  plugins.register(prometheus)
  const api = await startAdmin(t, { plugins, token: TOKEN })
  const listed = await api.call('GET', '/endpoints')
  t.equal(listed.status, 200, 'GET /endpoints with the token')
  const paths = (listed.body.data as string[]).map((p) => p.replace(/\{\w+\}/g, 'made-up-value'))
  t.ok(paths.includes('/metrics'), "a plugin-owned path (prometheus's /metrics) is among them")
  paths.push('/no-such-path', '/services/made-up-value/no-such-child')

  const before = storeDump(api.store)
  let refused = 0
  let served = 0
  for (const path of paths) {
    for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
      const body = ['POST', 'PUT', 'PATCH'].includes(method) ? '{"name":"x"}' : undefined
      for (const [what, headers] of WITHOUT) {
        const r = await send(`${api.url}${path}`, method, headers, body)
        if (r.status !== 401 || r.headers['www-authenticate'] !== CHALLENGE || (method !== 'HEAD' && r.text !== JSON.stringify(UNAUTHORIZED))) {
          t.fail(`${method} ${path} with ${what}: ${r.status} ${r.text}`)
        } else refused++
      }
    }
    // Reads with the token: the answer is the route's own (whatever it is), never 401.
    for (const method of ['GET', 'OPTIONS']) {
      for (const [what, headers] of WITH) {
        const r = await send(`${api.url}${path}`, method, headers)
        if (r.status === 401) t.fail(`${method} ${path} with ${what}: 401`)
        else served++
      }
    }
  }
  t.equal(refused, paths.length * 7 * WITHOUT.length, `${refused} requests without the token, all 401 with the challenge and Kong Enterprise's message`)
  t.equal(served, paths.length * 2 * WITH.length, `${served} with it, none 401`)
  t.equal(storeDump(api.store), before, 'no refused request wrote anything')
})

t.test('writes go through with the token, in either header', async (t) => {
  const api = await startAdmin(t, { token: TOKEN })
  let r = await send(`${api.url}/services`, 'POST', { 'kong-admin-token': TOKEN }, JSON.stringify({ name: 'a', url: 'http://127.0.0.1:9' }))
  t.equal(r.status, 201, 'Kong-Admin-Token')
  r = await send(`${api.url}/services/a`, 'PATCH', { authorization: `Bearer ${TOKEN}` }, JSON.stringify({ retries: 1 }))
  t.equal(r.status, 200, 'Authorization: Bearer')
  r = await send(`${api.url}/services/a`, 'DELETE', { authorization: 'Bearer wrong-wrong-wrong-wrong', 'kong-admin-token': TOKEN })
  t.equal(r.status, 204, 'a right token in one header is enough')
  // A malformed path (bad percent-encoding) is refused before it is decoded.
  r = await send(`${api.url}/services/%zz`, 'GET', {})
  t.equal(r.status, 401, 'a path fastify cannot decode: still 401 without the token')
  t.equal((await send(`${api.url}/services/%zz`, 'GET', { 'kong-admin-token': TOKEN })).status, 400, 'and 400 with it')
})

t.test("a browser's CORS preflight is answered without the token; a plain OPTIONS is not", async (t) => {
  const api = await startAdmin(t, { token: TOKEN })
  const pre = await send(`${api.url}/services`, 'OPTIONS', { origin: 'https://ui.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' })
  t.equal(pre.status, 204)
  t.equal(pre.headers['access-control-allow-headers'], 'authorization')
  t.equal((await send(`${api.url}/services`, 'OPTIONS', {})).status, 401)
  t.equal((await send(`${api.url}/services`, 'OPTIONS', { origin: 'https://ui.example' })).status, 401, 'an Origin alone is no preflight')
  const list = await send(`${api.url}/services`, 'GET', { origin: 'https://ui.example' })
  t.equal(list.status, 401, 'the real request after it needs the token')
})

t.test('the gateway: Admin API closed, Status API open, the test helper sends the token', async (t) => {
  const gw = await startTestGateway(t, { config: { admin_token: TOKEN, status_listen: '127.0.0.1:0' } })
  t.equal((await send(`${gw.admin}/status`, 'GET', {})).status, 401, 'GET /status on the Admin API needs the token')
  t.equal((await send(`${gw.admin}/status`, 'GET', { 'kong-admin-token': TOKEN })).status, 200)
  const status = `http://127.0.0.1:${(gw.gateway.status[0] as AddressInfo).port}`
  t.equal((await send(`${status}/status`, 'GET', {})).status, 200, "the Status API's /status needs none")
  const root = await gw.admin$('GET', '/')
  t.equal(root.configuration.admin_token, '******', 'GET / hides the token')
})

t.test('no token set: nothing asked, as Kong OSS', async (t) => {
  const api = await startAdmin(t)
  t.equal((await send(`${api.url}/services`, 'GET', {})).status, 200)
  t.equal((await send(`${api.url}/services`, 'GET', { authorization: 'Bearer anything-at-all-here' })).status, 200)
})
