// The balancer around the algorithms: targets and updates, availability and the health
// threshold, the status Kong's health endpoint shows, and address-change events.
import t from 'tap'
import { addressHealth, parseTarget, targetHealth, type PeerAddress } from '../../../core/balancer/index.js'
import { balancer, ipTargets, tally } from '../../helpers/balancer.js'

t.test('targets: host:port, [v6]:port, default port 8000', async (t) => {
  t.same(parseTarget('example.com:8080'), { host: 'example.com', port: 8080, kind: 'name' })
  t.same(parseTarget('Example.COM'), { host: 'example.com', port: 8000, kind: 'name' })
  t.same(parseTarget('10.1.2.3:80'), { host: '10.1.2.3', port: 80, kind: 'ipv4' })
  t.same(parseTarget('[::1]:8080'), { host: '[::1]', port: 8080, kind: 'ipv6' })
  t.same(parseTarget('[::1]'), { host: '[::1]', port: 8000, kind: 'ipv6' })
  t.same(parseTarget('fe80::1'), { host: '[fe80::1]', port: 8000, kind: 'ipv6' })
  for (const bad of ['[::1', '[::1]x', '[nope]:80', 'a:99999', 'a:b', ':80']) t.throws(() => parseTarget(bad), bad)
})

t.test('status: Kong\'s getStatus shape, per target and in total', async (t) => {
  const b = balancer({}, [{ target: '10.0.0.1:80', weight: 100 }, { target: '[::1]:8080', weight: 50 }, { target: '10.0.0.2:80', weight: 0 }])
  b.setAvailable('[::1]:8080', false)
  t.same(b.status(), {
    healthy: true,
    weight: { total: 150, available: 100, unavailable: 50 },
    hosts: [
      { host: '10.0.0.1', port: 80, dns: 'A', nodeWeight: 100, weight: { total: 100, available: 100, unavailable: 0 }, addresses: [{ ip: '10.0.0.1', port: 80, weight: 100, healthy: true }] },
      { host: '[::1]', port: 8080, dns: 'AAAA', nodeWeight: 50, weight: { total: 50, available: 0, unavailable: 50 }, addresses: [{ ip: '[::1]', port: 8080, weight: 50, healthy: false }] },
      { host: '10.0.0.2', port: 80, dns: 'A', nodeWeight: 0, weight: { total: 0, available: 0, unavailable: 0 }, addresses: [{ ip: '10.0.0.2', port: 80, weight: 0, healthy: true }] },
    ],
  })
  const [up, down, zero] = b.status().hosts as [any, any, any]
  t.equal(targetHealth(up, true), 'HEALTHY')
  t.equal(targetHealth(down, true), 'UNHEALTHY')
  t.equal(targetHealth(zero, true), 'HEALTHCHECKS_OFF', 'weight 0')
  t.equal(targetHealth(up, false), 'HEALTHCHECKS_OFF')
  t.equal(targetHealth({ ...up, addresses: [] }, true), 'DNS_ERROR')
  t.equal(targetHealth({ ...up, addresses: [] }, false), 'DNS_ERROR')
  t.equal(addressHealth(down.addresses[0], true, 50), 'UNHEALTHY')
  t.equal(addressHealth(up.addresses[0], true, 100), 'HEALTHY')
  t.equal(addressHealth(up.addresses[0], false, 100), 'HEALTHCHECKS_OFF')
  t.equal(addressHealth(zero.addresses[0], true, 0), 'HEALTHCHECKS_OFF')
  const peer = b.select() as PeerAddress
  t.match(peer, { ip: '10.0.0.1', port: 80, key: '10.0.0.1:80', hostname: '10.0.0.1', target: '10.0.0.1:80', weight: 100, available: true })
})

t.test('threshold: healthy while available weight / total × 100 > threshold', async (t) => {
  const b = balancer({ healthchecks: { threshold: 50 } }, ipTargets(4))
  const [a1, a2] = b.addresses() as [PeerAddress, PeerAddress]
  t.equal(b.healthy, true)
  b.setAvailable(a1.key, false)
  t.equal(b.healthy, true, '75% > 50')
  t.ok(b.select() !== undefined)
  b.setAvailable(a2.key, false)
  t.equal(b.healthy, false, '50% is not above 50')
  t.equal(b.select(), undefined, 'below the threshold: no peer although two are up')
  b.update({ healthchecks: { threshold: 0 } }, ipTargets(4))
  t.equal(b.healthy, true, 'threshold 0: healthy while anything is available')
  t.ok(b.select() !== undefined)
})

