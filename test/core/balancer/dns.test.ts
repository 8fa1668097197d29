// Hostname targets against a real DNS server on 127.0.0.1: resolution, re-resolution by
// TTL, names that stop resolving, stale answers, and the hosts file.
import t from 'tap'
import { Balancer, DnsContext, parseHosts, targetHealth, type DnsOptions, type PeerAddress } from '../../../core/balancer/index.js'
import { readHosts } from '../../../core/balancer/dns.js'
import { startDnsServer, type TestDnsServer } from '../../helpers/dns-server.js'
import { seeded } from '../../helpers/balancer.js'

async function until (cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

function context (server: TestDnsServer, opts: DnsOptions = {}): DnsContext {
  return new DnsContext({ resolver: server.resolver(), hosts: new Map(), retryMin: 0.05, retryMax: 0.2, ...opts })
}

function keys (b: Balancer): string[] {
  return b.addresses().map((a) => a.key)
}

t.test('a name resolves to its A records, each an entry with the target\'s weight', async (t) => {
  const dns = await startDnsServer(t, {
    'svc.test': { A: [{ ip: '127.0.0.3', ttl: 60 }, { ip: '127.0.0.2', ttl: 60 }] },
    'six.test': { AAAA: [{ ip: '::1', ttl: 60 }] },
    'both.test': { A: [{ ip: '127.0.0.9', ttl: 60 }], AAAA: [{ ip: '::1', ttl: 60 }] },
  })
  const b = new Balancer({}, [{ target: 'svc.test:8080', weight: 100 }, { target: '127.0.0.1:80', weight: 100 }], { dns: context(dns), random: seeded(1) })
  t.same(keys(b), ['127.0.0.1:80'], 'IP targets at once, names once resolved')
  await b.whenResolved()
  t.same(keys(b), ['127.0.0.2:8080', '127.0.0.3:8080', '127.0.0.1:80'])
  const svc = b.status().hosts[0]
  t.match(svc, { host: 'svc.test', port: 8080, dns: 'A', nodeWeight: 100, weight: { total: 200, available: 200 } })
  // Three entries of weight 100: the name gets two thirds of the picks.
  const counts = new Map<string, number>()
  for (let i = 0; i < 300; i++) { const a = b.select() as PeerAddress; b.release(a); counts.set(a.key, (counts.get(a.key) ?? 0) + 1) }
  t.same([...counts.values()], [100, 100, 100])
  t.equal(b.select()?.hostname === 'svc.test' || b.select()?.hostname === 'svc.test', true, 'hostname is the target name')

  const v6 = new Balancer({}, [{ target: 'six.test:9000' }, { target: 'both.test:9000' }], { dns: context(dns) })
  await v6.whenResolved()
  t.same(keys(v6), ['[::1]:9000', '127.0.0.9:9000'], 'AAAA only when there is no A (Kong\'s order)')
  t.same(v6.status().hosts.map((h) => h.dns), ['AAAA', 'A'])
  t.same(dns.queries.filter((q) => q.startsWith('both.test')), ['both.test A'])
  b.close()
  v6.close()
})

t.test('re-resolution when the TTL runs out; the address set follows', async (t) => {
  const dns = await startDnsServer(t, { 'ttl.test': { A: [{ ip: '127.0.0.2', ttl: 1 }] } })
  const b = new Balancer({}, [{ target: 'ttl.test:80' }], { dns: context(dns) })
  t.teardown(() => b.close())
  const events: string[] = []
  b.onAddressChange((added, removed) => events.push(`+${added.map((a) => a.key).join(',')} -${removed.map((a) => a.key).join(',')}`))
  await b.whenResolved()
  dns.set('ttl.test', { A: [{ ip: '127.0.0.4', ttl: 1 }, { ip: '127.0.0.5', ttl: 1 }] })
  await until(() => keys(b).length === 2, 'the new answer')
  // When the server was asked, not what a fixed wait saw: on a loaded machine a timer set
  // short of the TTL can fire past it.
  t.equal(dns.queries.length, 2, 'asked once more')
  const gap = (dns.askedAt[1] as number) - (dns.askedAt[0] as number)
  t.ok(gap >= 950, `not asked again before the TTL ran out (${gap} ms)`)
  t.same(keys(b), ['127.0.0.4:80', '127.0.0.5:80'])
  t.same(events, ['+127.0.0.2:80 -', '+127.0.0.4:80,127.0.0.5:80 -127.0.0.2:80'])
  t.equal(b.select()?.ip.startsWith('127.0.0.'), true)
})

t.test('TTL 0 means again after minTtl, not per request', async (t) => {
  const dns = await startDnsServer(t, { 'zero.test': { A: [{ ip: '127.0.0.2', ttl: 0 }] } })
  const b = new Balancer({}, [{ target: 'zero.test:80' }], { dns: context(dns, { minTtl: 0.1 }) })
  t.teardown(() => b.close())
  await b.whenResolved()
  for (let i = 0; i < 100; i++) b.select()
  t.equal(dns.queries.length, 1, 'picks do not query')
  await until(() => dns.queries.length >= 3, 'two refreshes')
})

t.test('a name that stops resolving: DNS_ERROR, no addresses, 503; back when it resolves again', async (t) => {
  const dns = await startDnsServer(t, { 'gone.test': { A: [{ ip: '127.0.0.2', ttl: 60 }] } })
  const b = new Balancer({}, [{ target: 'gone.test:80' }], { dns: context(dns) })
  t.teardown(() => b.close())
  await b.whenResolved()
  t.equal(b.select()?.key, '127.0.0.2:80')
  dns.set('gone.test', undefined) // NXDOMAIN
  await b.refreshDns()
  const s = b.status().hosts[0] as NonNullable<ReturnType<Balancer['status']>['hosts'][0]>
  t.same(s.addresses, [], 'a name error drops the addresses at once (Kong)')
  t.equal(s.dns, 'dns server error: 3 name error')
  t.equal(targetHealth(s, true), 'DNS_ERROR')
  t.equal(b.select(), undefined)
  t.equal(b.healthy, false)
  dns.set('gone.test', { A: [{ ip: '127.0.0.6', ttl: 60 }] })
  await until(() => keys(b).length === 1, 'the retry')
  t.same(keys(b), ['127.0.0.6:80'])
  t.equal(b.status().hosts[0]?.dns, 'A')
})

t.test('a name that never resolved: DNS_ERROR from the start, and whenResolved still settles', async (t) => {
  const dns = await startDnsServer(t, { 'empty.test': { A: [], AAAA: [] } })
  const b = new Balancer({}, [{ target: 'nowhere.test:80' }, { target: 'empty.test:80' }], { dns: context(dns, { retryMin: 30 }) })
  t.teardown(() => b.close())
  t.equal(b.select(), undefined, 'nothing resolved yet')
  await b.whenResolved()
  t.same(b.status().hosts.map((h) => [h.dns, targetHealth(h, false)]), [
    ['dns server error: 3 name error', 'DNS_ERROR'],
    ['dns client error: 101 empty record received', 'DNS_ERROR'],
  ])
})

t.test('timeouts and server failures keep the last good addresses until staleTtl', async (t) => {
  const dns = await startDnsServer(t, { 'flaky.test': { A: [{ ip: '127.0.0.2', ttl: 10 }] } })
  let now = 0 // the context's clock, in ms: the stale window is judged by it
  const b = new Balancer({}, [{ target: 'flaky.test:80' }], { dns: context(dns, { staleTtl: 60, clock: () => now, resolver: dns.resolver(100) }) })
  t.teardown(() => b.close())
  await b.whenResolved()
  now = 20_000 // the answer expired 10 s ago: stale, within the 60 s allowed
  dns.set('flaky.test', 'servfail')
  await b.refreshDns()
  t.same(keys(b), ['127.0.0.2:80'], 'SERVFAIL: kept')
  dns.set('flaky.test', 'drop')
  await b.refreshDns()
  t.same(keys(b), ['127.0.0.2:80'], 'timeout: kept')
  t.equal(b.status().hosts[0]?.dns, 'A', 'shown as the record it was, as Kong shows a stale record')
  dns.set('flaky.test', { A: [] })
  await b.refreshDns()
  t.same(keys(b), ['127.0.0.2:80'], 'empty answer: kept')
  t.equal(b.select()?.key, '127.0.0.2:80')
  now = 70_001 // 60 s past expiry
  dns.set('flaky.test', 'drop')
  await b.refreshDns()
  t.same(keys(b), [], 'stale for too long: dropped')
  t.equal(b.status().hosts[0]?.dns, 'dns server error: timeout')
  t.equal(b.select(), undefined)
})

t.test('the hosts file wins over DNS; localhost needs no query', async (t) => {
  const dns = await startDnsServer(t, { 'api.test': { A: [{ ip: '127.0.0.2', ttl: 60 }] } })
  const ctx = new DnsContext({ resolver: dns.resolver(), hosts: parseHosts('127.0.0.7 api.test\n') })
  const b = new Balancer({}, [{ target: 'api.test:80' }, { target: 'localhost:81' }], { dns: ctx })
  t.same(keys(b), ['127.0.0.7:80', '127.0.0.1:81'], 'at once: the file is read once and never changes')
  t.same(b.status().hosts.map((h) => h.dns), ['A', 'A'])
  t.same(await ctx.resolve('api.test'), { ok: true, type: 'A', ips: ['127.0.0.7'], ttl: Number.POSITIVE_INFINITY })
  t.same(await new DnsContext({ hosts: parseHosts('::1 six.test') }).resolve('six.test'), { ok: true, type: 'AAAA', ips: ['[::1]'], ttl: Number.POSITIVE_INFINITY })
  t.same(dns.queries, [])
})

t.test('hosts files: comments, both families, first entry wins, IPv4 preferred', async (t) => {
  const h = parseHosts([
    '# comment',
    '127.0.0.1   localhost',
    '::1         localhost ip6-localhost   # trailing comment',
    '10.0.0.1    App.Local app',
    '10.0.0.2    app',
    'fe80::1     only6',
    'not-an-ip   broken',
    'lonely',
  ].join('\n'))
  t.same(Object.fromEntries(h), { localhost: '127.0.0.1', 'ip6-localhost': '[::1]', 'app.local': '10.0.0.1', app: '10.0.0.1', only6: '[fe80::1]' })
  t.equal(parseHosts('').get('localhost'), '127.0.0.1', 'localhost even when not listed')
  t.equal(readHosts('/nonexistent/hosts').get('localhost'), '127.0.0.1')
  t.equal(readHosts('/nonexistent/hosts'), readHosts('/nonexistent/hosts'), 'read once')
  t.ok(new DnsContext().hosts.has('localhost'), 'the default context reads /etc/hosts')
})

t.test('removed targets and closed balancers stop asking', async (t) => {
  const dns = await startDnsServer(t, { 'a.test': { A: [{ ip: '127.0.0.2', ttl: 0 }] }, 'b.test': { A: [{ ip: '127.0.0.3', ttl: 0 }] } })
  const b = new Balancer({}, [{ target: 'a.test:80' }, { target: 'b.test:80' }], { dns: context(dns, { minTtl: 0.05 }) })
  await b.whenResolved()
  b.update({}, [{ target: 'b.test:80' }])
  t.same(keys(b), ['127.0.0.3:80'])
  const n = dns.queries.filter((q) => q.startsWith('a.test')).length
  await until(() => dns.queries.filter((q) => q.startsWith('b.test')).length >= 3, 'b.test refreshes')
  t.equal(dns.queries.filter((q) => q.startsWith('a.test')).length, n, 'a.test no longer asked')
  b.close()
  const m = dns.queries.length
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.ok(dns.queries.length <= m + 1, 'closed: at most the query under way')
  await b.refreshDns()
  t.same(keys(b), ['127.0.0.3:80'], 'the last addresses stay usable')
})

t.test('a listener that throws does not stop the refreshes', async (t) => {
  const dns = await startDnsServer(t, { 'l.test': { A: [{ ip: '127.0.0.2', ttl: 0 }] } })
  const b = new Balancer({}, [{ target: 'l.test:80' }], { dns: context(dns, { minTtl: 0.05 }) })
  t.teardown(() => b.close())
  b.onAddressChange(() => { throw new Error('listener bug') })
  await b.whenResolved().catch(() => {})
  let n = 2
  for (let i = 0; i < 3; i++) {
    dns.set('l.test', { A: [{ ip: `127.0.0.${++n}`, ttl: 0 }] })
    await until(() => keys(b)[0] === `127.0.0.${n}:80`, `answer ${n}`)
  }
  t.pass('kept following the answers')
})

t.test('DNS errors: Kong\'s wording, and which ones count as the name being gone', async (t) => {
  const failing = (codes: Record<'A' | 'AAAA', string | undefined>): DnsContext => new DnsContext({
    hosts: new Map(),
    resolver: {
      resolve4: async () => { if (codes.A === undefined) return []; throw Object.assign(new Error(codes.A), { code: codes.A }) },
      resolve6: async () => { if (codes.AAAA === undefined) return []; throw Object.assign(new Error(codes.AAAA), { code: codes.AAAA }) },
    },
  })
  const cases: [string | undefined, string | undefined, string, string][] = [
    ['ENOTFOUND', 'ENOTFOUND', 'name-error', 'dns server error: 3 name error'],
    ['ENOTFOUND', undefined, 'empty', 'dns client error: 101 empty record received'],
    ['EFORMERR', 'ENOTFOUND', 'failure', 'dns server error: 1 format error'],
    ['ESERVFAIL', 'ENOTFOUND', 'failure', 'dns server error: 2 server failure'],
    ['ENOTIMP', 'ENOTFOUND', 'failure', 'dns server error: 4 not implemented'],
    ['EREFUSED', 'ENOTFOUND', 'failure', 'dns server error: 5 refused'],
    ['ETIMEOUT', 'ENOTFOUND', 'failure', 'dns server error: timeout'],
    ['ECONNREFUSED', 'ENOTFOUND', 'failure', 'dns client error: ECONNREFUSED'],
  ]
  for (const [a, aaaa, kind, message] of cases) {
    t.same(await failing({ A: a, AAAA: aaaa }).resolve('x.test'), { ok: false, kind, message }, `${a} / ${aaaa}`)
  }
  const order = new DnsContext({
    hosts: new Map(),
    order: ['AAAA', 'A'],
    resolver: { resolve4: async () => [{ address: '127.0.0.1', ttl: 5 }], resolve6: async () => [{ address: '::1', ttl: 7 }, { address: '::2', ttl: 3 }] },
  })
  t.same(await order.resolve('x.test'), { ok: true, type: 'AAAA', ips: ['[::1]', '[::2]'], ttl: 3 }, 'order, lowest TTL')
})
