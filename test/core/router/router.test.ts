import t from 'tap'
import { Router, normalizePath, type RouteRequest } from '../../../core/router/index.js'
import type { Route, Service } from '../../../core/store/index.js'
import { RouteSchema } from '../../../core/store/entities/routes.js'
import { ServiceSchema } from '../../../core/store/entities/services.js'
import { validateRecord } from '../../../core/store/schema.js'

let n = 0
/** A route as the store would hold it; ids increase, so a later route has the greater id. */
function route (input: Record<string, unknown>, id?: string): Route {
  const { value, errors } = validateRecord(RouteSchema, input)
  if (errors !== undefined) throw new Error(JSON.stringify(errors))
  n++
  return { ...value, id: id ?? `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, created_at: 0, updated_at: 0 } as unknown as Route
}

const svc = (() => {
  const { value } = validateRecord(ServiceSchema, { host: 'upstream.test' })
  return { ...value, id: 'aaaaaaaa-0000-4000-8000-000000000000' } as unknown as Service
})()

function router (...routes: Route[]): Router {
  return new Router(routes.map((r) => ({ ...r, service: { id: svc.id } })), new Map([[svc.id, svc]]))
}

function req (over: Partial<Omit<RouteRequest, 'headers'>> & { path?: string, headers?: Record<string, string[]> } = {}): RouteRequest {
  const headers = over.headers ?? {}
  return { method: 'GET', host: 'example.test', port: 8000, ...over, headers: () => headers, path: normalizePath(over.path ?? '/') }
}

const name = (r: Router, q: RouteRequest): string | null | undefined => r.match(q)?.route.name

t.test('each attribute must match; OR within one', async (t) => {
  const r = router(
    route({ name: 'methods', methods: ['POST', 'PUT'] }),
    route({ name: 'hosts', hosts: ['a.test', 'b.test'] }),
    route({ name: 'path', paths: ['/p'] }),
    route({ name: 'headers', headers: { 'x-version': ['v1', 'V2'] } }),
  )
  t.equal(name(r, req({ method: 'PUT' })), 'methods')
  t.equal(name(r, req({ method: 'HEAD' })), undefined, 'HEAD does not match GET-less routes')
  t.equal(name(r, req({ host: 'b.test' })), 'hosts')
  t.equal(name(r, req({ path: '/pizza' })), 'path', 'prefix match is not segment-aware')
  t.equal(name(r, req({ headers: { 'x-version': ['v2'] } })), 'headers', 'header values compare case-insensitively')
  t.equal(name(r, req({ headers: { 'x-version': ['v3', 'v1'] } })), 'headers', 'any repeated value may match')
  t.equal(name(r, req()), undefined)
})

t.test('hosts: wildcards and ports', async (t) => {
  const r = router(
    route({ name: 'suffix', hosts: ['*.example.com'] }),
    route({ name: 'prefix', hosts: ['example.*'] }),
    route({ name: 'ported', hosts: ['api.test:8443'] }),
  )
  t.equal(name(r, req({ host: 'a.example.com' })), 'suffix')
  t.equal(name(r, req({ host: 'example.com' })), 'prefix')
  t.equal(name(r, req({ host: 'example.org' })), 'prefix')
  t.equal(name(r, req({ host: 'api.test', port: 8443 })), 'ported')
  t.equal(name(r, req({ host: 'api.test', port: 8000 })), undefined, 'a host with a port needs that port')
  t.equal(name(r, req({ host: 'notexample.com' })), undefined)
})

t.test('regex paths are anchored at the start only and expose captures', async (t) => {
  const r = router(route({ name: 're', paths: ['~/users/(?<id>\\d+)'] }))
  const m = r.match(req({ path: '/users/42/profile' }))
  t.equal(m?.route.name, 're')
  t.equal(m?.matchedPath, '/users/42')
  t.same(m?.captures, { id: '42' })
  t.equal(r.match(req({ path: '/api/users/42' })), undefined)
})

t.test('the path is normalized before matching', async (t) => {
  const r = router(route({ name: 'foobar', paths: ['/foo/bar'] }), route({ name: 'hello', paths: ['/hello'] }))
  for (const p of ['/foo/a/../bar', '/foo//bar', '/foo/./bar']) t.equal(name(r, req({ path: p })), 'foobar', p)
  t.equal(name(r, req({ path: '/h%65llo' })), 'hello')
})

t.test("Kong's priority order", async (t) => {
  // 1. More attribute categories beat longer paths ("host over longer URIs").
  let r = router(route({ name: 'long', paths: ['/very/long/path'] }), route({ name: 'host', hosts: ['example.test'], paths: ['/'] }))
  t.equal(name(r, req({ path: '/very/long/path' })), 'host')
  // 2. Plain hosts beat wildcard hosts.
  r = router(route({ name: 'plain', hosts: ['a.example.com'] }, 'ffffffff-0000-4000-8000-000000000000'), route({ name: 'wild', hosts: ['*.example.com'] }, 'ffffffff-ffff-4fff-8fff-ffffffffffff'))
  t.equal(name(r, req({ host: 'a.example.com' })), 'plain')
  // 3. More headers beat longer paths.
  r = router(
    route({ name: 'one-header-long-path', paths: ['/long/path'], headers: { a: ['1'] } }),
    route({ name: 'two-headers', paths: ['/'], headers: { a: ['1'], b: ['2'] } }),
  )
  t.equal(name(r, req({ path: '/long/path', headers: { a: ['1'], b: ['2'] } })), 'two-headers')
  // 4. Regex beats prefix; 5. regex_priority orders regexes.
  r = router(
    route({ name: 'prefix', paths: ['/users/123'] }),
    route({ name: 'regex-low', paths: ['~/users/\\d+'], regex_priority: 1 }),
    route({ name: 'regex-high', paths: ['~/users/[0-9]+'], regex_priority: 5 }),
  )
  t.equal(name(r, req({ path: '/users/123' })), 'regex-high')
  // 6. Longer prefixes first; "/" is a catch-all.
  r = router(route({ name: 'root', paths: ['/'] }), route({ name: 'foo', paths: ['/foo'] }), route({ name: 'foobar', paths: ['/foobar'] }))
  t.equal(name(r, req({ path: '/foobar/x' })), 'foobar')
  t.equal(name(r, req({ path: '/foo/x' })), 'foo')
  t.equal(name(r, req({ path: '/other' })), 'root')
  // A route with several paths ranks each separately.
  r = router(route({ name: 'multi', paths: ['/a', '/b/c/d'] }), route({ name: 'mid', paths: ['/b/c'] }))
  t.equal(name(r, req({ path: '/b/c/d/e' })), 'multi')
  t.equal(name(r, req({ path: '/b/c/x' })), 'mid')
  // Ties: the greater route id wins, whatever the order of creation.
  const low = route({ name: 'low-id', paths: ['/same'] }, '10000000-0000-4000-8000-000000000000')
  const high = route({ name: 'high-id', paths: ['/same'] }, '90000000-0000-4000-8000-000000000000')
  t.equal(name(router(low, high), req({ path: '/same' })), 'high-id')
  t.equal(name(router(high, low), req({ path: '/same' })), 'high-id')
})

t.test('disabled services and stream routes are left out', async (t) => {
  const off = { ...svc, id: 'bbbbbbbb-0000-4000-8000-000000000000', enabled: false }
  const r = new Router([
    { ...route({ name: 'off', paths: ['/off'] }), service: { id: off.id } },
    { ...route({ name: 'none', paths: ['/none'] }), service: null },
  ], new Map([[off.id, off as Service]]))
  t.equal(name(r, req({ path: '/off' })), undefined)
  const m = r.match(req({ path: '/none' }))
  t.equal(m?.route.name, 'none', 'a route without a service still matches')
  t.equal(m?.service, null)
})

t.test('ten thousand routes: the right one, by host and by path', async (t) => {
  const routes: Route[] = []
  for (let i = 0; i < 10_000; i++) {
    routes.push(route(i % 2 === 0 ? { name: `p${i}`, paths: [`/svc${i}`] } : { name: `h${i}`, hosts: [`h${i}.test`], paths: ['/'] }))
  }
  const r = router(...routes)
  t.equal(r.size, 10_000)
  t.equal(name(r, req({ path: '/svc4242/x' })), 'p4242')
  t.equal(name(r, req({ path: '/svc42/x' })), 'p42', 'not a longer-numbered sibling')
  t.equal(name(r, req({ host: 'h4243.test', path: '/anything' })), 'h4243')
  t.equal(name(r, req({ path: '/nothing' })), undefined)
})
