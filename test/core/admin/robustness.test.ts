// Throws over a thousand malformed requests at the Admin API: every answer must be a 4xx
// with a JSON (or empty) body, never a 5xx or a dropped connection, and the entities that
// existed before must come out unchanged.

import { connect } from 'node:net'
import t from 'tap'
import { startAdmin } from '../../helpers/admin.js'

/** A small seeded PRNG (mulberry32), so a failure can be replayed. */
function rng (seed: number): () => number {
  return () => {
    seed |= 0; seed = seed + 0x6D2B79F5 | 0
    let x = Math.imul(seed ^ seed >>> 15, 1 | seed)
    x = x + Math.imul(x ^ x >>> 7, 61 | x) ^ x
    return ((x ^ x >>> 14) >>> 0) / 4294967296
  }
}

const SEED = 20261129
const rand = rng(SEED)
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T
const junkString = (): string => pick([
  '', ' ', 'a'.repeat(5000), '%zz', '\u0000', '\ud800', '../../etc', '{"a":', '[]', 'null', 'true', '-1', '1e309',
  '<script>', "'; DROP TABLE", '🙂', '\\', '/', '?', '#', '%2F', 'ü', 'http://', 'x'.repeat(70000),
])
const junkValue = (depth = 0): unknown => {
  const r = rand()
  if (depth > 3 || r < 0.3) return pick([null, true, false, 0, -1, 1.5, 2 ** 53, -(2 ** 31), junkString(), ''])
  if (r < 0.6) return Array.from({ length: Math.floor(rand() * 4) }, () => junkValue(depth + 1))
  const o: Record<string, unknown> = {}
  for (let i = 0; i < 3; i++) o[pick(['id', 'name', 'config', 'service', 'consumer', 'paths', 'tags', 'port', junkString()])] = junkValue(depth + 1)
  return o
}

const COLLECTIONS = ['services', 'routes', 'consumers', 'plugins', 'test-creds']

/** A body that can never be valid: it always carries a field no schema has. */
function badJsonBody (): string {
  const body = junkValue() as Record<string, unknown>
  const obj = typeof body === 'object' && body !== null && !Array.isArray(body) ? body : { value: body }
  obj['\u0001not-a-field'] = junkValue()
  return JSON.stringify(obj)
}

function badForm (): string {
  return pick([
    'config.key_names[=x', 'a[[[]]]=1&%zz=%zz', 'paths[99999999]=/x&__junk=1', 'name=&name[]=x&name.y=z&__junk=1',
    `${'a.'.repeat(200)}b=1`, 'tags[]=a,b&__junk', `port=${junkString()}&__junk=1`, '&&&=&=', 'service.id=not-a-uuid&__junk=1',
  ])
}

