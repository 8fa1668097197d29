// Kong's spec/03-plugins/31-proxy-cache/04-invalidations_spec.lua (3.2.2) runs two Kong
// nodes and checks that purges reach both through cluster events. A Tollgate node's
// workers share one store, so the same cases run on one node with worker_processes = 2:
// what one worker stored is a hit on the other, and a purge through the Admin API (the
// primary) is seen by both at once. Then the store's bound: a full dictionary evicts its
// least recently used responses.
import t from 'tap'
import { Agent, request } from 'undici'
import { startTestGateway, until } from '../../helpers/gateway.js'
import { form, startGateway } from '../../helpers/process.js'
import { tempDir } from '../../helpers/store.js'
import { send, startCountingUpstream } from './upstream.js'

interface Seen { status: number, cache: string | undefined, key: string | undefined, worker: string }

/** One request on a new connection (so either worker may take it), with Kong-Debug to learn which did. */
async function fresh (proxy: string, path: string, host: string, headers: Record<string, string> = {}): Promise<Seen> {
  const agent = new Agent({ pipelining: 0 })
  try {
    const res = await request(`${proxy}${path}`, { dispatcher: agent, headers: { host, 'kong-debug': '1', ...headers } })
    await res.body.dump()
    return { status: res.statusCode, cache: res.headers['x-cache-status'] as string | undefined, key: res.headers['x-cache-key'] as string | undefined, worker: String(res.headers['tollgate-worker']) }
  } finally {
    await agent.close()
  }
}

/** Requests on new connections until each worker answered once; returns the first answer of each. */
async function eachWorker (ask: () => Promise<Seen>, workers = 2): Promise<Seen[]> {
  const first = new Map<string, Seen>()
  await until(async () => {
    const s = await ask()
    if (!first.has(s.worker)) first.set(s.worker, s)
    return first.size >= workers
  }, 'an answer from each worker')
  return [...first.values()]
}

t.test('worker_processes = 2: one store for the node (04-invalidations, on one node)', async (t) => {
  const up = await startCountingUpstream(t)
  const gw = await startGateway(t, ['--prefix', tempDir(t)], { TOLLGATE_WORKER_PROCESSES: '2', TOLLGATE_ALLOW_DEBUG_HEADER: 'on' })
  t.equal((await form(`${gw.admin}/services`, 'POST', { name: 's', url: up.url })).status, 201)
  t.equal((await form(`${gw.admin}/services/s/routes`, 'POST', { name: 'route-1', 'hosts[]': 'route-1.com' })).status, 201)
  t.equal((await form(`${gw.admin}/services/s/routes`, 'POST', { name: 'route-2', 'hosts[]': 'route-2.com' })).status, 201)
  // cache_control, so that `only-if-cached` asks a worker what it has without storing anything.
  const plugin1 = (await form(`${gw.admin}/routes/route-1/plugins`, 'POST', { name: 'proxy-cache', 'config.strategy': 'memory', 'config.cache_control': 'true' })).body.id as string
  const plugin2 = (await form(`${gw.admin}/routes/route-2/plugins`, 'POST', { name: 'proxy-cache', 'config.strategy': 'memory', 'config.cache_control': 'true' })).body.id as string
  // Until both workers run the plugins (each follows the configuration within a poll): each
  // worker's answer is a Miss. (A loop before this one waited to see a worker without the
  // plugin as well, and, when both had it at once, sat out its 30 s timeout, then was ignored.)
  let n = 0
  await until(async () => {
    const answers = await eachWorker(async () => fresh(gw.proxy, `/cache/60?warm=${n++}`, 'route-1.com'))
    return answers.every((a) => a.cache === 'Miss')
  }, 'the plugin on both workers')

  const onlyIfCached = { 'cache-control': 'only-if-cached' }
  const before = up.calls()
  const miss = await fresh(gw.proxy, '/cache/60', 'route-1.com')
  t.equal(miss.cache, 'Miss')
  const key = miss.key as string
  const stored = (k: string) => until(async () => (await form(`${gw.admin}/proxy-cache/${k}`, 'GET')).status === 200, `${k} to be stored`)
  await stored(key)
  await t.test('a response one worker stored is a hit on each (it("propagates purges via cluster events mechanism"), before the purge)', async (t) => {
    for (const s of await eachWorker(() => fresh(gw.proxy, '/cache/60', 'route-1.com', onlyIfCached))) {
      t.same([s.status, s.cache, s.key], [200, 'Hit', key], `worker ${s.worker}`)
    }
    t.equal(up.calls() - before, 1, 'the upstream was called once, by the miss')
  })
  const miss2 = await fresh(gw.proxy, '/cache/60', 'route-2.com')
  t.equal(miss2.cache, 'Miss')
  t.not(miss2.key, key, 'another route: another key')
  await stored(miss2.key as string)

  await t.test('it("propagates purges via cluster events mechanism"): a purge by plugin and key is seen by every worker', async (t) => {
    t.equal((await form(`${gw.admin}/proxy-cache/${plugin1}/caches/${key}`, 'DELETE')).status, 204)
    for (const s of await eachWorker(() => fresh(gw.proxy, '/cache/60', 'route-1.com', onlyIfCached))) {
      t.equal(s.status, 504, `worker ${s.worker} has nothing for only-if-cached`)
    }
    t.equal((await form(`${gw.admin}/proxy-cache/${plugin1}/caches/${key}`, 'GET')).status, 404)
    t.equal((await fresh(gw.proxy, '/cache/60', 'route-1.com')).cache, 'Miss')
    // A miss is stored once its body has gone out: on a busy machine, after the answer.
    await stored(key)
    t.equal((await form(`${gw.admin}/proxy-cache/${key}`, 'DELETE')).status, 204, 'a purge by key alone')
    for (const s of await eachWorker(() => fresh(gw.proxy, '/cache/60', 'route-1.com', onlyIfCached))) t.equal(s.status, 504, `worker ${s.worker}`)
  })

  await t.test('it("does not affect cache entries under other plugin instances")', async (t) => {
    t.equal((await form(`${gw.admin}/proxy-cache/${plugin2}/caches/${miss2.key as string}`, 'GET')).status, 200)
    for (const s of await eachWorker(() => fresh(gw.proxy, '/cache/60', 'route-2.com', onlyIfCached))) t.equal(s.cache, 'Hit', `worker ${s.worker}`)
  })

  await t.test('it("propagates global purges")', async (t) => {
    t.equal((await form(`${gw.admin}/proxy-cache`, 'DELETE')).status, 204)
    t.equal((await form(`${gw.admin}/proxy-cache/${plugin2}/caches/${miss2.key as string}`, 'GET')).status, 404)
    for (const s of await eachWorker(() => fresh(gw.proxy, '/cache/60', 'route-2.com', onlyIfCached))) t.equal(s.status, 504, `worker ${s.worker}`)
  })
})

