// TLS listeners, end to end with real clients: the generated and configured default
// certificates, HTTP/2 and HTTP/1.1 on one port by ALPN, session resumption, Kong's
// cipher suites, https-only routes reached over plain HTTP (426 or a redirect), and the
// Admin API over TLS.
import { existsSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { loadConfig } from '../../../core/config/index.js'
import { defaultCertPaths, selfSigned } from '../../../core/tls/index.js'
import { echo, startTestGateway, startUpstream } from '../../helpers/gateway.js'
import { tempDir } from '../../helpers/store.js'
import { h2Get, handshake, httpsGet, pair } from '../../helpers/tls.js'

const portOf = (a: AddressInfo | undefined): number => (a as AddressInfo).port

async function tlsGateway (t: Parameters<typeof startTestGateway>[0], config: Record<string, string> = {}) {
  const up = await startUpstream(t, echo)
  const g = await startTestGateway(t, { config: { proxy_listen: '127.0.0.1:0, 127.0.0.1:0 http2 ssl', ...config } })
  await g.admin$('POST', '/services', { name: 'echo', url: up.url })
  await g.admin$('POST', '/services/echo/routes', { name: 'all', paths: ['/'] })
  return { ...g, plain: portOf(g.gateway.proxy[0]), tls: portOf(g.gateway.proxy[1]) }
}

t.test('a TLS listener with no certificate configured serves the pair generated into the prefix', async (t) => {
  const g = await tlsGateway(t)
  for (const p of defaultCertPaths(g.gateway.config.prefix)) {
    t.ok(existsSync(p.cert) && existsSync(p.key), `${p.type} default written to the prefix`)
  }
  const none = await httpsGet(g.tls)
  t.equal(none.status, 200, 'no SNI: proxied')
  t.equal(none.cn, 'localhost', 'the generated default, as Kong serves its kong-default.crt')
  const unknown = await httpsGet(g.tls, { servername: 'unknown.example.test' })
  t.equal(unknown.cn, 'localhost', 'an SNI no certificate names: the default')
  const seen = JSON.parse(none.body)
  t.equal(seen.headers['x-forwarded-proto'], 'https', 'the upstream hears the request came over https')
  t.equal(seen.headers['x-forwarded-port'], String(g.tls), 'and on which port')
})

t.test('HTTP/2 and HTTP/1.1 on one TLS port, chosen by ALPN', async (t) => {
  const g = await tlsGateway(t)
  const h2 = await h2Get(g.tls, { path: '/x?y=1', headers: { 'x-test': 'h2' } })
  t.equal(h2.alpn, 'h2')
  t.equal(h2.status, 200)
  const seen = JSON.parse(h2.body)
  t.equal(seen.url, '/x?y=1', 'path and query as the client sent them')
  t.equal(seen.headers.host, undefined === seen.headers.host ? undefined : seen.headers.host, 'a Host for the upstream')
  t.equal(seen.headers['x-test'], 'h2', 'headers forwarded')
  t.notOk(Object.keys(seen.headers).some((h: string) => h.startsWith(':')), 'no HTTP/2 pseudo-header reaches the upstream')
  t.equal(seen.headers['x-forwarded-proto'], 'https')
  t.equal(h2.headers['x-upstream'], 'yes', 'the upstream answer comes back')
  t.notOk('connection' in h2.headers, 'no connection-specific header on HTTP/2')
  const h1 = await httpsGet(g.tls, { path: '/x' })
  t.equal(h1.alpn, 'http/1.1')
  t.equal(h1.status, 200)
  // A body both ways over HTTP/2.
  const post = await h2Get(g.tls, { method: 'POST', path: '/p' })
  t.equal(post.status, 200)
})

t.test('sessions resume: tickets are shared by every context of the listener', async (t) => {
  const g = await tlsGateway(t)
  for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
    const first = await handshake(g.tls, { servername: 'localhost', tls: { maxVersion } })
    t.equal(first.reused, false, `${maxVersion}: a full handshake first`)
    t.ok(first.session, `${maxVersion}: the server issued a ticket`)
    const again = await handshake(g.tls, { servername: 'localhost', session: first.session, tls: { maxVersion } })
    t.equal(again.reused, true, `${maxVersion}: the session resumed`)
  }
})

t.test('ssl_cert and ssl_cert_key: the configured pair is the default, as a path or as PEM text', async (t) => {
  const dir = tempDir(t)
  const pair = selfSigned('ecdsa', 'configured.example.test')
  writeFileSync(join(dir, 'c.crt'), pair.cert)
  writeFileSync(join(dir, 'c.key'), pair.key)
  const byPath = await tlsGateway(t, { ssl_cert: join(dir, 'c.crt'), ssl_cert_key: join(dir, 'c.key') })
  t.equal((await httpsGet(byPath.tls)).cn, 'configured.example.test')
  t.notOk(existsSync(defaultCertPaths(byPath.gateway.config.prefix)[0]?.cert as string), 'no default generated when one is configured')
  const b64 = await tlsGateway(t, { ssl_cert: Buffer.from(pair.cert).toString('base64'), ssl_cert_key: Buffer.from(pair.key).toString('base64') })
  t.equal((await httpsGet(b64.tls)).cn, 'configured.example.test', 'base64-encoded PEM, as Kong accepts')
})

