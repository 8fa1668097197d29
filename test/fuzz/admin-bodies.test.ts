// Generated Admin API bodies: forms, multipart and JSON, with the keys and shapes that
// have broken decoders (nameless and duplicate parts, prototype names, brackets and dots,
// deep nesting, odd charsets). Invariants: every request gets an HTTP answer, never a 5xx
// and never a stack trace; a refused write leaves the store as it was; Object.prototype is
// never written; the server goes on answering.
import fc from 'fast-check'
import t from 'tap'
import { decodeForm } from '../../core/admin/form.js'
import { startAdmin, type AdminClient } from '../helpers/admin.js'
import { params } from './settings.js'

const SEGMENTS = ['__proto__', 'constructor', 'prototype', 'toString', 'name', 'url', 'tags', 'config', 'host', 'a', '0', '1', '', ' ', 'ü', '%', '\u0000',
  'target', 'weight', 'hash_on', 'algorithm', 'healthchecks', 'active', 'passive', 'healthy', 'headers', 'http_statuses']
const segment = fc.oneof(fc.constantFrom(...SEGMENTS), fc.string({ maxLength: 6 }))
/** A form key: segments joined by dots and brackets, as `a.b[c][]`, or raw junk. */
const formKey = fc.oneof(
  fc.array(fc.tuple(fc.constantFrom('.', '[', '[]', ']'), segment), { maxLength: 6 }).chain((parts) =>
    segment.map((head) => head + parts.map(([sep, s]) => sep === '[' ? `[${s}]` : sep === '[]' ? `${s}[]` : sep === ']' ? `${s}]` : `.${s}`).join(''))),
  fc.string({ maxLength: 20 }),
)
const formValue = fc.oneof(fc.constantFrom('', 'http://a.test', 'true', '1', 'null', '-1', '1e309', 'x'.repeat(300)), fc.string({ maxLength: 30 }))
const entries = fc.array(fc.tuple(formKey, formValue), { maxLength: 12 })

function polluted (): string | undefined {
  for (const k of Object.keys(Object.prototype)) return k
  for (const k of Object.keys(Array.prototype)) return k
  return undefined
}

t.test('decodeForm never throws and never writes a prototype', async (t) => {
  fc.assert(fc.property(entries, (list) => {
    const out = decodeForm(list)
    if (typeof out !== 'object' || out === null) throw new Error('not an object')
    const p = polluted()
    if (p !== undefined) throw new Error(`Object.prototype gained ${p}`)
  }), params(2000))
  t.equal(polluted(), undefined)
})

/** One answered request's facts, checked against the invariants. */
async function checked (api: AdminClient, method: string, path: string, opts: Parameters<AdminClient['call']>[2]): Promise<number> {
  const r = await api.call(method, path, opts)
  if (r.status >= 500) throw new Error(`${method} ${path}: ${r.status} ${r.text.slice(0, 200)}`)
  if (/\bat .+:\d+:\d+|"stack"/.test(r.text)) throw new Error(`${method} ${path}: a stack trace in the answer: ${r.text.slice(0, 200)}`)
  const p = polluted()
  if (p !== undefined) throw new Error(`Object.prototype gained ${p}`)
  return r.status
}

async function snapshot (api: AdminClient): Promise<string> {
  const parts = await Promise.all(['/services', '/consumers', '/routes', '/plugins', '/upstreams', '/upstreams/fixed.test/targets'].map(async (p) => (await api.call('GET', p)).text))
  return parts.join('\n')
}

const TARGETS = [['POST', '/services'], ['POST', '/consumers'], ['PATCH', '/services/fixed'], ['PUT', '/consumers/fixed'], ['POST', '/services/fixed/routes'], ['POST', '/plugins'],
  ['POST', '/upstreams'], ['PATCH', '/upstreams/fixed.test'], ['POST', '/upstreams/fixed.test/targets'], ['PATCH', '/upstreams/fixed.test/targets/fixed.test:8000']] as const
const target = fc.constantFrom(...TARGETS)

