// Kong's spec/03-plugins/21-bot-detection/01-access_spec.lua and 02-invalidations_spec.lua
// (3.2.2) through a real gateway to a real upstream on 127.0.0.1; each test names the
// it(...) it mirrors. Not ported: the #grpc cases (no gRPC proxying).
import t from 'tap'
import { request } from 'undici'
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js'
import { startMockUpstream } from '../../helpers/mock-upstream.js'

const HELLOWORLD = 'HelloWorld'
const FACEBOOK = 'facebookexternalhit/1.1' // one of Kong's bot rules
const BROWSER = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/50.0.2661.102 Safari/537.36'

let gw: TestGateway
let plain: string

t.before(async () => {
  gw = await startTestGateway(t)
  const up = await startMockUpstream(t)
  await gw.admin$('POST', '/services', { name: 'mock', url: up.url })
  const routes: Array<[string, Record<string, unknown>]> = [['bot.com', {}], ['bot2.com', { deny: [HELLOWORLD] }], ['bot3.com', { allow: [FACEBOOK] }], ['bot4.com', {}]]
  for (const [host, config] of routes) {
    const route = await gw.admin$('POST', '/services/mock/routes', { hosts: [host] })
    const p = await gw.admin$('POST', `/routes/${route.id as string}/plugins`, { name: 'bot-detection', config })
    if (host === 'bot4.com') plain = p.id
  }
})

async function get (host: string, ua?: string): Promise<{ status: number, body: string }> {
  const res = await request(`${gw.proxy}/request`, { headers: ua === undefined ? { host } : { host, 'user-agent': ua } })
  return { status: res.statusCode, body: await res.body.text() }
}

t.test('01-access: it("allows regular requests")', async (t) => {
  t.equal((await get('bot.com')).status, 200, 'no User-Agent')
  t.equal((await get('bot.com', BROWSER)).status, 200)
  t.equal((await get('bot.com', HELLOWORLD)).status, 200)
  t.equal((await get('bot.com', 'curl/7.43.0')).status, 200)
})

t.test('01-access: it("blocks bots")', async (t) => {
  const r = await get('bot.com', 'Googlebot/2.1 (+http://www.google.com/bot.html)')
  t.equal(r.status, 403)
  t.match(JSON.parse(r.body), { message: 'Forbidden' })
  t.equal((await get('bot.com', FACEBOOK)).status, 403)
  t.equal((await get('bot.com', FACEBOOK)).status, 403, 'the cached decision')
})

t.test('01-access: it("blocks denied user-agents")', async (t) => {
  t.equal((await get('bot2.com', HELLOWORLD)).status, 403)
  t.equal((await get('bot2.com', `  ${HELLOWORLD}  `)).status, 403, 'trimmed, as Kong strips it')
})

t.test('01-access: it("allows allowed user-agents")', async (t) => {
  t.equal((await get('bot3.com', FACEBOOK)).status, 200)
})

t.test('02-invalidations: it("blocks a newly entered user-agent")', async (t) => {
  t.equal((await get('bot4.com', 'helloworld')).status, 200)
  await gw.admin$('PATCH', `/plugins/${plain}`, { config: { deny: ['helloworld'] } })
  t.equal((await get('bot4.com', 'helloworld')).status, 403, 'the cached decision is not kept')
})

t.test('02-invalidations: it("allows a newly entered user-agent")', async (t) => {
  t.equal((await get('bot4.com', FACEBOOK)).status, 403)
  await gw.admin$('PATCH', `/plugins/${plain}`, { config: { allow: [FACEBOOK] } })
  t.equal((await get('bot4.com', FACEBOOK)).status, 200)
})

t.test('two User-Agent headers: 400 (Kong\'s get_user_agent)', async (t) => {
  const res = await request(`${gw.proxy}/request`, { headers: ['host', 'bot.com', 'user-agent', 'a', 'user-agent', 'b'] })
  const body = await res.body.text()
  t.equal(res.statusCode, 400)
  t.match(JSON.parse(body), { message: 'Only one User-Agent header allowed' })
})
