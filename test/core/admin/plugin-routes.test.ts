// Admin API endpoints owned by plugins, served through a real Admin API.
import t from 'tap'
import { request } from 'undici'
import { Type } from 'typebox'
import { SERVER_TOKEN } from '../../../core/meta.js'
import { descriptorProblems, type AdminRoute, type PluginDescriptor } from '../../../core/runtime/plugin.js'
import { memoryLogger, startTestGateway } from '../../helpers/gateway.js'

const schema = Type.Object({}, { additionalProperties: false })

function withRoutes (name: string, admin: AdminRoute[]): PluginDescriptor<typeof schema> {
  return { name, version: '1.0.0', priority: 1, schema, admin }
}

const usage = withRoutes('usage', [
  { method: 'GET', path: '/usage/:consumer', handler: (req) => ({ body: { consumer: req.params.consumer, query: req.query } }) },
  {
    method: 'POST',
    path: '/usage/:consumer',
    summary: 'Reset a consumer',
    handler: async (req) => ({ status: 201, body: { got: req.body, type: req.headers['content-type'] }, headers: { 'x-made': 'yes' } }),
  },
  { method: 'DELETE', path: '/usage/:consumer', handler: () => ({ status: 204 }) },
  { method: 'GET', path: '/usage-metrics', handler: () => ({ body: 'requests_total 3\n', headers: { 'content-type': 'text/plain; version=0.0.4' } }) },
  { method: 'GET', path: '/usage-boom', handler: () => { throw new Error('kaboom') } },
  { method: 'GET', path: '/usage-reject', handler: async () => { throw new Error('rejected') } },
])

async function call (url: string, method = 'GET', body?: string, type = 'application/json') {
  const res = await request(url, { method: method as 'GET', headers: body === undefined ? {} : { 'content-type': type }, body })
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() }
}

t.test('a plugin serves its routes with its status, body and headers', async (t) => {
  const { log, lines } = memoryLogger()
  const gw = await startTestGateway(t, { plugins: [usage], log })

  let r = await call(`${gw.admin}/usage/ann?window=minute&x=1&x=2`)
  t.equal(r.status, 200)
  t.same(JSON.parse(r.text), { consumer: 'ann', query: { window: 'minute', x: ['1', '2'] } })

  r = await call(`${gw.admin}/usage/ann`, 'POST', '{"a":1}')
  t.equal(r.status, 201)
  t.equal(r.headers['x-made'], 'yes')
  t.same(JSON.parse(r.text), { got: { a: 1 }, type: 'application/json' })
  r = await call(`${gw.admin}/usage/ann`, 'POST', 'a=1&b=x', 'application/x-www-form-urlencoded')
  t.same(JSON.parse(r.text).got, { a: '1', b: 'x' }, 'a form body is decoded as for core routes')

  r = await call(`${gw.admin}/usage/ann`, 'DELETE')
  t.same([r.status, r.text], [204, ''])

  r = await call(`${gw.admin}/usage-metrics`)
  t.same([r.status, r.headers['content-type'], r.text], [200, 'text/plain; version=0.0.4', 'requests_total 3\n'])
  t.equal(r.headers.server, SERVER_TOKEN, "the Admin API's own headers are added")

  r = await call(`${gw.admin}/usage/ann`, 'PUT', '{}')
  t.same([r.status, JSON.parse(r.text)], [405, { message: 'Method not allowed' }], 'other methods: 405, as for core paths')
  r = await call(`${gw.admin}/usage/ann`, 'OPTIONS')
  t.equal(r.headers.allow, 'DELETE, GET, HEAD, OPTIONS, POST')

  for (const path of ['/usage-boom', '/usage-reject']) {
    r = await call(`${gw.admin}${path}`)
    t.same([r.status, JSON.parse(r.text)], [500, { message: 'An unexpected error occurred' }], `${path}: Kong's 500, no details`)
  }
  t.same(lines.filter((l) => l.plugin === 'usage').map((l) => [l.msg, l.err?.message]), [
    ['plugin usage failed in its Admin API route GET /usage-boom', 'kaboom'],
    ['plugin usage failed in its Admin API route GET /usage-reject', 'rejected'],
  ])

  const endpoints = JSON.parse((await call(`${gw.admin}/endpoints`)).text).data as string[]
  t.ok(endpoints.includes('/usage/{consumer}') && endpoints.includes('/usage-metrics'), '/endpoints lists them')
  const openapi = JSON.parse((await call(`${gw.admin}/openapi.json`)).text)
  t.equal(openapi.paths['/usage/{consumer}'].post.summary, 'Reset a consumer')
})

t.test('a path the core API or another plugin serves stops the start, naming both', async (t) => {
  const status = withRoutes('status-thief', [{ method: 'POST', path: '/status', handler: () => ({}) }])
  await t.rejects(startTestGateway(t, { plugins: [status] }), { message: "plugin 'status-thief' cannot serve POST /status: Tollgate's Admin API serves /status" })
  const entity = withRoutes('entity-thief', [{ method: 'GET', path: '/services/:id', handler: () => ({}) }])
  await t.rejects(startTestGateway(t, { plugins: [entity] }), { message: "plugin 'entity-thief' cannot serve GET /services/:id: Tollgate's Admin API serves /services/:key" })
  const other = withRoutes('zz-other', [{ method: 'DELETE', path: '/usage-metrics', handler: () => ({}) }])
  await t.rejects(startTestGateway(t, { plugins: [usage, other] }), { message: "plugin 'zz-other' cannot serve DELETE /usage-metrics: plugin 'usage' serves /usage-metrics" })
})

t.test('descriptorProblems checks admin routes; a plugin with only admin routes is valid', async (t) => {
  const base = { name: 'p', version: '1.0.0', priority: 1, schema }
  const ok = () => ({})
  t.same(descriptorProblems({ ...base, admin: [{ method: 'GET', path: '/p', handler: ok }] }), [])
  t.same(descriptorProblems({ ...base, admin: {} }), ["'admin' must be a list of { method, path, handler } routes"])
  t.same(descriptorProblems({ ...base, admin: [null, { method: 'HEAD', path: 'p', handler: 1, summary: 2 }] }), [
    "'admin[0]' must be a { method, path, handler } object",
    "'admin[1]'.method must be one of GET, POST, PUT, PATCH, DELETE",
    "'admin[1]'.path must be a path starting with '/', such as '/my-plugin/:id'",
    "'admin[1]'.handler must be a function",
    "'admin[1]'.summary must be a string",
  ])
  t.same(descriptorProblems({ ...base, admin: [{ method: 'GET', path: '/p', handler: ok }, { method: 'GET', path: '/p', handler: ok }] }), ["'admin' lists GET /p twice"])
})
