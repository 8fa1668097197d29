// The value consistent-hashing hashes, per hash_on source, with fallbacks and the cookie.
import t from 'tap'
import { compileHashValue, hashValue, type HashRequest } from '../../../core/balancer/index.js'

const req: HashRequest = {
  headers: { 'x-user': 'u-1', 'x-multi': ['b', 'a'], cookie: 'theme=dark; Sticky=abc-123; other=1' },
  clientIp: '192.0.2.7',
  consumerId: 'c-uuid',
  credentialId: 'cred-uuid',
  path: '/orders/42',
  query: { a: '1', flag: true, many: ['z', 'x', true], empty: '' },
  uriCaptures: { id: '42' },
}

t.test('each source', async (t) => {
  const v = (s: object, r: HashRequest = req): string => hashValue(s, r).value
  t.equal(v({ hash_on: 'none' }), '')
  t.equal(v({}), '', 'no settings: none')
  t.equal(v({ hash_on: 'consumer' }), 'c-uuid')
  t.equal(v({ hash_on: 'consumer' }, { ...req, consumerId: undefined }), 'cred-uuid', 'no consumer: the credential')
  t.equal(v({ hash_on: 'ip' }), '192.0.2.7')
  t.equal(v({ hash_on: 'header', hash_on_header: 'X-User' }), 'u-1', 'names compare without case')
  t.equal(v({ hash_on: 'header', hash_on_header: 'x_user' }), 'u-1', '_ stands for -, as in get_headers()')
  t.equal(v({ hash_on: 'header', hash_on_header: 'x-multi' }), 'ba', 'repeated: concatenated in order (Kong 3.2)')
  t.equal(v({ hash_on: 'cookie', hash_on_cookie: 'sticky' }), 'abc-123', 'cookie names compare without case, as nginx')
  t.equal(v({ hash_on: 'path' }), '/orders/42')
  t.equal(v({ hash_on: 'query_arg', hash_on_query_arg: 'a' }), '1')
  t.equal(v({ hash_on: 'query_arg', hash_on_query_arg: 'flag' }), 'true', 'a bare argument is "true"')
  t.equal(v({ hash_on: 'query_arg', hash_on_query_arg: 'many' }), 'true,x,z', 'repeated: sorted, joined by ","')
  t.equal(v({ hash_on: 'query_arg', hash_on_query_arg: 'empty' }), '', 'an empty value is a value')
  t.equal(v({ hash_on: 'uri_capture', hash_on_uri_capture: 'id' }), '42')
  t.equal(v({ hash_on: 'uri_capture', hash_on_uri_capture: 'id' }, { ...req, uriCaptures: undefined }), '', 'no regex route: nothing')
  t.equal(hashValue({ hash_on: 'ip' }, req).setCookie, undefined)
})

t.test('hash_fallback when hash_on gives nothing; \'\' when neither does', async (t) => {
  const anon = { ...req, consumerId: undefined, credentialId: undefined }
  t.equal(hashValue({ hash_on: 'consumer', hash_fallback: 'ip' }, anon).value, '192.0.2.7')
  t.equal(hashValue({ hash_on: 'consumer', hash_fallback: 'ip' }, req).value, 'c-uuid', 'first one found wins')
  t.equal(hashValue({ hash_on: 'header', hash_on_header: 'x-none', hash_fallback: 'header', hash_fallback_header: 'x-user' }, req).value, 'u-1')
  t.equal(hashValue({ hash_on: 'query_arg', hash_on_query_arg: 'nope', hash_fallback: 'query_arg', hash_fallback_query_arg: 'a' }, req).value, '1')
  t.equal(hashValue({ hash_on: 'uri_capture', hash_on_uri_capture: 'nope', hash_fallback: 'uri_capture', hash_fallback_uri_capture: 'id' }, req).value, '42')
  t.equal(hashValue({ hash_on: 'header', hash_on_header: 'x-none', hash_fallback: 'none' }, req).value, '')
  t.equal(hashValue({ hash_on: 'consumer', hash_fallback: 'consumer' }, anon).value, '', 'nothing anywhere')
  t.equal(hashValue({ hash_on: 'consumer', hash_fallback: 'cookie' }, anon).value, '', 'cookie is not a fallback')
  t.equal(hashValue({ hash_on: 'header', hash_on_header: 'x-user', hash_fallback: 'bogus' }, { ...req, headers: {} }).value, '')
})

t.test('cookie: the value when sent, else a new uuid and the Set-Cookie to answer with', async (t) => {
  const f = compileHashValue({ hash_on: 'cookie', hash_on_cookie: 'sticky', hash_on_cookie_path: '/app' })
  t.same(f(req), { value: 'abc-123', setCookie: undefined })
  const noCookie = { ...req, headers: { cookie: ['a=1', 'b=2; junk'] } }
  const first = f(noCookie)
  t.match(first.value, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  t.equal(first.setCookie, `sticky=${first.value}; Path=/app; Same-Site=Lax; HttpOnly`)
  t.not(f(noCookie).value, first.value, 'a new one each time')
  t.equal(f({ ...req, headers: { cookie: ['a=1', 'sticky=second'] } }).value, 'second', 'several Cookie headers')
  t.equal(f({ ...req, headers: { cookie: 'sticky=' } }).value, '', 'an empty cookie is a value')
  t.equal(compileHashValue({ hash_on: 'cookie', hash_on_cookie: 'c' })({ ...req, headers: {} }).setCookie?.includes('Path=/;'), true, 'path defaults to /')
})

t.test('only the configured fields are read', async (t) => {
  let reads = 0
  const lazy = {
    headers: {},
    clientIp: '::1',
    path: '/',
    get query () { reads++; return {} },
  }
  t.equal(hashValue({ hash_on: 'ip' }, lazy).value, '::1')
  t.equal(reads, 0)
})
