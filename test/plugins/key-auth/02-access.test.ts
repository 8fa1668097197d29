// Kong's spec/03-plugins/09-key-auth/02-access_spec.lua (block 1 and the 168 combinations),
// through a real gateway to a real echoing upstream. Where Kong and the Kong 3.2 docs
// differ, the docs win: an unknown key is 401 "Invalid authentication credentials".
import t from 'tap'
import { request } from 'undici'
import { startTestGateway, until, type TestGateway } from '../../helpers/gateway.js'
import { startMockUpstream, type Echo } from '../../helpers/mock-upstream.js'

interface Call { method?: string, headers?: Record<string, string>, body?: string | Record<string, unknown>, type?: 'form' | 'json' | 'multipart' }

function encode (body: Record<string, unknown>, type: 'form' | 'json' | 'multipart'): { body: string, contentType: string } {
  if (type === 'json') return { body: JSON.stringify(body), contentType: 'application/json' }
  if (type === 'form') return { body: new URLSearchParams(body as Record<string, string>).toString(), contentType: 'application/x-www-form-urlencoded' }
  const b = 'XxXx_boundary'
  const parts = Object.entries(body).map(([k, v]) => `--${b}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${String(v)}\r\n`)
  return { body: `${parts.join('')}--${b}--\r\n`, contentType: `multipart/form-data; boundary=${b}` }
}

async function call (gw: TestGateway, host: string, path: string, c: Call = {}): Promise<{ status: number, headers: Record<string, unknown>, json: any }> {
  const headers: Record<string, string> = { host, ...c.headers }
  let body: string | undefined
  if (typeof c.body === 'string') body = c.body
  else if (c.body !== undefined) {
    const e = encode(c.body, c.type ?? 'form')
    body = e.body
    headers['content-type'] ??= e.contentType
  }
  const res = await request(`${gw.proxy}${path}`, { method: (c.method ?? 'GET') as 'GET', headers, body })
  const text = await res.body.text()
  let json: unknown
  try { json = JSON.parse(text) } catch { json = text }
  return { status: res.statusCode, headers: res.headers, json }
}

