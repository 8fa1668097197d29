// proxy-cache with isolated_plugins: its handlers run in worker threads, which open the
// node's shared dictionaries themselves (with the declared sizes) and send back what they
// did, kong.plugin.skipBodyFilter() included. Not a Kong spec: Tollgate's isolation.
import t from 'tap'
import { request } from 'undici'
import { startTestGateway } from '../../helpers/gateway.js'
import { send, startCountingUpstream } from './upstream.js'

t.test('isolated: miss, hit without the upstream, purge, and a bypass that streams', async (t) => {
  const gw = await startTestGateway(t, { config: { isolated_plugins: 'proxy-cache', nginx_http_lua_shared_dict: 'iso_cache 1m' } })
  const up = await startCountingUpstream(t)
  await gw.admin$('POST', '/services', { name: 's', url: up.url })
  await gw.admin$('POST', '/services/s/routes', { name: 'r', hosts: ['iso.test'] })
  await gw.admin$('POST', '/routes/r/plugins', { name: 'proxy-cache', config: { strategy: 'memory', memory: { dictionary_name: 'iso_cache' } } })
  const before = up.calls()
  const miss = await send(gw.proxy, '/get', 'iso.test')
  t.equal(miss.headers['x-cache-status'], 'Miss')
  const hit = await send(gw.proxy, '/get', 'iso.test')
  t.equal(hit.headers['x-cache-status'], 'Hit')
  t.equal(hit.text, miss.text)
  t.equal(up.calls() - before, 1, 'the hit did not reach the upstream')
  t.equal((await request(`${gw.admin}/proxy-cache/${miss.headers['x-cache-key'] as string}`, { method: 'DELETE' })).statusCode, 204, 'the Admin API sees what the worker threads stored')
  t.equal((await send(gw.proxy, '/get', 'iso.test')).headers['x-cache-status'], 'Miss')

  const res = await request(`${gw.proxy}/hold?status=418`, { headers: { host: 'iso.test' } })
  t.equal(res.headers['x-cache-status'], 'Bypass')
  const it = res.body[Symbol.asyncIterator]()
  t.equal(Buffer.from((await it.next()).value as Buffer).toString(), 'first,', 'streamed while the upstream holds the rest')
  up.release()
  for (let c = await it.next(); c.done !== true; c = await it.next());
})
