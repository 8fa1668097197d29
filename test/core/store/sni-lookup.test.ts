// The server-name lookup a TLS listener uses (core/store/sni-lookup.ts), in Kong 3.2's
// order: exact, leftmost wildcard, rightmost wildcard, then `*`.

import t from 'tap'
import { findCertificate, findSni, wildcardNames } from '../../../core/store/sni-lookup.js'
import { tempStore } from '../../helpers/store.js'
import { pair } from '../../helpers/tls.js'

t.test("wildcard names as Kong's produce_wild_snis makes them", async (t) => {
  t.same(wildcardNames('a.example.test'), { prefix: '*.example.test', suffix: 'a.example.*' })
  t.same(wildcardNames('example.test'), { suffix: 'example.*' }, 'no `*.test`')
  t.same(wildcardNames('localhost'), {})
  t.same(wildcardNames('*.example.test'), { prefix: '*.example.test' })
  t.same(wildcardNames('example.*'), { suffix: 'example.*' })
})

t.test('exact, then *.rest, then name.*, then *', async (t) => {
  const store = tempStore(t)
  const cert = async (stem: string, ...names: string[]): Promise<string> => {
    const c = await store.insert('certificates', pair(stem))
    for (const name of names) await store.insert('snis', { name, certificate: { id: c.id } })
    return c.id
  }
  const a = await cert('a-rsa', 'a.example.test')
  const wild = await cert('wild-rsa', '*.wild.example.test', '*.example.test')
  const suffix = await cert('b-rsa', 'b.example.*')
  t.equal(findCertificate(store, 'a.example.test')?.certificate.id, a)
  t.equal(findCertificate(store, 'x.wild.example.test')?.certificate.id, wild)
  t.equal(findSni(store, 'x.wild.example.test')?.name, '*.wild.example.test')
  t.equal(findSni(store, 'b.example.test')?.name, '*.example.test', 'the leftmost wildcard before the rightmost')
  t.equal(findSni(store, 'b.example.org')?.name, 'b.example.*')
  t.equal(findCertificate(store, 'b.example.org')?.certificate.id, suffix)
  t.equal(findSni(store, 'x.y.wild.example.test'), undefined, 'a wildcard is one label')
  t.equal(findSni(store, undefined), undefined)
  const fallback = await cert('a-ecdsa', '*')
  t.equal(findCertificate(store, 'other.test')?.certificate.id, fallback, '`*` is the default')
  t.equal(findCertificate(store, 'a.example.test')?.certificate.id, a)
})
