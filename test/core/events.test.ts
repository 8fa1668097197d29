// The diagnostics_channel events, seen by real subscribers over real requests.
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { request } from 'undici'
import type { ConfigChange, RequestEnd, UpstreamError } from '../../core/events.js'
import { echo, startTestGateway, startUpstream, until } from '../helpers/gateway.js'

function listen<M> (t: Test, name: string): M[] {
  const got: M[] = []
  const fn = (m: unknown): void => { got.push(m as M) }
  subscribe(name, fn)
  t.teardown(() => { unsubscribe(name, fn) })
  return got
}

t.test('tollgate:request:end reports each request once, with its ids, status, source, latencies and bytes', async (t) => {
  const ends = listen<RequestEnd>(t, 'tollgate:request:end')
  const gw = await startTestGateway(t)
  const up = await startUpstream(t, echo)
  const service = await gw.admin$('POST', '/services', { name: 's', url: up.url })
  const route = await gw.admin$('POST', '/services/s/routes', { paths: ['/r'], name: 'r' })
  const consumer = await gw.admin$('POST', '/consumers', { username: 'ann' })
  await gw.admin$('POST', '/consumers/ann/key-auth', { key: 'k1' })
  await gw.admin$('POST', '/routes/r/plugins', { name: 'key-auth' })

  const res = await request(`${gw.proxy}/r/x`, { method: 'POST', headers: { apikey: 'k1', 'content-type': 'text/plain' }, body: 'hello' })
  const text = await res.body.text()
  t.equal(res.statusCode, 200)
  await until(() => ends.length === 1, 'the request end')
  const m = ends[0] as RequestEnd
  t.match(m, {
    id: res.headers['x-kong-request-id'],
    method: 'POST',
    route: { id: route.id, name: 'r' },
    service: { id: service.id, name: 's' },
    consumer: { id: consumer.id, username: 'ann' },
    status: 200,
    source: 'service',
    completed: true,
    clientIp: '127.0.0.1',
    bytes: { request: 5 },
  })
  t.ok(m.bytes.response > text.length, 'response bytes count the head and the body')
  t.ok(m.latencies.upstream !== null && m.latencies.upstream >= 0)
  t.ok(m.latencies.request >= m.latencies.kong + (m.latencies.upstream as number) - 0.001, 'request latency covers the others')

  const denied = await request(`${gw.proxy}/r/x`)
  await denied.body.dump()
  await until(() => ends.length === 2, 'the second request end')
  t.match(ends[1], { status: 401, source: 'exit', route: { id: route.id }, consumer: null, latencies: { upstream: null }, bytes: { request: 0 } })

  const unmatched = await request(`${gw.proxy}/nowhere`)
  await unmatched.body.dump()
  await until(() => ends.length === 3, 'the third request end')
  t.match(ends[2], { status: 404, source: 'exit', route: null, service: null })
  t.equal(ends.length, 3, 'one message per request')
})

t.test('tollgate:upstream:error reports an upstream that cannot be reached, with the status sent', async (t) => {
  const errors = listen<UpstreamError>(t, 'tollgate:upstream:error')
  const ends = listen<RequestEnd>(t, 'tollgate:request:end')
  // A port that refuses connections: bound, then closed.
  const srv = createServer()
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  const port = (srv.address() as AddressInfo).port
  await new Promise<void>((resolve) => srv.close(() => resolve()))
  const gw = await startTestGateway(t)
  const service = await gw.admin$('POST', '/services', { name: 'down', url: `http://127.0.0.1:${port}`, retries: 1 })
  await gw.admin$('POST', '/services/down/routes', { paths: ['/down'] })
  const res = await request(`${gw.proxy}/down`)
  await res.body.dump()
  t.equal(res.statusCode, 502)
  await until(() => errors.length === 1 && ends.length === 1, 'the error and the end')
  t.match(errors[0], { id: res.headers['x-kong-request-id'], service: { id: service.id, name: 'down' }, target: { host: '127.0.0.1', port }, status: 502 })
  t.equal((errors[0]?.error as NodeJS.ErrnoException).code, 'ECONNREFUSED')
  t.match(ends[0], { status: 502, source: 'error' })
  t.ok((ends[0] as RequestEnd).latencies.upstream !== null, 'the upstream was tried')
})

t.test('tollgate:config:change reports each version the proxy moves to', async (t) => {
  const changes = listen<ConfigChange>(t, 'tollgate:config:change')
  const gw = await startTestGateway(t)
  t.same(changes, [{ version: gw.gateway.store.version() }], 'the version it starts with')
  await gw.admin$('POST', '/consumers', { username: 'a' })
  await gw.admin$('POST', '/consumers', { username: 'b' })
  await until(() => changes.length === 3, 'two more versions')
  t.equal(changes[2]?.version, gw.gateway.store.version())
  t.ok((changes[1] as ConfigChange).version < (changes[2] as ConfigChange).version)
})