t.test('malformed bodies, paths and queries only ever get 4xx', async (t) => {
  const api = await startAdmin(t)
  const svc = (await api.call('POST', '/services', { json: { name: 'keep', url: 'http://keep.test:81/p', tags: ['k'] } })).body
  const route = (await api.call('POST', '/routes', { json: { name: 'keep-route', paths: ['/keep'], service: { id: svc.id } } })).body
  const consumer = (await api.call('POST', '/consumers', { json: { username: 'keeper', custom_id: 'k1' } })).body
  const cred = (await api.call('POST', '/consumers/keeper/test-cred', { json: { key: 'keep-key' } })).body
  const plugin = (await api.call('POST', '/plugins', { json: { name: 'test-auth', route: { id: route.id } } })).body
  const before = { svc, route, consumer, cred, plugin }

  const failures: string[] = []
  let sent = 0
  const check = (what: string, status: number, text: string): void => {
    sent++
    const jsonOrEmpty = text === '' || (() => { try { JSON.parse(text); return true } catch { return false } })()
    if (status < 400 || status > 499 || !jsonOrEmpty) failures.push(`${what} -> ${status} ${text.slice(0, 200)}`)
  }

  const targets = (c: string): string[] => [`/${c}`, `/${c}/keep`, `/${c}/${route.id as string}`, `/${c}/keep/routes`, `/consumers/keeper/${c}`]
  for (let i = 0; i < 500; i++) {
    const c = pick(COLLECTIONS)
    const path = pick(targets(c))
    const method = pick(['POST', 'PUT', 'PATCH'])
    const r = rand()
    if (r < 0.5) {
      const body = badJsonBody()
      const res = await api.call(method, path, { body, headers: { 'content-type': 'application/json' } })
      check(`${method} ${path} json ${body.slice(0, 80)}`, res.status, res.text)
    } else if (r < 0.8) {
      const body = badForm()
      const res = await api.call(method, path, { body, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
      check(`${method} ${path} form ${body.slice(0, 80)}`, res.status, res.text)
    } else {
      const body = pick(['{', '{"a":1', '[1,', 'nul', '\u0000', '{"a":"\ud800"}'.replace('\\', '')])
      const type = pick(['application/json', 'text/plain', 'application/xml', 'application/x-www-form-urlencoded; charset=utf-7', 'multipart/form-data'])
      const res = await api.call(method, path, { body, headers: { 'content-type': type } })
      check(`${method} ${path} ${type} ${body}`, res.status, res.text)
    }
  }

  // The first segment never names an endpoint (and no dot segments, which the client
  // would resolve away), so every one of these paths is unknown.
  const junk = ['%zz', '%00', '%ff%fe', 'a'.repeat(3000), '🙂', 'x%2Fy', ';', '%20', '%25', 'nope', '%C0%AF']
  for (let i = 0; i < 300; i++) {
    const depth = Math.floor(rand() * 4)
    const parts = [pick(junk), ...Array.from({ length: depth }, () => rand() < 0.5 ? pick(junk) : pick([...COLLECTIONS, 'schemas', 'key-auth']))]
    const path = `/${parts.join('/')}${rand() < 0.3 ? '/' : ''}`
    const method = pick(['GET', 'PATCH', 'POST', 'OPTIONS', 'DELETE'])
    const res = await api.call(method, path, method === 'GET' || method === 'OPTIONS' ? {} : { body: badJsonBody(), headers: { 'content-type': 'application/json' } })
    check(`${method} ${path.slice(0, 100)}`, res.status, res.text)
  }

  const queries = [
    () => `size=${pick(['0', '-1', '1001', 'abc', '1.5', '', '1e3x', '%zz'])}`,
    () => `offset=${pick(['x', '!!!', 'AAAA', 'eyJ4IjoxfQ==', 'WzEsMl0=', '%zz', ''])}`,
    () => `tags=${pick(['', 'a,b/c', 'a,,b', 'a//b', '1,2,3,4,5,6', ',', '/'])}`,
  ]
  for (let i = 0; i < 250; i++) {
    const c = pick(COLLECTIONS)
    const q = pick(queries)()
    const res = await api.call('GET', `/${c}?${q}`)
    check(`GET /${c}?${q}`, res.status, res.text)
  }

  t.ok(sent >= 1000, `${sent} malformed requests sent`)
  t.same(failures, [], 'every one answered with a 4xx and a JSON or empty body')

  // Raw protocol garbage: node's parser answers 400 and the server keeps serving.
  for (const raw of ['GARBAGE\r\n\r\n', 'GET / HTTP/9.9\r\n\r\n', 'GET /\u0000 HTTP/1.1\r\nHost: x\r\n\r\n', `GET /${'a'.repeat(20000)} HTTP/1.1\r\n${'X: y\r\n'.repeat(2000)}\r\n`]) {
    const url = new URL(api.url)
    const answer = await new Promise<string>((resolve) => {
      const s = connect(Number(url.port), url.hostname, () => s.end(raw))
      let out = ''
      s.on('data', (d: Buffer) => { out += d.toString() })
      s.on('close', () => resolve(out))
      s.on('error', () => resolve(out))
    })
    t.match(answer, /^HTTP\/1\.1 4\d\d /, `raw ${JSON.stringify(raw.slice(0, 20))} gets a 4xx`)
  }

  t.same((await api.call('GET', `/services/${svc.id as string}`)).body, before.svc, 'service intact')
  t.same((await api.call('GET', '/routes/keep-route')).body, before.route, 'route intact')
  t.same((await api.call('GET', '/consumers/keeper')).body, before.consumer, 'consumer intact')
  t.same((await api.call('GET', '/test-creds/keep-key')).body, before.cred, 'credential intact')
  t.same((await api.call('GET', `/plugins/${plugin.id as string}`)).body, before.plugin, 'plugin intact')
  t.equal((await api.call('GET', '/services')).body.data.length, 1, 'no service was created')
  t.equal((await api.call('GET', '/consumers')).body.data.length, 1, 'no consumer was created')
})
