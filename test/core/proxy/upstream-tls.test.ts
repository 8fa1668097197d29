// Upstream TLS (issue #21), as Kong 3.2 does it: the services entity's tls_verify,
// tls_verify_depth, ca_certificates and client_certificate, the upstream's
// client_certificate, and kong.service.setTls*. Kong's own spec is
// spec/02-integration/05-proxy/18-upstream_tls_spec.lua; the upstreams here are real node
// https servers with the certificates in test/fixtures/tls.
import t from 'tap'
import { connect, type AddressInfo } from 'node:net'
import { createServer as createHttpsServer } from 'node:https'
import { request } from 'undici'
import { definePlugin, Type } from '@tollgate/sdk'
import type { Service } from '../../../core/store/index.js'
import type { Peer } from '../../../core/proxy/peers.js'
import { UpstreamPools } from '../../../core/proxy/upstream-pools.js'
import { UPSTREAM_TLS, UpstreamTls, serverName } from '../../../core/proxy/upstream-tls.js'
import { memoryLogger, startTestGateway, until } from '../../helpers/gateway.js'
import { pem, startTlsUpstream, type TlsEcho } from '../../helpers/tls-upstream.js'

const CA = pem('ca-cert')
const LEAF = { cert: pem('leaf-cert'), key: pem('leaf-key') }
const DEEP = { cert: pem('chain/deep-cert') + pem('chain/inter-cert'), key: pem('chain/deep-key') }
const CLIENT = { cert: pem('client-cert'), key: pem('client-key') }
const INVALID = 'An invalid response was received from the upstream server'