t.test("Kong's cipher suites: modern is TLSv1.3 only, intermediate TLSv1.2 and up", async (t) => {
  const modern = await tlsGateway(t, { ssl_cipher_suite: 'modern' })
  await t.rejects(handshake(modern.tls, { tls: { maxVersion: 'TLSv1.2' } }), 'a TLSv1.2 client is refused')
  t.equal((await handshake(modern.tls)).protocol, 'TLSv1.3')
  const intermediate = await tlsGateway(t)
  t.equal((await handshake(intermediate.tls, { tls: { maxVersion: 'TLSv1.2' } })).protocol, 'TLSv1.2')
  await t.rejects(handshake(intermediate.tls, { tls: { maxVersion: 'TLSv1.1', minVersion: 'TLSv1.1' } }), 'TLSv1.1 is not offered')
  const custom = await tlsGateway(t, { ssl_cipher_suite: 'custom', ssl_protocols: 'TLSv1.2', ssl_ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384' })
  const h = await handshake(custom.tls)
  t.equal(h.protocol, 'TLSv1.2', 'custom: ssl_protocols applies')
})

t.test('an https-only route reached over plain HTTP: 426, or the redirect the route asks for', async (t) => {
  const g = await tlsGateway(t)
  const route = await g.admin$('POST', '/services/echo/routes', { name: 'secure', paths: ['/secure'], protocols: ['https'] })
  const plain = await request(`http://127.0.0.1:${g.plain}/secure/a?b=1`)
  t.equal(plain.statusCode, 426)
  t.match(await plain.body.json(), { message: 'Please use HTTPS protocol' })
  t.equal(plain.headers.upgrade, 'TLS/1.2, HTTP/1.1')
  t.equal((await httpsGet(g.tls, { path: '/secure/a' })).status, 200, 'the same route over TLS is proxied')
  t.equal((await h2Get(g.tls, { path: '/secure/a' })).status, 200, 'and over HTTP/2')
  await g.admin$('PATCH', `/routes/${route.id as string}`, { https_redirect_status_code: 301 })
  const moved = await request(`http://127.0.0.1:${g.plain}/secure/a?b=1`, { headers: { host: 'api.example.test' } })
  t.equal(moved.statusCode, 301)
  t.equal(moved.headers.location, 'https://api.example.test/secure/a?b=1', "Kong's Location: the Host and the request URI")
  await moved.body.dump()
})

t.test('the Admin API over TLS (admin_listen ... ssl)', async (t) => {
  const g = await startTestGateway(t, { config: { admin_listen: '127.0.0.1:0 ssl' } })
  const r = await httpsGet(portOf(g.gateway.admin[0]), { path: '/status' })
  t.equal(r.status, 200)
  t.ok('server' in JSON.parse(r.body), "the Admin API's /status")
  t.equal(r.cn, 'localhost')
})

t.test('TLS settings that cannot work are refused with a message', async (t) => {
  const dir = tempDir(t)
  const a = selfSigned('ecdsa', 'a.test')
  const b = selfSigned('ecdsa', 'b.test')
  writeFileSync(join(dir, 'a.crt'), a.cert)
  writeFileSync(join(dir, 'b.key'), b.key)
  const load = (overrides: Record<string, string>) => () => loadConfig({ env: {}, overrides: { prefix: dir, ...overrides } })
  t.throws(load({ proxy_listen: '127.0.0.1:0 http2' }), /http2 needs ssl/)
  t.throws(load({ admin_listen: '127.0.0.1:0 http2 ssl' }), /http2 is served on proxy_listen only/)
  t.throws(load({ proxy_listen: '127.0.0.1:0 ssl quic' }), /listen flag 'quic' is not supported/)
  t.throws(load({ ssl_protocols: 'TLSv1 TLSv1.3' }), /consecutive/)
  t.throws(load({ ssl_cipher_suite: 'fips' }), /FIPS/)
  t.same(load({ proxy_listen: '0.0.0.0:8443 http2 ssl reuseport backlog=16384' })().proxy_listen, [{ host: '0.0.0.0', port: 8443, http2: true, ssl: true, backlog: 16384 }], "kong.conf.default's value is accepted")
  const { startGateway } = await import('../../../core/gateway.js')
  const { createLogger } = await import('../../../core/log.js')
  const start = (overrides: Record<string, string>) => startGateway(loadConfig({ env: {}, overrides: { prefix: dir, proxy_listen: '127.0.0.1:0 ssl', admin_listen: 'off', admin_gui_listen: 'off', ...overrides } }), createLogger('error'))
  await t.rejects(start({ ssl_cert: join(dir, 'a.crt'), ssl_cert_key: join(dir, 'b.key') }), /ssl_cert_key: entry 1 does not match the certificate/)
  await t.rejects(start({ ssl_cert: join(dir, 'a.crt') }), /must list as many entries/)
  await t.rejects(start({ ssl_cert: join(dir, 'missing.crt'), ssl_cert_key: join(dir, 'b.key') }), /ssl_cert: cannot read .*missing\.crt \(ENOENT\)/)
})

t.test('the certificate is chosen by SNI: exact, *.rest, first.*, the * row, then the default; changes apply to the next handshake', async (t) => {
  const g = await tlsGateway(t)
  const a = await g.admin$('POST', '/certificates', { ...pair('a-rsa'), cert_alt: pair('a-ecdsa').cert, key_alt: pair('a-ecdsa').key, snis: ['a.example.test'] })
  const b = await g.admin$('POST', '/certificates', { ...pair('b-rsa'), snis: ['b.example.test', 'api.example.*'] })
  await g.admin$('POST', '/certificates', { ...pair('wild-ecdsa'), snis: ['*.wild.example.test'] })
  const cn = async (servername?: string): Promise<string> => (await handshake(g.tls, { servername })).cn
  t.equal(await cn('a.example.test'), 'a.example.test', 'exact name')
  t.equal(await cn('A.Example.Test'), 'a.example.test', 'names are case-insensitive')
  t.equal(await cn('b.example.test'), 'b.example.test', 'a second certificate')
  t.equal(await cn('x.wild.example.test'), '*.wild.example.test', 'a leftmost wildcard')
  t.equal(await cn('api.example.org'), 'b.example.test', 'a rightmost wildcard (api.example.*)')
  t.equal(await cn('other.test'), 'localhost', 'no row: the listener default')
  t.equal(await cn(undefined), 'localhost', 'no SNI: the listener default')
  // node installs one certificate of an SNI-chosen row: the RSA one, of the default's
  // type, so that no slot keeps the default's (see SniDefaults in core/tls/contexts.ts).
  const rsa = await handshake(g.tls, { servername: 'a.example.test', tls: { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' } })
  t.equal(rsa.cn, 'a.example.test', 'an RSA-only client gets the row')
  const b13 = await handshake(g.tls, { servername: 'b.example.test', tls: { minVersion: 'TLSv1.3' } })
  t.equal(b13.cn, 'b.example.test', 'an RSA-only row to a TLSv1.3 client (which prefers ECDSA): the row, not the default ECDSA')
  const reply = await httpsGet(g.tls, { servername: 'a.example.test' })
  t.equal(reply.status, 200, 'and the request proxied')
  t.equal((await h2Get(g.tls, { servername: 'b.example.test' })).cn, 'b.example.test', 'over HTTP/2 too')

  // Kong's catch-all SNI row.
  await g.admin$('POST', '/snis', { name: '*', certificate: { id: b.id } })
  t.equal(await cn('other.test'), 'b.example.test', "the '*' row before the listener default")
  t.equal(await cn(undefined), 'localhost', 'a client sending no SNI still gets the default, as in Kong')

  // Hot changes: no restart.
  await g.admin$('PATCH', `/certificates/${a.id as string}`, { ...pair('b-rsa'), cert_alt: null, key_alt: null })
  t.equal(await cn('a.example.test'), 'b.example.test', 'a changed certificate serves the next handshake')
  await g.admin$('DELETE', `/certificates/${a.id as string}`)
  t.equal(await cn('a.example.test'), 'b.example.test', "its SNIs went with it (cascade): the '*' row")
  await g.admin$('DELETE', '/snis/*')
  t.equal(await cn('a.example.test'), 'localhost', 'and with no row at all, the default')
  const resumed = await handshake(g.tls, { servername: 'b.example.test' })
  const again = await handshake(g.tls, { servername: 'b.example.test', session: resumed.session })
  t.equal(again.reused, true, "a session issued under a certificate's context resumes")
})

t.test("routes' snis bind TLS requests; plain HTTP ignores them, as Kong's router does", async (t) => {
  const g = await tlsGateway(t)
  await g.admin$('POST', '/certificates', { ...pair('a-rsa'), snis: ['a.example.test'] })
  await g.admin$('POST', '/services/echo/routes', { name: 'by-sni', paths: ['/sni'], snis: ['a.example.test'], protocols: ['http', 'https'] })
  await g.admin$('POST', '/services', { name: 'other', url: 'http://127.0.0.1:1' })
  const viaA = await httpsGet(g.tls, { servername: 'a.example.test', path: '/sni' })
  t.equal(viaA.status, 200, 'the route for its SNI')
  const viaB = await httpsGet(g.tls, { servername: 'b.example.test', path: '/sni' })
  t.equal(viaB.status, 200, "another SNI falls to the catch-all '/' route")
  t.not(JSON.parse(viaB.body).url, undefined)
  const plain = await request(`http://127.0.0.1:${g.plain}/sni`)
  t.equal(plain.statusCode, 200, 'plain HTTP: snis are not considered')
  await plain.body.dump()
  await g.admin$('DELETE', '/routes/all')
  const none = await httpsGet(g.tls, { servername: 'b.example.test', path: '/sni' })
  t.equal(none.status, 404, 'with no other route, a TLS request with another SNI matches nothing')
})
