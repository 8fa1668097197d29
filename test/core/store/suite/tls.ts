import { rejectsDb } from '../../../helpers/assert.js'
import { pair, pem } from '../../../helpers/tls.js'
import { storeCase } from './cases.js'

storeCase('certificates, snis and ca_certificates: unique names, the cascade, references from services', async (t, make) => {
  const store = await make(t)
  const cert = await store.insert('certificates', pair('a-rsa'))
  const sni = await store.insert('snis', { name: 'a.example.test', certificate: { id: cert.id } })
  t.same(store.find('snis', { name: 'a.example.test' })?.id, sni.id, 'an sni by its name')
  t.same(store.listFor('snis', 'certificate', cert.id).data.map((s) => s.name), ['a.example.test'])
  await rejectsDb(t, store.insert('snis', { name: 'a.example.test', certificate: { id: cert.id } }), 5)
  const ca = await store.insert('ca_certificates', { cert: pem('ca-cert') })
  t.match(ca.cert_digest, /^[0-9a-f]{64}$/)
  await rejectsDb(t, store.insert('ca_certificates', { cert: pem('ca-cert') }), 5)
  const svc = await store.insert('services', { name: 's', url: 'https://s.test', client_certificate: { id: cert.id }, ca_certificates: [ca.id] })
  await rejectsDb(t, store.delete('certificates', { id: cert.id }), 4)
  t.ok(store.get('snis', sni.id), 'a refused delete keeps the snis')
  await store.delete('services', { id: svc.id })
  await store.delete('certificates', { id: cert.id })
  t.equal(store.get('snis', sni.id), undefined, 'the snis go with their certificate')
  t.equal(store.find('snis', { name: 'a.example.test' }), undefined, 'and their names')
})
