// The v0 rows of Kong's spec/fixtures/router_path_handling_tests.lua, as listed in the
// behaviour notes §5.5, run through the same normalize + upstreamPath steps the proxy uses.
import t from 'tap'
import { encodeUpstreamPath, normalizePath, upstreamPath } from '../../../core/router/index.js'
import { toBytes } from '../../../core/router/normalize.js'

type Row = [service: string, route: string | null, strip: boolean | 'both', request: string, expected: string]

const rows: Row[] = [
  ['/', '/', 'both', '/', '/'],
  ['/', '/', 'both', '/route', '/route'],
  ['/', '/', 'both', '/route/', '/route/'],
  ['/', '/', 'both', '/routereq', '/routereq'],
  ['/', '/', 'both', '/route/req', '/route/req'],
  ['/', '/route', false, '/route', '/route'],
  ['/', '/route', false, '/route/', '/route/'],
  ['/', '/route', false, '/routereq', '/routereq'],
  ['/', '/route', true, '/route', '/'],
  ['/', '/route', true, '/route/', '/'],
  ['/', '/route', true, '/routereq', '/req'],
  ['/', '/route/', false, '/route/', '/route/'],
  ['/', '/route/', false, '/route/req', '/route/req'],
  ['/', '/route/', true, '/route/', '/'],
  ['/', '/route/', true, '/route/req', '/req'],
  ['/srv', '/rou', false, '/roureq', '/srv/roureq'],
  ['/srv', '/rou', true, '/roureq', '/srv/req'],
  ['/srv/', '/rou', false, '/rou', '/srv/rou'],
  ['/srv/', '/rou', true, '/rou', '/srv'],
  ['/service', '/', 'both', '/', '/service'],
  ['/service', '/', 'both', '/route', '/service/route'],
  ['/service', '/', 'both', '/route/', '/service/route/'],
  ['/service', '/', 'both', '/routereq', '/service/routereq'],
  ['/service', '/', 'both', '/route/req', '/service/route/req'],
  ['/service', '/route', false, '/route', '/service/route'],
  ['/service', '/route', false, '/route/', '/service/route/'],
  ['/service', '/route', false, '/routereq', '/service/routereq'],
  ['/service', '/route', true, '/route', '/service'],
  ['/service', '/route', true, '/route/', '/service/'],
  ['/service', '/route', true, '/routereq', '/service/req'],
  ['/service', '/route/', false, '/route/', '/service/route/'],
  ['/service', '/route/', false, '/route/req', '/service/route/req'],
  ['/service', '/route/', true, '/route/', '/service/'],
  ['/service', '/route/', true, '/route/req', '/service/req'],
  ['/service/', '/', 'both', '/', '/service/'],
  ['/service/', '/', 'both', '/route', '/service/route'],
  ['/service/', '/', 'both', '/route/', '/service/route/'],
  ['/service/', '/', 'both', '/routereq', '/service/routereq'],
  ['/service/', '/', 'both', '/route/req', '/service/route/req'],
  ['/service/', '/route', false, '/route', '/service/route'],
  ['/service/', '/route', false, '/route/', '/service/route/'],
  ['/service/', '/route', false, '/routereq', '/service/routereq'],
  ['/service/', '/route', true, '/route', '/service'],
  ['/service/', '/route', true, '/route/', '/service/'],
  ['/service/', '/route', true, '/routereq', '/service/req'],
  ['/service/', '/route/', false, '/route/', '/service/route/'],
  ['/service/', '/route/', false, '/route/req', '/service/route/req'],
  ['/service/', '/route/', true, '/route/', '/service/'],
  ['/service/', '/route/', true, '/route/req', '/service/req'],
  ['/', null, 'both', '/', '/'],
  ['/', null, 'both', '/route', '/route'],
  ['/', null, 'both', '/route/', '/route/'],
  ['/service', null, 'both', '/', '/service'],
  ['/service', null, 'both', '/route', '/service/route'],
  ['/service', null, 'both', '/route/', '/service/route/'],
  ['/service/', null, 'both', '/', '/service/'],
  ['/service/', null, 'both', '/route', '/service/route'],
  ['/service/', null, 'both', '/route/', '/service/route/'],
]
for (const base of ['/service', '/service/']) {
  for (const req of ['/route./req', '/route%2E/req', '/route%2e/req', '/route../req', '/route%2E%2E/req', '/route%2e%2E/req']) {
    rows.push([base, '/route', true, req, '/service/req'])
  }
  for (const req of ['/route./req', '/route%2E/req', '/route%2e/req']) rows.push([base, '/route', false, req, '/service/route./req'])
  for (const req of ['/route../req', '/route%2E%2E/req', '/route%2e%2E/req']) rows.push([base, '/route', false, req, '/service/route../req'])
}

function upstream (service: string, route: string | null, strip: boolean, request: string): string {
  const path = normalizePath(request)
  const byPath = route !== null
  const s = strip && byPath
  return encodeUpstreamPath(upstreamPath(service, path, s ? route as string : '/', s))
}

t.test('Kong upstream path table (v0)', async (t) => {
  for (const [service, route, strip, request, expected] of rows) {
    for (const s of strip === 'both' ? [true, false] : [strip]) {
      t.equal(upstream(service, route, s, request), expected, `service ${service}, route ${route ?? '(host)'}, strip ${String(s)}: ${request}`)
    }
  }
})

t.test('normalization and escaping cases from the proxy spec', async (t) => {
  t.equal(upstream('/', '/hello', true, '/h%65llo/anything/a/../b'), '/anything/b')
  t.equal(upstream('/', '/anything/world', false, '/anything/./a/../wor%6cd/a/../b'), '/anything/world/b')
  t.equal(upstream('/', '/anything/world', false, '/anything/world/cat%20and%20dog'), '/anything/world/cat%20and%20dog')
  t.equal(upstream('/', '/x/y/z', true, '/x/y/z/get'), '/get')
  t.equal(normalizePath('/foo//bar'), '/foo/bar')
  t.equal(normalizePath('/foo/./bar'), '/foo/bar')
  t.equal(normalizePath('/foo/a/../bar'), '/foo/bar')
  t.equal(normalizePath('/a%2fb%3F'), '/a%2Fb%3F', 'reserved escapes stay, upper-cased')
  t.equal(normalizePath('/../../x'), '/x', 'no climbing above the root')
  t.equal(encodeUpstreamPath(toBytes('/a b/ü')), '/a%20b/%C3%BC', 'bytes outside the allowed set are escaped')
})