t.test('key-auth on the proxy', async (t) => {
  const gw = await startTestGateway(t)
  const up = await startMockUpstream(t)
  const okUp = await startMockUpstream(t)
  const anonymous = await gw.admin$('POST', '/consumers', { username: 'no-body' })
  const bob = await gw.admin$('POST', '/consumers', { username: 'bob' })
  const cred = await gw.admin$('POST', '/consumers/bob/key-auth', { key: 'kong' })
  await gw.admin$('POST', '/services', { name: 'mock', url: up.url })
  await gw.admin$('POST', '/services', { name: 'ok', url: okUp.url })
  const configs: [string, Record<string, unknown>, string?][] = [
    ['key-auth1.test', {}],
    ['key-auth2.test', { hide_credentials: true, realm: 'test-realm' }],
    ['key-auth3.test', { anonymous: anonymous.id }],
    ['key-auth4.test', { anonymous: '00000000-0000-4000-8000-00000000dead' }],
    ['key-auth5.test', { key_in_body: true }],
    ['key-auth6.test', { key_in_body: true, hide_credentials: true }],
    ['key-auth7.test', { run_on_preflight: false }, 'ok'],
    ['key-auth8.test', { key_names: ['api_key'] }],
    ['key-auth10.test', { anonymous: 'no-body' }],
  ]
  for (const [host, config, service] of configs) {
    const route = await gw.admin$('POST', `/services/${service ?? 'mock'}/routes`, { hosts: [host] })
    await gw.admin$('POST', `/routes/${route.id as string}/plugins`, { name: 'key-auth', config })
  }

  t.test('unauthorized', async (t) => {
    t.equal((await call(gw, 'key-auth7.test', '/status/200', { method: 'OPTIONS' })).status, 200, 'preflight skipped')
    let r = await call(gw, 'key-auth1.test', '/status/200', { method: 'OPTIONS' })
    t.same([r.status, r.json.message], [401, 'No API key found in request'])
    r = await call(gw, 'key-auth1.test', '/status/200')
    t.same([r.status, r.json.message, r.headers['www-authenticate']], [401, 'No API key found in request', 'Key'])
    r = await call(gw, 'key-auth1.test', '/status/200', { headers: { apikey: '' } })
    t.same([r.status, r.json.message, r.headers['www-authenticate']], [401, 'No API key found in request', 'Key'])
    r = await call(gw, 'key-auth2.test', '/status/200', { headers: { apikey: '' } })
    t.same([r.status, r.headers['www-authenticate']], [401, 'Key realm="test-realm"'])
    r = await call(gw, 'key-auth1.test', '/status/200?apikey')
    t.same([r.status, r.json.message, r.headers['www-authenticate']], [401, 'No API key found in request', 'Key'])
    t.match(r.json.request_id, /^[0-9a-f]{32}$/)
  })

  t.test('key in the query string', async (t) => {
    t.equal((await call(gw, 'key-auth1.test', '/request?apikey=kong')).status, 200)
    let r = await call(gw, 'key-auth1.test', '/status/200?apikey=123')
    t.same([r.status, r.json.message, r.headers['www-authenticate']], [401, 'Invalid authentication credentials', 'Key'])
    r = await call(gw, 'key-auth1.test', '/status/200?apikey=kong&apikey=kong')
    t.same([r.status, r.json.message, r.headers['www-authenticate']], [401, 'Duplicate API key found', 'Key'])
  })

  for (const type of ['form', 'json', 'multipart'] as const) {
    t.test(`key in a ${type} body`, async (t) => {
      t.equal((await call(gw, 'key-auth5.test', '/request', { body: { apikey: 'kong' }, type })).status, 200)
      t.equal((await call(gw, 'key-auth5.test', '/request?apikey=kong', { body: { non_apikey: 'kong' }, type })).status, 200)
      t.equal((await call(gw, 'key-auth5.test', '/request?apikey=kong', { headers: { apikey: 'kong' }, body: { non_apikey: 'kong' }, type })).status, 200)
      const r = await call(gw, 'key-auth5.test', '/status/200', { body: { apikey: '123' }, type })
      t.same([r.status, r.json.message, r.headers['www-authenticate']], [401, 'Invalid authentication credentials', 'Key'])
    })
  }

  t.test('duplicates and bracketed names in bodies', async (t) => {
    let r = await call(gw, 'key-auth5.test', '/status/200', { method: 'POST', body: '{"apikey":["kong","kong"]}', headers: { 'content-type': 'application/json' } })
    t.same([r.status, r.json.message], [401, 'Duplicate API key found'])
    r = await call(gw, 'key-auth5.test', '/status/200', { method: 'POST', body: 'apikey=kong&apikey=kong', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    t.same([r.status, r.json.message], [401, 'Duplicate API key found'])
    for (const body of ['apikey[]=kong&apikey[]=kong', 'apikey[1]=kong&apikey[1]=kong']) {
      r = await call(gw, 'key-auth5.test', '/status/200', { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
      t.same([r.status, r.json.message, r.headers['www-authenticate']], [401, 'No API key found in request', 'Key'], body)
    }
  })

  t.test('key in headers, underscores and hyphens', async (t) => {
    t.equal((await call(gw, 'key-auth1.test', '/request', { headers: { apikey: 'kong' } })).status, 200)
    let r = await call(gw, 'key-auth1.test', '/status/200', { headers: { apikey: '123' } })
    t.same([r.status, r.json.message], [401, 'Invalid authentication credentials'])
    t.equal((await call(gw, 'key-auth8.test', '/request', { headers: { api_key: 'kong' } })).status, 200)
    t.equal((await call(gw, 'key-auth8.test', '/request', { headers: { 'api-key': 'kong' } })).status, 200)
    for (const h of ['api_key', 'api-key']) {
      r = await call(gw, 'key-auth8.test', '/request', { headers: { [h]: '123' } })
      t.same([r.status, r.json.message, r.headers['www-authenticate']], [401, 'Invalid authentication credentials', 'Key'], h)
    }
    r = await call(gw, 'key-auth1.test', '/status/200', { headers: { apikey: 'kong', 'x-other': '1' } })
    t.equal(r.status, 200)
  })

  t.test('consumer headers upstream; client-sent copies removed', async (t) => {
    const r = await call(gw, 'key-auth1.test', '/request?apikey=kong', {
      headers: { 'x-consumer-id': 'spoofed', 'x-anonymous-consumer': 'true', 'x-consumer-custom-id': 'spoofed' },
    })
    const h = (r.json as Echo).headers
    t.equal(h['x-consumer-id'], bob.id)
    t.equal(h['x-consumer-username'], 'bob')
    t.equal(h['x-credential-identifier'], cred.id)
    t.notOk('x-anonymous-consumer' in h)
    t.notOk('x-consumer-custom-id' in h, 'bob has no custom_id: the header is cleared')
  })

  t.test('hide_credentials', async (t) => {
    let e = (await call(gw, 'key-auth1.test', '/request?apikey=kong')).json as Echo
    t.equal(e.uri_args.apikey, 'kong')
    e = (await call(gw, 'key-auth2.test', '/request?apikey=kong')).json as Echo
    t.notOk('apikey' in e.uri_args)
    e = (await call(gw, 'key-auth1.test', '/request', { headers: { apikey: 'kong' } })).json as Echo
    t.equal(e.headers.apikey, 'kong')
    e = (await call(gw, 'key-auth2.test', '/request', { headers: { apikey: 'kong' } })).json as Echo
    t.notOk('apikey' in e.headers)
    for (const type of ['form', 'json', 'multipart'] as const) {
      e = (await call(gw, 'key-auth5.test', '/request', { method: 'POST', body: { apikey: 'kong' }, type })).json as Echo
      t.equal(e.post_data.params?.apikey, 'kong', `${type}: kept without hide_credentials`)
      e = (await call(gw, 'key-auth6.test', '/request', { method: 'POST', body: { apikey: 'kong' }, type })).json as Echo
      t.notOk(e.post_data.params !== undefined && 'apikey' in e.post_data.params, `${type}: removed`)
      e = (await call(gw, 'key-auth6.test', '/request', { method: 'POST', body: { apikey: 'kong', foo: 'bar' }, type })).json as Echo
      t.equal(e.post_data.params?.foo, 'bar', `${type}: the rest of the body survives`)
      t.notOk(e.post_data.params !== undefined && 'apikey' in e.post_data.params)
    }
    const r = await call(gw, 'key-auth6.test', '/status/200', { body: 'foobar', headers: { 'content-type': 'text/plain' } })
    t.same([r.status, r.json.message, r.headers['www-authenticate']], [401, 'No API key found in request', 'Key'])
    e = (await call(gw, 'key-auth1.test', '/request?c=value1&b=value2&apikey=kong&a=value3')).json as Echo
    t.equal(e.vars.request_uri, '/request?c=value1&b=value2&apikey=kong&a=value3')
    e = (await call(gw, 'key-auth2.test', '/request?c=value1&b=value2&apikey=kong&a=value3')).json as Echo
    t.equal(e.vars.request_uri, '/request?c=value1&b=value2&a=value3', 'order of the other arguments kept')
    e = (await call(gw, 'key-auth2.test', '/request?c=valu%651&b=value2&api%6B%65%79=kong&a=valu%653')).json as Echo
    t.equal(e.vars.request_uri, '/request?c=value1&b=value2&a=value3')
  })

  t.test('anonymous', async (t) => {
    let h = ((await call(gw, 'key-auth3.test', '/request?apikey=kong')).json as Echo).headers
    t.equal(h['x-consumer-username'], 'bob')
    t.equal(h['x-credential-identifier'], cred.id)
    t.notOk('x-anonymous-consumer' in h)
    h = ((await call(gw, 'key-auth3.test', '/request')).json as Echo).headers
    t.equal(h['x-anonymous-consumer'], 'true')
    t.equal(h['x-consumer-username'], 'no-body')
    t.notOk('x-credential-identifier' in h)
    h = ((await call(gw, 'key-auth10.test', '/request')).json as Echo).headers
    t.same([h['x-anonymous-consumer'], h['x-consumer-username']], ['true', 'no-body'], 'anonymous by username')
    const r = await call(gw, 'key-auth4.test', '/request')
    t.same([r.status, r.json.message], [500, "anonymous consumer 00000000-0000-4000-8000-00000000dead is configured but doesn't exist"])
    t.notOk('www-authenticate' in r.headers)
  })
})

// §2.4: the first enabled and present source (header, query, body) decides.
t.test('168 header/query/body combinations', async (t) => {
  const gw = await startTestGateway(t)
  const up = await startMockUpstream(t)
  await gw.admin$('POST', '/consumers', { username: 'bob' })
  await gw.admin$('POST', '/consumers/bob/key-auth', { key: 'right' })
  await gw.admin$('POST', '/services', { name: 's', url: `${up.url}/status/200` })
  const flags = ['ttt', 'ttf', 'tff', 'fff', 'fft', 'tft', 'ftf']
  for (const f of flags) {
    const route = await gw.admin$('POST', '/services/s/routes', { paths: [`/${f}`] })
    await gw.admin$('POST', `/routes/${route.id as string}/plugins`, {
      name: 'key-auth', config: { key_in_header: f[0] === 't', key_in_query: f[1] === 't', key_in_body: f[2] === 't' },
    })
  }
  const rows: [string, string, string, string][] = [
    ['right', 'right', 'right', '200 200 200 401 200 200 200'],
    ['right', 'right', 'wrong', '200 200 200 401 401 200 200'],
    ['right', 'wrong', 'wrong', '200 200 200 401 401 200 401'],
    ['wrong', 'wrong', 'wrong', '401 401 401 401 401 401 401'],
    ['wrong', 'wrong', 'right', '401 401 401 401 200 401 401'],
    ['right', 'wrong', 'right', '200 200 200 401 200 200 401'],
    ['wrong', 'right', 'wrong', '401 401 401 401 401 401 200'],
    ['-', '-', '-', '401 401 401 401 401 401 401'],
    ['-', '-', 'wrong', '401 401 401 401 401 401 401'],
    ['-', 'wrong', 'wrong', '401 401 401 401 401 401 401'],
    ['wrong', 'wrong', '-', '401 401 401 401 401 401 401'],
    ['-', 'wrong', '-', '401 401 401 401 401 401 401'],
    ['wrong', '-', 'wrong', '401 401 401 401 401 401 401'],
    ['right', 'right', '-', '200 200 200 401 401 200 200'],
    ['right', '-', '-', '200 200 200 401 401 200 401'],
    ['-', '-', 'right', '200 401 401 401 200 200 401'],
    ['right', '-', 'right', '200 200 200 401 200 200 401'],
    ['-', 'right', '-', '200 200 401 401 401 401 200'],
    ['-', 'right', 'wrong', '200 200 401 401 401 401 200'],
    ['right', 'wrong', '-', '200 200 200 401 401 200 401'],
    ['right', '-', 'wrong', '200 200 200 401 401 200 401'],
    ['-', 'wrong', 'right', '401 401 401 401 200 200 401'],
    ['wrong', 'right', '-', '401 401 401 401 401 401 200'],
    ['wrong', '-', 'right', '401 401 401 401 200 401 401'],
  ]
  let n = 0
  for (const [header, query, body, expected] of rows) {
    const want = expected.split(' ').map(Number)
    for (let i = 0; i < flags.length; i++) {
      n++
      const r = await call(gw, 'any.test', `/${flags[i] as string}${query === '-' ? '' : `?apikey=${query}`}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(header === '-' ? {} : { apikey: header }) },
        body: body === '-' ? '' : `apikey=${body}`,
      })
      t.equal(r.status, want[i], `combination #${n}: header ${header}, query ${query}, body ${body} on /${flags[i] as string}`)
      if (r.status === 401) t.equal(r.headers['www-authenticate'], 'Key', `combination #${n} announces Key`)
    }
  }
  t.equal(n, 168)
})

t.test('changes take effect on the next request', async (t) => {
  const gw = await startTestGateway(t)
  const up = await startMockUpstream(t)
  await gw.admin$('POST', '/services', { name: 's', url: up.url })
  await gw.admin$('POST', '/services/s/routes', { hosts: ['key-auth.test'] })
  await gw.admin$('POST', '/plugins', { name: 'key-auth' })
  const status = async (key: string): Promise<number> => (await call(gw, 'key-auth.test', '/', { headers: { apikey: key } })).status

  await gw.admin$('POST', '/consumers', { username: 'bob' })
  await gw.admin$('POST', '/consumers/bob/key-auth', { key: 'kong' })
  t.equal(await status('kong'), 200)
  await gw.admin$('DELETE', '/consumers/bob')
  t.equal(await status('kong'), 401, 'deleting the consumer revokes its key')

  await gw.admin$('POST', '/consumers', { username: 'bob' })
  const c = await gw.admin$('POST', '/consumers/bob/key-auth', { key: 'kong' })
  t.equal(await status('kong'), 200)
  await gw.admin$('DELETE', `/consumers/bob/key-auth/${c.id as string}`)
  t.equal(await status('kong'), 401, 'deleting the key')

  const c2 = await gw.admin$('POST', '/consumers/bob/key-auth', { key: 'kong' })
  await gw.admin$('PATCH', `/consumers/bob/key-auth/${c2.id as string}`, { key: 'kong-updated' })
  t.equal(await status('kong'), 401, 'renaming the key')
  t.equal(await status('kong-updated'), 200)

  // A ttl long enough for the first request however slow it is (a ttl of 1 can run out at
  // the next whole second, a few ms away), then cut to 1 s.
  const brief = await gw.admin$('POST', '/consumers/bob/key-auth', { key: 'brief', ttl: 100_000 })
  t.equal(await status('brief'), 200)
  await gw.admin$('PATCH', `/consumers/bob/key-auth/${brief.id as string}`, { ttl: 1 })
  await until(async () => await status('brief') === 401, 'the key to expire')
  t.equal(await status('brief'), 401, 'an expired key stops working')

  const plugin = (await gw.admin$('GET', '/plugins')).data[0]
  await gw.admin$('PATCH', `/plugins/${plugin.id as string}`, { enabled: false })
  t.equal(await status('nothing'), 200, 'a disabled plugin does not run')
  await gw.admin$('PATCH', `/plugins/${plugin.id as string}`, { enabled: true })
  t.equal(await status('nothing'), 401)
})
