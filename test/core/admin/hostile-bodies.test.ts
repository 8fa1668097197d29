// Bodies built to break the decoder rather than the schema. A multipart part without a
// name used to throw inside busboy's callback and end the process; a form key such as
// `__proto__[x]` used to write into Object.prototype for the whole process. Each now gets
// Kong's 400 and leaves the process, and the store, as they were.
import t from 'tap'
import { startAdmin } from '../../helpers/admin.js'

const KEYS = ['__proto__[polluted]', 'constructor[prototype][polluted]', '__proto__.polluted', 'a[__proto__][polluted]', 'tags[__proto__][polluted]']

function polluted (): boolean {
  return (Object.prototype as Record<string, unknown>).polluted !== undefined || ([] as unknown as Record<string, unknown>).polluted !== undefined
}

const multipart = (parts: string[]): string => `${parts.map((p) => `--zz\r\n${p}\r\n`).join('')}--zz--\r\n`
const MULTIPART = { 'content-type': 'multipart/form-data; boundary=zz' }

t.test('a multipart part without a name is skipped, and the process goes on', async (t) => {
  const api = await startAdmin(t)
  const r = await api.call('POST', '/services', {
    body: multipart(['Content-Disposition: form-data\r\n\r\nnameless', 'Content-Disposition: form-data; name="url"\r\n\r\nhttp://named.test']),
    headers: MULTIPART,
  })
  t.equal(r.status, 201, 'the named part was read')
  t.equal(r.body.host, 'named.test')
  const file = await api.call('POST', '/services', {
    body: multipart(['Content-Disposition: form-data; filename="x.txt"\r\nContent-Type: text/plain\r\n\r\nfile without a name', 'Content-Disposition: form-data; name="url"\r\n\r\nhttp://file.test']),
    headers: MULTIPART,
  })
  t.equal(file.status, 201)
  t.equal((await api.call('GET', '/services')).body.data.length, 2, 'still serving')
})

t.test('form keys that name a prototype are field names the schema refuses; nothing is polluted', async (t) => {
  const api = await startAdmin(t)
  const before = (await api.call('GET', '/services')).body
  for (const key of KEYS) {
    const form = await api.call('POST', '/services', { form: `url=http%3A%2F%2Fa.test&${encodeURIComponent(key)}=yes` })
    t.equal(form.status, 400, `form ${key}`)
    t.equal(form.body.name, 'schema violation', `form ${key}: Kong's schema violation`)
    const mp = await api.call('POST', '/services', {
      body: multipart([`Content-Disposition: form-data; name="${key}"\r\n\r\nyes`, 'Content-Disposition: form-data; name="url"\r\n\r\nhttp://a.test']),
      headers: MULTIPART,
    })
    t.equal(mp.status, 400, `multipart ${key}`)
    t.notOk(polluted(), `${key}: Object.prototype untouched`)
  }
  const json = await api.call('POST', '/services', { body: '{"url":"http://a.test","__proto__":{"polluted":"yes"}}', headers: { 'content-type': 'application/json' } })
  t.equal(json.status, 400, 'JSON __proto__ is an unknown field too')
  t.notOk(polluted())
  t.same((await api.call('GET', '/services')).body, before, 'nothing was stored')
  // And the process still answers a plain request.
  const ok = await api.call('POST', '/services', { form: { url: 'http://fine.test' } })
  t.equal(ok.status, 201)
})