/** Multipart parts: a name or none, a filename or none, odd part headers, any content. */
const part = fc.record({
  name: fc.option(formKey, { nil: undefined }),
  filename: fc.option(fc.string({ maxLength: 8 }), { nil: undefined }),
  type: fc.option(fc.constantFrom('text/plain', 'text/plain; charset=utf-7', 'application/octet-stream', 'x/y; charset=bogus', ''), { nil: undefined }),
  value: formValue,
})
const quote = (s: string): string => s.replace(/["\r\n\\]/g, '_')
function multipart (parts: Array<{ name?: string, filename?: string, type?: string, value: string }>, boundary: string): string {
  return parts.map((p) => {
    const disposition = ['form-data', ...(p.name === undefined ? [] : [`name="${quote(p.name)}"`]), ...(p.filename === undefined ? [] : [`filename="${quote(p.filename)}"`])].join('; ')
    return `--${boundary}\r\nContent-Disposition: ${disposition}\r\n${p.type === undefined ? '' : `Content-Type: ${p.type}\r\n`}\r\n${p.value}\r\n`
  }).join('') + `--${boundary}--\r\n`
}

t.test('forms and multipart bodies: answered, never 5xx, refused writes change nothing', async (t) => {
  const api = await startAdmin(t)
  await api.call('POST', '/services', { json: { name: 'fixed', url: 'http://fixed.test' } })
  await api.call('POST', '/consumers', { json: { username: 'fixed' } })
  await api.call('POST', '/upstreams', { json: { name: 'fixed.test' } })
  await api.call('POST', '/upstreams/fixed.test/targets', { json: { target: 'fixed.test' } })
  await fc.assert(fc.asyncProperty(target, entries, fc.boolean(), fc.array(part, { maxLength: 8 }), async ([method, path], list, asMultipart, parts) => {
    const before = await snapshot(api)
    const status = asMultipart
      ? await checked(api, method, path, { body: multipart([...parts, ...list.map(([name, value]) => ({ name, value }))], 'fuzzb0undary'), headers: { 'content-type': 'multipart/form-data; boundary=fuzzb0undary' } })
      : await checked(api, method, path, { form: list.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&') })
    if (status >= 400 && await snapshot(api) !== before) throw new Error(`${method} ${path} answered ${status} but changed the store`)
  }), params(150))
  t.equal((await api.call('GET', '/')).status, 200, 'still answering')
})

/** JSON values with prototype names, deep nesting and large counts. */
const jsonKey = fc.oneof(fc.constantFrom(...SEGMENTS, 'name', 'url', 'username', 'custom_id', 'config', 'service', 'id', 'upstream', 'hash_fallback', 'slots'), fc.string({ maxLength: 8 }))
const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.constant(null), fc.boolean(), fc.integer(), fc.double(), formValue, fc.array(tie('value'), { maxLength: 4 }), fc.dictionary(jsonKey, tie('value'), { maxKeys: 5 })),
})).value

t.test('JSON bodies: answered, never 5xx, refused writes change nothing', async (t) => {
  const api = await startAdmin(t)
  await api.call('POST', '/services', { json: { name: 'fixed', url: 'http://fixed.test' } })
  await api.call('POST', '/consumers', { json: { username: 'fixed' } })
  await api.call('POST', '/upstreams', { json: { name: 'fixed.test' } })
  await api.call('POST', '/upstreams/fixed.test/targets', { json: { target: 'fixed.test' } })
  const deep = (n: number): string => '['.repeat(n) + ']'.repeat(n)
  const body = fc.oneof(
    fc.dictionary(jsonKey, jsonValue, { maxKeys: 8 }).map((o) => JSON.stringify(o)),
    jsonValue.map((v) => JSON.stringify(v)),
    fc.constantFrom('{"__proto__":{"polluted":1},"name":"p"}', '{"constructor":{"prototype":{"polluted":1}}}', deep(5000), `{"a":${deep(2000)}}`, '{', '', '\u0000', '{"name":"\ud800"}'),
    fc.string({ maxLength: 40 }),
  )
  await fc.assert(fc.asyncProperty(target, body, async ([method, path], text) => {
    const before = await snapshot(api)
    const status = await checked(api, method, path, { body: text, headers: { 'content-type': 'application/json' } })
    if (status >= 400 && await snapshot(api) !== before) throw new Error(`${method} ${path} answered ${status} but changed the store`)
  }), params(150))
  t.equal((await api.call('GET', '/')).status, 200, 'still answering')
})