t.test('the connection layer: profiles and pools, with certificate rows from a fake store', async (t) => {
  const rows: Record<string, Record<string, Record<string, unknown>>> = {
    ca_certificates: { 'ca-1': { cert: CA } },
    certificates: { 'cert-1': { cert: CLIENT.cert, key: CLIENT.key } },
  }
  const tls = new UpstreamTls({ get: (entity, id) => rows[entity]?.[id] })
  const pools = new UpstreamPools()
  t.teardown(() => pools.close())
  const service = (fields: Partial<Service>): Service => ({ id: 'svc', protocol: 'https', host: 'localhost', port: 443, connect_timeout: 5000, tls_verify: null, tls_verify_depth: null, ca_certificates: null, client_certificate: null, ...fields }) as Service
  const get = async (port: number, s: Service, host = 'localhost'): Promise<{ status: number, echo?: TlsEcho, code?: string, message?: string }> => {
    const peer: Peer = { protocol: 'https', host: '127.0.0.1', port, hostHeader: undefined }
    const profile = tls.profile(s, undefined, undefined)
    try {
      const res = await pools.pool(peer, s, profile, serverName(host)).request({ method: 'GET', path: '/', headers: { host } })
      return { status: res.statusCode, echo: await res.body.json() as TlsEcho }
    } catch (err) {
      return { status: 0, code: (err as NodeJS.ErrnoException).code, message: (err as Error).message }
    }
  }

  const leaf = await startTlsUpstream(t, LEAF)
  const deep = await startTlsUpstream(t, DEEP)
  const mtls = await startTlsUpstream(t, { ...LEAF, clientCa: CA })

  t.test('verification against the service\'s CA rows', async (t) => {
    const r = await get(leaf.port, service({ tls_verify: true, ca_certificates: ['ca-1'] }))
    t.equal(r.status, 200)
    t.equal(r.echo?.servername, 'localhost', 'the SNI is the Host without its port')
  })

  t.test('with no ca_certificates nothing is trusted (Kong 3.2 docs)', async (t) => {
    const r = await get(leaf.port, service({ tls_verify: true }))
    t.equal(r.code, UPSTREAM_TLS)
    t.match(r.message, /unable to verify the first certificate/)
  })

  t.test('a missing CA row trusts nothing', async (t) => {
    const r = await get(leaf.port, service({ tls_verify: true, ca_certificates: ['gone'] }))
    t.equal(r.code, UPSTREAM_TLS)
  })

  t.test('the name is checked against the Host sent', async (t) => {
    const s = service({ tls_verify: true, ca_certificates: ['ca-1'] })
    t.equal((await get(leaf.port, s, 'leaf.example.test')).status, 200, 'a name in the certificate')
    const r = await get(leaf.port, s, 'other.example.test')
    t.equal(r.code, UPSTREAM_TLS)
    t.match(r.message, /does not match certificate's altnames/)
    t.equal((await get(leaf.port, service({ tls_verify: false }), 'other.example.test')).status, 200, 'not without tls_verify')
  })

  t.test('tls_verify_depth: intermediates between the upstream\'s certificate and the trusted CA', async (t) => {
    const at = (depth: number | null): Service => service({ tls_verify: true, ca_certificates: ['ca-1'], tls_verify_depth: depth })
    const zero = await get(deep.port, at(0))
    t.equal(zero.code, UPSTREAM_TLS, 'depth 0: one intermediate is too many')
    t.match(zero.message, /certificate chain too long/)
    t.equal((await get(deep.port, at(1))).status, 200, 'depth 1 allows one')
    t.equal((await get(deep.port, at(null))).status, 200, 'unset: nginx\'s default, 1')
    t.equal((await get(leaf.port, at(0))).status, 200, 'depth 0 allows a certificate the CA signed itself')
  })

  t.test('client certificate', async (t) => {
    const without = await get(mtls.port, service({}))
    t.equal(without.status, 0, 'refused without one')
    const s = service({ client_certificate: { id: 'cert-1' } })
    const r = await get(mtls.port, s)
    t.equal(r.status, 200)
    t.equal(r.echo?.client, 'client.example.test', 'the upstream saw the certificate row\'s')
  })

  t.test('pools by TLS settings and server name', async (t) => {
    const a = service({ tls_verify: true, ca_certificates: ['ca-1'] })
    const b = service({ tls_verify: false })
    const peer: Peer = { protocol: 'https', host: '127.0.0.1', port: leaf.port, hostHeader: undefined }
    const pa = pools.pool(peer, a, tls.profile(a, undefined, undefined), 'localhost')
    const pb = pools.pool(peer, b, tls.profile(b, undefined, undefined), 'localhost')
    t.not(pa, pb, 'another verification, another pool')
    t.not(pools.pool(peer, a, tls.profile(a, undefined, undefined), 'leaf.example.test'), pa, 'another SNI, another pool')
    t.equal(pools.pool(peer, a, tls.profile(a, undefined, undefined), 'localhost'), pa, 'the same settings, the same pool')
    const a2 = service({ tls_verify: true, ca_certificates: ['ca-1'] })
    t.equal(pools.pool(peer, a2, tls.profile(a2, undefined, undefined), 'localhost'), pa, 'another service with equal settings shares it')
    const withCert = service({ client_certificate: { id: 'cert-1' } })
    t.not(pools.pool(peer, withCert, tls.profile(withCert, undefined, undefined), 'localhost'), pb, 'a client certificate, another pool')
  })

  t.test('a changed row is used once the profiles are made again', async (t) => {
    const s = service({ tls_verify: true, ca_certificates: ['ca-1'] })
    const before = tls.profile(s, undefined, undefined)
    rows.ca_certificates!['ca-1'] = { cert: pem('ca2-cert') }
    t.equal(tls.profile(s, undefined, undefined), before, 'kept until a write')
    tls.clear()
    const after = tls.profile(s, undefined, undefined)
    t.not(after.key, before.key, 'a new key for the new content')
    t.equal((await get(leaf.port, s)).code, UPSTREAM_TLS, 'the new CA does not trust the upstream')
    rows.ca_certificates!['ca-1'] = { cert: CA }
    tls.clear()
    t.equal(tls.profile(s, undefined, undefined).key, before.key, 'the same content, the same key')
  })

  t.test('overrides (kong.service.setTls*) replace the service\'s settings', async (t) => {
    const s = service({})
    const base = tls.profile(s, undefined, undefined)
    const verified = tls.profile(s, undefined, { verify: true, store: [CA], depth: 0 })
    t.ok(verified.verify)
    t.equal(verified.depth, 0)
    t.not(verified.key, base.key)
    t.equal(tls.profile(s, undefined, { verify: true, store: [CA], depth: 0 }), verified, 'the same overrides, the same profile object')
    const cert = tls.profile(s, undefined, { cert: { chain: CLIENT.cert, key: CLIENT.key } })
    t.same(cert.cert, [CLIENT.cert])
  })

  t.test('the upstream\'s client certificate when the service has none', async (t) => {
    t.same(tls.profile(service({}), 'cert-1', undefined).cert, [CLIENT.cert])
    rows.certificates!['cert-2'] = { cert: LEAF.cert, key: LEAF.key }
    t.same(tls.profile(service({ client_certificate: { id: 'cert-2' } }), 'cert-1', undefined).cert, [LEAF.cert], 'the service\'s wins')
  })
})

t.test('through the gateway, without certificate rows', async (t) => {
  const { log, lines } = memoryLogger('error')
  const gw = await startTestGateway(t, { log })
  const leaf = await startTlsUpstream(t, LEAF)
  const proxy = async (path: string): Promise<{ status: number, body: any }> => {
    const res = await request(`${gw.proxy}${path}`, { headers: { accept: 'application/json' } })
    return { status: res.statusCode, body: await res.body.json() }
  }
  const route = async (name: string, fields: Record<string, unknown>): Promise<void> => {
    await gw.admin$('POST', '/services', { name, url: `https://localhost:${leaf.port}`, retries: 0, ...fields })
    await gw.admin$('POST', `/services/${name}/routes`, { paths: [`/${name}`] })
  }
  await route('unset', {})
  await route('off', { tls_verify: false })
  await route('on', { tls_verify: true })

  t.test('tls_verify unset: not verified (Kong\'s default)', async (t) => {
    const r = await proxy('/unset')
    t.equal(r.status, 200)
    t.equal(r.body.servername, 'localhost', 'SNI: the service host')
    t.equal(r.body.host, `localhost:${leaf.port}`)
  })

  t.test('tls_verify false: not verified', async (t) => {
    t.equal((await proxy('/off')).status, 200)
  })

  t.test('tls_verify true, no ca_certificates: a private CA is not trusted, 502, logged', async (t) => {
    const r = await proxy('/on')
    t.equal(r.status, 502)
    t.equal(r.body.message, INVALID, 'Kong\'s message (and the request id)')
    await until(() => lines.some((l) => /upstream TLS handshake failed: unable to verify the first certificate/.test(l.msg)), 'the log line')
    const line = lines.find((l) => /upstream TLS handshake failed/.test(l.msg))
    t.equal(line?.upstream, `localhost:${leaf.port}`)
  })

  t.test('the two services share no connection', async (t) => {
    for (let i = 0; i < 3; i++) {
      t.equal((await proxy('/off')).status, 200)
      t.equal((await proxy('/on')).status, 502)
    }
  })
  t.ok((gw.gateway.proxy[0] as AddressInfo).port > 0)
})

// A plugin choosing the TLS settings of its request (kong.service.setTls*).
const tlsChooser = definePlugin({
  name: 'tls-chooser',
  version: '1.0.0',
  priority: 1,
  schema: Type.Object({
    verify: Type.Optional(Type.Boolean()),
    depth: Type.Optional(Type.Integer()),
    ca: Type.Optional(Type.String()),
    cert: Type.Optional(Type.String()),
    key: Type.Optional(Type.String()),
  }),
  access (kong, conf) {
    // Unset fields come as null, as Kong fills a config.
    if (conf.verify != null) kong.service.setTlsVerify(conf.verify)
    if (conf.depth != null) kong.service.setTlsVerifyDepth(conf.depth)
    if (conf.ca != null) kong.service.setTlsVerifyStore(conf.ca)
    if (conf.cert != null && conf.key != null) kong.service.setTlsCertKey(conf.cert, conf.key)
  },
})

t.test('kong.service.setTls*: one request\'s settings', async (t) => {
  const gw = await startTestGateway(t, { plugins: [tlsChooser] })
  const deep = await startTlsUpstream(t, DEEP)
  const mtls = await startTlsUpstream(t, { ...LEAF, clientCa: CA })
  const get = async (path: string): Promise<{ status: number, body: any }> => {
    const res = await request(`${gw.proxy}${path}`, { headers: { accept: 'application/json' } })
    return { status: res.statusCode, body: await res.body.json() }
  }
  const route = async (name: string, port: number, conf: Record<string, unknown>): Promise<void> => {
    await gw.admin$('POST', '/services', { name, url: `https://localhost:${port}`, retries: 0 })
    await gw.admin$('POST', `/services/${name}/routes`, { paths: [`/${name}`] })
    await gw.admin$('POST', `/services/${name}/plugins`, { name: 'tls-chooser', config: conf })
  }
  await route('verify-default-roots', deep.port, { verify: true })
  await route('verify-ca', deep.port, { verify: true, ca: CA })
  await route('verify-ca-depth-0', deep.port, { verify: true, ca: CA, depth: 0 })
  await route('no-cert', mtls.port, {})
  await route('cert', mtls.port, { cert: CLIENT.cert, key: CLIENT.key })

  t.equal((await get('/verify-default-roots')).status, 502, 'no ca_certificates: no CA trusted, 502')
  t.equal((await get('/verify-ca')).status, 200, 'against the store the plugin set')
  t.equal((await get('/verify-ca-depth-0')).status, 502, 'with a depth too small for the chain')
  t.equal((await get('/no-cert')).status, 502, 'mTLS upstream, no client certificate')
  const r = await get('/cert')
  t.equal(r.status, 200, 'the plugin\'s client certificate')
  t.equal(r.body.client, 'client.example.test')
})

t.test('through the gateway, with certificate and CA certificate rows', async (t) => {
  const { log, lines } = memoryLogger('error')
  const gw = await startTestGateway(t, { log })
  const leaf = await startTlsUpstream(t, LEAF)
  const deep = await startTlsUpstream(t, DEEP)
  const mtls = await startTlsUpstream(t, { ...LEAF, clientCa: CA })
  const untrusted = await startTlsUpstream(t, { cert: pem('a-rsa-cert'), key: pem('a-rsa-key') })
  const ca = await gw.admin$('POST', '/ca_certificates', { cert: CA })
  const client = await gw.admin$('POST', '/certificates', CLIENT)
  const other = await gw.admin$('POST', '/certificates', { cert: pem('a-rsa-cert'), key: pem('a-rsa-key') })
  const get = async (path: string, headers: Record<string, string> = {}): Promise<{ status: number, body: any }> => {
    const res = await request(`${gw.proxy}${path}`, { headers: { accept: 'application/json', ...headers } })
    return { status: res.statusCode, body: await res.body.json() }
  }
  const route = async (name: string, fields: Record<string, unknown>, routeFields: Record<string, unknown> = {}): Promise<void> => {
    await gw.admin$('POST', '/services', { name, retries: 0, ...fields })
    await gw.admin$('POST', `/services/${name}/routes`, { paths: [`/${name}`], ...routeFields })
  }

  t.test('tls_verify with the service\'s CA: 200', async (t) => {
    await route('ca', { url: `https://localhost:${leaf.port}`, tls_verify: true, ca_certificates: [ca.id] })
    const r = await get('/ca')
    t.equal(r.status, 200)
    t.equal(r.body.servername, 'localhost')
  })

  t.test('the name verified is the Host sent: preserve_host', async (t) => {
    await route('preserve', { url: `https://localhost:${leaf.port}`, tls_verify: true, ca_certificates: [ca.id] }, { preserve_host: true })
    const ok = await get('/preserve', { host: 'leaf.example.test' })
    t.equal(ok.status, 200, 'a name the certificate has')
    t.equal(ok.body.servername, 'leaf.example.test', 'sent as the SNI')
    const bad = await get('/preserve', { host: 'elsewhere.example.test' })
    t.equal(bad.status, 502, 'a name it has not')
    t.equal(bad.body.message, INVALID)
    await until(() => lines.some((l) => /altnames/.test(l.msg)), 'the reason logged')
  })

  t.test('the name verified is the Host sent: an upstream\'s host_header', async (t) => {
    await gw.admin$('POST', '/upstreams', { name: 'named', host_header: 'leaf.example.test' })
    await gw.admin$('POST', '/upstreams/named/targets', { target: `127.0.0.1:${leaf.port}` })
    await route('named', { protocol: 'https', host: 'named', tls_verify: true, ca_certificates: [ca.id] })
    const r = await get('/named')
    t.equal(r.status, 200)
    t.equal(r.body.servername, 'leaf.example.test')
    await gw.admin$('PATCH', '/upstreams/named', { host_header: 'nope.example.test' })
    t.equal((await get('/named')).status, 502, 'a host_header the certificate does not name')
  })

  t.test('tls_verify_depth', async (t) => {
    await route('deep', { url: `https://localhost:${deep.port}`, tls_verify: true, ca_certificates: [ca.id], tls_verify_depth: 0 })
    t.equal((await get('/deep')).status, 502, 'depth 0, one intermediate: refused')
    await until(() => lines.some((l) => /certificate chain too long/.test(l.msg)), 'the reason logged')
    await gw.admin$('PATCH', '/services/deep', { tls_verify_depth: 1 })
    t.equal((await get('/deep')).status, 200, 'depth 1: allowed')
    await gw.admin$('PATCH', '/services/deep', { tls_verify_depth: null })
    t.equal((await get('/deep')).status, 200, 'unset: nginx\'s default, 1')
  })

  t.test('client_certificate: the service\'s, changed through the Admin API', async (t) => {
    await route('mtls', { url: `https://localhost:${mtls.port}` })
    t.equal((await get('/mtls')).status, 502, 'none: the upstream refuses the handshake')
    await gw.admin$('PATCH', '/services/mtls', { client_certificate: { id: client.id } })
    const r = await get('/mtls')
    t.equal(r.status, 200, 'the client certificate row')
    t.equal(r.body.client, 'client.example.test', 'the upstream saw its subject')
    await gw.admin$('PATCH', '/services/mtls', { client_certificate: { id: other.id } })
    t.equal((await get('/mtls')).status, 502, 'another, which the upstream does not trust: refused on the next request')
    await gw.admin$('PATCH', `/certificates/${other.id}`, CLIENT)
    t.equal((await get('/mtls')).status, 200, 'the same row, its certificate replaced')
    await gw.admin$('PATCH', '/services/mtls', { client_certificate: null })
    t.equal((await get('/mtls')).status, 502, 'removed')
  })

  t.test('client_certificate: the upstream\'s, unless the service has one', async (t) => {
    await gw.admin$('POST', '/upstreams', { name: 'mtls-up', client_certificate: { id: client.id } })
    await gw.admin$('POST', '/upstreams/mtls-up/targets', { target: `127.0.0.1:${mtls.port}` })
    await route('mtls-up', { protocol: 'https', host: 'mtls-up' })
    const r = await get('/mtls-up')
    t.equal(r.status, 200)
    t.equal(r.body.client, 'client.example.test')
    const bad = await gw.admin$('POST', '/certificates', { cert: pem('b-rsa-cert'), key: pem('b-rsa-key') })
    await gw.admin$('PATCH', '/services/mtls-up', { client_certificate: { id: bad.id } })
    t.equal((await get('/mtls-up')).status, 502, 'the service\'s (untrusted) wins')
  })

  t.test('a verification failure is a failed attempt: retried on another target, passive health evidence', async (t) => {
    await gw.admin$('POST', '/upstreams', {
      name: 'mixed',
      healthchecks: { passive: { unhealthy: { tcp_failures: 1 } } },
    })
    const bad = await gw.admin$('POST', '/upstreams/mixed/targets', { target: `127.0.0.1:${untrusted.port}` })
    await gw.admin$('POST', '/upstreams/mixed/targets', { target: `127.0.0.1:${leaf.port}` })
    await route('mixed', { protocol: 'https', host: 'mixed', retries: 1, tls_verify: true, ca_certificates: [ca.id] })
    for (let i = 0; i < 4; i++) t.equal((await get('/mixed')).status, 200, `request ${i}: retried past the untrusted target`)
    const health = await gw.admin$('GET', '/upstreams/mixed/health')
    const state = health.data.find((d: any) => d.id === bad.id)
    t.equal(state?.health, 'UNHEALTHY', 'the untrusted target counted a TCP failure')
  })

  // Last: it changes the CA row the other services trust.
  t.test('a CA certificate row changed through the Admin API', async (t) => {
    t.equal((await get('/ca')).status, 200)
    await gw.admin$('PATCH', `/ca_certificates/${ca.id}`, { cert: pem('ca2-cert') })
    t.equal((await get('/ca')).status, 502, 'no longer trusted from the next request')
    await gw.admin$('PATCH', `/ca_certificates/${ca.id}`, { cert: CA })
    t.equal((await get('/ca')).status, 200, 'trusted again')
  })
})

t.test('active https probes present the upstream\'s client_certificate (Kong\'s healthcheckers.lua)', async (t) => {
  const gw = await startTestGateway(t)
  const mtls = await startTlsUpstream(t, { ...LEAF, clientCa: CA })
  const client = await gw.admin$('POST', '/certificates', CLIENT)
  const active = {
    type: 'https',
    https_verify_certificate: false,
    http_path: '/',
    healthy: { interval: 0.1, successes: 1 },
    unhealthy: { interval: 0.1, tcp_failures: 1, http_failures: 1 },
  }
  const health = async (name: string): Promise<string | undefined> => (await gw.admin$('GET', `/upstreams/${name}/health`)).data[0]?.health
  await gw.admin$('POST', '/upstreams', { name: 'probed-with', client_certificate: { id: client.id }, healthchecks: { active } })
  await gw.admin$('POST', '/upstreams/probed-with/targets', { target: `127.0.0.1:${mtls.port}` })
  await gw.admin$('POST', '/upstreams', { name: 'probed-without', healthchecks: { active } })
  await gw.admin$('POST', '/upstreams/probed-without/targets', { target: `127.0.0.1:${mtls.port}` })
  await until(async () => (await health('probed-without')) === 'UNHEALTHY', 'the probes without a certificate to fail')
  await until(() => mtls.requests > 0, 'a probe with the certificate to reach the upstream')
  t.equal(await health('probed-with'), 'HEALTHY', 'probes with the certificate pass')
  t.ok(mtls.refused > 0, 'the upstream refused the probes without one')
})

t.test('WebSocket upgrades to an https upstream get the same TLS settings', async (t) => {
  const gw = await startTestGateway(t)
  const upstream = createHttpsServer({ cert: LEAF.cert, key: LEAF.key })
  upstream.on('upgrade', (_req, socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n')
    socket.on('data', (d: Buffer) => socket.write(d))
  })
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { upstream.closeAllConnections(); upstream.close(() => resolve()) }))
  const port = (upstream.address() as AddressInfo).port
  const ca = await gw.admin$('POST', '/ca_certificates', { cert: CA })
  await gw.admin$('POST', '/services', { name: 'ws-trusted', url: `https://localhost:${port}`, retries: 0, tls_verify: true, ca_certificates: [ca.id] })
  await gw.admin$('POST', '/services/ws-trusted/routes', { paths: ['/ws-trusted'] })
  await gw.admin$('POST', '/services', { name: 'ws-untrusted', url: `https://localhost:${port}`, retries: 0, tls_verify: true })
  await gw.admin$('POST', '/services/ws-untrusted/routes', { paths: ['/ws-untrusted'] })
  const proxyPort = (gw.gateway.proxy[0] as AddressInfo).port
  const upgrade = (path: string): Promise<string> => new Promise((resolve, reject) => {
    const s = connect(proxyPort, '127.0.0.1', () => {
      s.write(`GET ${path} HTTP/1.1\r\nHost: example.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`)
    })
    let got = ''
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1')
      if (got.includes('\r\n\r\n')) {
        if (got.startsWith('HTTP/1.1 101')) s.write('ping')
        if (!got.startsWith('HTTP/1.1 101') || got.endsWith('ping')) { s.destroy(); resolve(got) }
      }
    })
    s.on('error', reject)
  })
  const ok = await upgrade('/ws-trusted')
  t.match(ok, /^HTTP\/1\.1 101/, 'verified against the CA row: upgraded')
  t.match(ok, /ping$/, 'bytes flow both ways')
  t.match(await upgrade('/ws-untrusted'), /^HTTP\/1\.1 502/, 'not trusted: 502')
})
