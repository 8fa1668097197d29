// Hosts and addresses as Kong reads them (kong/tools/utils.lua normalize_ip, format_host):
// what upstream names, targets and host_header accept, and how targets are written.

import t from 'tap'
import { checkSni, checkUpstreamName, formatAddress, parseAddress } from '../../../core/store/address.js'
import { normalizeTarget } from '../../../core/store/entities/targets.js'

t.test('parseAddress: kinds, normalisation and Kong\'s messages', async (t) => {
  t.same(parseAddress('konghq.test'), { type: 'name', host: 'konghq.test', port: undefined })
  t.same(parseAddress('Konghq.Test:123'), { type: 'name', host: 'Konghq.Test', port: 123 }, 'names keep their case')
  t.same(parseAddress('001.002.003.004:080'), { type: 'ipv4', host: '1.2.3.4', port: 80 }, 'IPv4 without leading zeros')
  t.same(parseAddress('::1'), { type: 'ipv6', host: '0000:0000:0000:0000:0000:0000:0000:0001', port: undefined })
  t.same(parseAddress('[::1]:80'), { type: 'ipv6', host: '0000:0000:0000:0000:0000:0000:0000:0001', port: 80 })
  t.same(parseAddress('[FE80::A:B]'), { type: 'ipv6', host: 'fe80:0000:0000:0000:0000:0000:000a:000b', port: undefined }, 'lower case')
  t.same(parseAddress('1:2:3:4:5:6:7::8'), { type: 'ipv6', host: '0001:0002:0003:0004:0005:0006:0007:0008', port: undefined }, 'Kong lets :: stand for no group')
  t.same(parseAddress('a.b.'), { type: 'name', host: 'a.b.', port: undefined }, 'a trailing dot')
  t.same(parseAddress('-a_b'), { type: 'name', host: '-a_b', port: undefined }, 'a leading dash and underscores')

  t.equal(parseAddress('123'), 'invalid ipv4 address: 123', 'digits and dots are read as IPv4')
  t.equal(parseAddress('.'), 'invalid ipv4 address: .', 'so is a lone dot')
  t.equal(parseAddress('1.2.3.256'), 'invalid ipv4 address: 1.2.3.256')
  t.equal(parseAddress('1.2.3.4:65536'), 'invalid port number')
  t.equal(parseAddress('a.test:65536'), 'invalid port number')
  t.equal(parseAddress('[::1]:65536'), 'invalid port number')
  t.equal(parseAddress('[::1]x'), 'invalid ipv6 address')
  t.equal(parseAddress('[::1]:'), 'invalid ipv6 address', 'an empty port (a Lua error in Kong)')
  t.equal(parseAddress('1::2::3'), 'invalid ipv6 address: 1::2::3')
  t.equal(parseAddress('1:2:3:4:5:6:7:8:9'), 'invalid ipv6 address: 1:2:3:4:5:6:7:8:9')
  t.equal(parseAddress('[1.2.3.4]:80'), 'invalid hostname: [1.2.3.4]:80')
  for (const bad of ['a..b', '.a', 'a-.b', 'a-', 'a b', 'a/b', 'a:', 'a:b', 'ü.test', 'http://a.test']) {
    t.equal(parseAddress(bad), `invalid hostname: ${bad}`, bad)
  }
})

t.test('formatAddress and targets: host:port, port 8000 by default, IPv6 in brackets', async (t) => {
  t.equal(formatAddress({ type: 'name', host: 'a.test' }), 'a.test')
  t.equal(formatAddress({ type: 'name', host: 'a.test' }, 8000), 'a.test:8000')
  t.equal(normalizeTarget('konghq.test'), 'konghq.test:8000')
  t.equal(normalizeTarget('konghq.test:123'), 'konghq.test:123')
  t.equal(normalizeTarget('001.002.003.004'), '1.2.3.4:8000')
  t.equal(normalizeTarget('::1'), '[0000:0000:0000:0000:0000:0000:0000:0001]:8000')
  t.equal(normalizeTarget('[::1]:8192'), '[0000:0000:0000:0000:0000:0000:0000:0001]:8192')
  t.equal(normalizeTarget('a.test:0'), 'a.test:0', 'Kong only refuses ports above 65535')
  t.equal(normalizeTarget('some invalid host name'), undefined)
})

t.test('upstream names and SNIs', async (t) => {
  t.equal(checkUpstreamName('valid.host.name'), undefined)
  t.equal(checkUpstreamName('1.2.3.4'), "Invalid name ('1.2.3.4'); no ip addresses allowed")
  t.equal(checkUpstreamName('[::1]'), "Invalid name ('[::1]'); no ip addresses allowed")
  t.equal(checkUpstreamName('name:80'), "Invalid name ('name:80'); no port allowed")
  t.equal(checkUpstreamName('a b'), "Invalid name ('a b'); must be a valid hostname")
  t.equal(checkUpstreamName('a\ud800'), 'Invalid name; must be a valid hostname', 'not valid UTF-8: not quoted')
  t.equal(checkSni('example.com'), undefined)
  t.equal(checkSni('example.com:99999'), 'must not have a port', "Kong fails on this one; the intent is Kong's message")
})
