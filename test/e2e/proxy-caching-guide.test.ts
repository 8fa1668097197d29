// Kong's "Proxy Caching" getting-started guide (chapter 4 of Get Started), command for
// command: form bodies as its curl commands send them, against `tollgate start` run the
// way the README runs it, in a child process with its own prefix. The guide's mock
// service is replaced by a local echo upstream, which answers `application/json`.
import t from 'tap'
import { guideGet as get, servicesAndRoutes, type GuideAnswer } from '../helpers/get-started.js'
import { form } from '../helpers/process.js'

// The guide's POST body, the same at every scope.
const CACHE = {
  name: 'proxy-cache',
  'config.request_method': 'GET',
  'config.response_code': '200',
  'config.content_type': 'application/json',
  'config.cache_ttl': '30',
  'config.strategy': 'memory',
}

t.test('the Proxy Caching guide', async (t) => {
  // Prerequisite: the Services and Routes chapter.
  const { gw, mock } = await servicesAndRoutes(t)
  const A = gw.admin
  let r: Awaited<ReturnType<typeof form>>

  /**
   * The guide's validation: a Miss, then within the TTL a Hit with the same key. The echo
   * upstream sends back the request's X-Call header, so a Hit that reached the upstream
   * would show the second call's value instead of the first's.
   */
  const missThenHit = async (scope: string, headers: Record<string, string> = {}): Promise<string> => {
    const first = await get(mock, { ...headers, 'x-call': 'first' })
    t.equal(first.status, 200, `${scope}: proxied`)
    t.equal(first.headers['x-cache-status'], 'Miss', `${scope}: the first request is a Miss`)
    const key = first.headers['x-cache-key'] as string
    t.match(key, /^[0-9a-f]{64}$/, `${scope}: X-Cache-Key is a SHA-256 in hex`)
    const second = await get(mock, { ...headers, 'x-call': 'second' })
    t.equal(second.headers['x-cache-status'], 'Hit', `${scope}: the same request again is a Hit`)
    t.equal(second.headers['x-cache-key'], key, `${scope}: with the same key`)
    t.equal(second.body.headers['x-call'], 'first', `${scope}: answered from the cache, not by the upstream`)
    t.ok(Number(second.headers.age) >= 0, `${scope}: Age on a Hit`)
    return key
  }

  // Global proxy caching.
  r = await form(`${A}/plugins`, 'POST', CACHE)
  t.equal(r.status, 201)
  t.same(r.body.config.request_method, ['GET'], 'one value becomes a one-element array')
  t.same(r.body.config.response_code, [200])
  t.same(r.body.config.content_type, ['application/json'])
  t.same([r.body.config.cache_ttl, r.body.config.strategy], [30, 'memory'])
  const key = await missThenHit('global')

  // Manage cached entities (the guide's last section), with the key the headers gave.
  let e = await get(`${A}/proxy-cache/${key}`)
  t.equal(e.status, 200, 'GET /proxy-cache/{key} finds the entry')
  t.equal(e.body.status, 200)
  t.match(e.body.headers, { 'x-cache-status': 'Miss' }, 'the entry holds the response as it was sent')
  t.ok(typeof e.body.body === 'string' && e.body.body.includes('"first"'), 'and its body')
  t.equal((await form(`${A}/proxy-cache/${key}`, 'DELETE')).status, 204, 'DELETE /proxy-cache/{key}')
  e = await get(`${A}/proxy-cache/${key}`)
  t.equal(e.status, 404, 'gone')
  t.equal((await get(mock)).headers['x-cache-status'], 'Miss', 'the next request is a Miss again')
  t.equal((await form(`${A}/proxy-cache`, 'DELETE')).status, 204, 'DELETE /proxy-cache empties the cache')
  t.equal((await get(mock)).headers['x-cache-status'], 'Miss', 'a Miss after the purge')
  t.equal((await form(`${A}/plugins/${r.body.id as string}`, 'DELETE')).status, 204)
  t.equal((await get(mock)).headers['x-cache-status'], undefined, 'no cache headers without the plugin')

  // Service and route level: the same request, posted to the service and to the route.
  // Kong's key does not name the plugin instance, so an entry stored under one scope is a
  // Hit under the next; and DELETE /proxy-cache empties the stores of the proxy-cache
  // plugins that exist (Kong's api.lua walks them), so the cache is emptied once each new
  // plugin is there, for each scope to start with a Miss.
  for (const scope of ['services/example_service', 'routes/example_route']) {
    r = await form(`${A}/${scope}/plugins`, 'POST', CACHE)
    t.equal(r.status, 201, `POST /${scope}/plugins`)
    t.equal((await get(mock)).headers['x-cache-status'], 'Hit', `${scope}: the entry stored under the previous scope`)
    t.equal((await form(`${A}/proxy-cache`, 'DELETE')).status, 204)
    await missThenHit(scope)
    t.equal((await form(`${A}/plugins/${r.body.id as string}`, 'DELETE')).status, 204)
  }

  // Consumer level: the guide's consumer. It applies once a consumer is identified, so the
  // key-auth chapter's set-up identifies sasha by an API key.
  r = await form(`${A}/consumers/`, 'POST', { username: 'sasha' })
  t.same([r.status, r.body.username], [201, 'sasha'])
  t.equal((await form(`${A}/consumers/sasha/key-auth`, 'POST', { key: 'sasha-key' })).status, 201)
  t.equal((await form(`${A}/plugins/`, 'POST', { name: 'key-auth', 'config.key_names': 'apikey' })).status, 201)
  r = await form(`${A}/consumers/sasha/plugins`, 'POST', CACHE)
  t.equal(r.status, 201)
  t.equal(r.body.consumer.id, (await get(`${A}/consumers/sasha`)).body.id)
  const consumerKey = await missThenHit('consumer', { apikey: 'sasha-key' })
  t.not(consumerKey, key, "a consumer's entries have keys of their own")

  gw.child.kill('SIGTERM')
  t.equal((await gw.exited).code, 0)
})