t.test('setAvailable: by ip:port, or one target\'s address with the hostname', async (t) => {
  // Two targets naming one address (as two hostnames resolving alike would).
  const b = balancer({}, [{ target: 'localhost:9000', weight: 100 }, { target: '127.0.0.1:9000', weight: 100 }])
  t.equal(b.addresses().length, 2)
  t.equal(b.setAvailable('127.0.0.1:9000', false, 'localhost'), 1)
  t.same(b.addresses().map((a) => [a.hostname, a.available]), [['localhost', false], ['127.0.0.1', true]])
  t.equal(b.setAvailable('127.0.0.1:9000', false), 1, 'without hostname: every target\'s')
  t.equal(b.select(), undefined)
  t.equal(b.setAvailable('127.0.0.1:1', false), 0, 'unknown key')
  t.equal(b.setAvailable('127.0.0.1:9000', true), 2)
})

t.test('update: targets added, removed and reweighted; health and counts carry over; listeners told', async (t) => {
  const b = balancer({ algorithm: 'least-connections' }, ipTargets(2))
  const events: string[] = []
  const off = b.onAddressChange((added, removed) => { events.push(`+${added.map((a) => a.key).join(',')} -${removed.map((a) => a.key).join(',')}`) })
  b.setAvailable('10.0.0.1:80', false)
  b.update({ algorithm: 'least-connections' }, [{ target: '10.0.0.1:80', weight: 100 }, { target: '10.0.0.3:80', weight: 100 }])
  t.same(events, ['+ -10.0.0.2:80', '+10.0.0.3:80 -'])
  t.same(b.addresses().map((a) => [a.key, a.available]), [['10.0.0.1:80', false], ['10.0.0.3:80', true]])
  t.equal(b.select()?.key, '10.0.0.3:80')
  b.update({ algorithm: 'least-connections' }, [{ target: '10.0.0.1:80', weight: 100 }, { target: '10.0.0.3:80', weight: 0 }])
  t.equal(b.select(), undefined, 'the only available address now weighs 0')
  t.equal(b.status().weight.total, 100)
  off()
  b.update({}, [])
  t.equal(events.length, 2, 'no events after unsubscribing')
  t.same(b.addresses(), [])
  t.equal(b.algorithm, 'round-robin')
})

t.test('update: a weight change rebalances at once', async (t) => {
  const b = balancer({}, ipTargets(2))
  t.same([...tally(b, 100).values()], [50, 50])
  b.update({}, [{ target: '10.0.0.1:80', weight: 300 }, { target: '10.0.0.2:80', weight: 100 }])
  const c = tally(b, 400)
  t.same([c.get('10.0.0.1:80'), c.get('10.0.0.2:80')], [300, 100])
})

t.test('an unknown algorithm is refused when the balancer is built', async (t) => {
  t.throws(() => balancer({ algorithm: 'random' }, []), /unknown balancer algorithm 'random'/)
  const b = balancer({ algorithm: null }, ipTargets(1))
  t.equal(b.algorithm, 'round-robin')
  t.throws(() => b.update({ algorithm: 'fastest' }, []))
})

t.test('consistent-hashing: a slots change rebuilds the ring; other algorithms ignore slots', async (t) => {
  const b = balancer({ algorithm: 'consistent-hashing', slots: 1000 }, ipTargets(20))
  const before = Array.from({ length: 200 }, (_, i) => b.select(`k${i}`)?.key)
  b.update({ algorithm: 'consistent-hashing', slots: 50_000 }, ipTargets(20))
  const after = Array.from({ length: 200 }, (_, i) => b.select(`k${i}`)?.key)
  t.notSame(after, before)
  t.equal(b.algorithm, 'consistent-hashing')
})

t.test('close stops nothing that picks need', async (t) => {
  const b = balancer({}, ipTargets(2))
  b.close()
  t.ok(b.select() !== undefined)
  await b.whenResolved()
  await b.refreshDns()
})