t.test('a dictionary of 64k (nginx_http_lua_shared_dict) holds three 20 kB responses; a fourth evicts the least recently used', async (t) => {
  const gw = await startTestGateway(t, { config: { nginx_http_lua_shared_dict: 'tiny 64k' } })
  const up = await startCountingUpstream(t)
  await gw.admin$('POST', '/services', { name: 's', url: up.url })
  await gw.admin$('POST', '/services/s/routes', { name: 'r', hosts: ['lru.test'] })
  await gw.admin$('POST', '/routes/r/plugins', { name: 'proxy-cache', config: { strategy: 'memory', memory: { dictionary_name: 'tiny' } } })
  const get = (i: number): ReturnType<typeof send> => send(gw.proxy, `/big/20000?i=${i}`, 'lru.test')
  const keys: string[] = []
  for (const i of [1, 2, 3]) {
    const r = await get(i)
    t.equal(r.headers['x-cache-status'], 'Miss')
    keys.push(r.headers['x-cache-key'] as string)
  }
  for (const k of keys) t.equal((await gw.admin$('GET', `/proxy-cache/${k}`)).status, 200, 'three fit')
  // Reads are recorded once a second per entry (approximate LRU): the hit on 1 must come
  // a second after 1 was written to count as more recent than 2 and 3.
  const mark = Date.now()
  await until(() => Date.now() - mark > 1100, 'a second to pass')
  t.equal((await get(1)).headers['x-cache-status'], 'Hit')
  const fourth = await get(4)
  t.equal(fourth.headers['x-cache-status'], 'Miss')
  const present = async (k: string): Promise<boolean> => (await request(`${gw.admin}/proxy-cache/${k}`)).statusCode === 200
  t.ok(await present(keys[0] as string), '1, read last, stays')
  t.notOk(await present(keys[1] as string), '2, the least recently used, is evicted')
  t.notOk(await present(keys[2] as string), '3 too: evictions go down to 90% of the size')
  t.ok(await present(fourth.headers['x-cache-key'] as string), 'the response just stored stays')
  t.equal((await get(2)).headers['x-cache-status'], 'Miss', 'an evicted response is fetched again')
  t.equal((await get(1)).headers['x-cache-status'], 'Hit')
})

t.test('a response larger than the whole dictionary is not stored (nginx: no memory)', async (t) => {
  const gw = await startTestGateway(t, { config: { nginx_http_lua_shared_dict: 'tiny 16k' } })
  const up = await startCountingUpstream(t)
  await gw.admin$('POST', '/services', { name: 's', url: up.url })
  await gw.admin$('POST', '/services/s/routes', { name: 'r', hosts: ['big.test'] })
  await gw.admin$('POST', '/routes/r/plugins', { name: 'proxy-cache', config: { strategy: 'memory', memory: { dictionary_name: 'tiny' } } })
  // Chunked: it is held, found too large when stored, and answered whole.
  t.equal((await send(gw.proxy, '/big/20000', 'big.test')).headers['x-cache-status'], 'Miss')
  const again = await send(gw.proxy, '/big/20000', 'big.test')
  t.equal(again.headers['x-cache-status'], 'Miss', 'not stored')
  t.equal(again.text.length, 20008, 'and answered whole')
  // With a Content-Length that says so before the body comes: a Bypass, streamed, not held
  // whole to be dropped (nor, past the proxy's buffering limit, cut off).
  const sized = await send(gw.proxy, '/sized/20000', 'big.test')
  t.equal(sized.headers['x-cache-status'], 'Bypass', 'too large for the dictionary: a Bypass')
  t.equal(sized.text.length, 20008, 'answered whole')
  const calls = up.calls()
  t.equal((await send(gw.proxy, '/sized/20000', 'big.test')).headers['x-cache-status'], 'Bypass', 'not stored')
  t.equal(up.calls(), calls + 1, 'the upstream answered again')
})
