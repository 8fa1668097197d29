// The proxy server's count of requests in progress (ProxyStats.requestsActive), which the
// isolation pool reads to tell a lone request from a busy gateway: up when a request's
// head arrives, down when its response ends or its client goes.
import { request } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { createLogger } from '../../../core/log.js'
import type { Pipeline } from '../../../core/proxy/pipeline.js'
import { createProxyServer } from '../../../core/proxy/server.js'
import type { RequestContext } from '../../../core/runtime/context.js'
import { until } from '../../helpers/gateway.js'

t.test('requestsActive counts requests from head to the end of their response', async (t) => {
  // The server's collaborator, reduced to what this test needs: each request is held
  // until the test answers it.
  const held: RequestContext[] = []
  const pipeline = { handle: (ctx: RequestContext) => { held.push(ctx) }, refuse: async () => {}, upgrade: async () => {} } as unknown as Pipeline
  const proxy = createProxyServer({ pipeline, log: createLogger('error') })
  await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { proxy.server.closeAllConnections(); proxy.server.close(() => resolve()) }))
  const port = (proxy.server.address() as AddressInfo).port
  t.equal(proxy.stats.requestsActive, 0)

  const answered: Array<Promise<number>> = []
  const clients = [0, 1].map(() => request({ host: '127.0.0.1', port, path: '/', agent: false }))
  for (const c of clients) {
    answered.push(new Promise((resolve) => c.on('response', (res) => { res.resume(); resolve(res.statusCode ?? 0) })))
    c.on('error', () => {})
    c.end()
  }
  await until(() => held.length === 2, 'both requests to arrive')
  t.equal(proxy.stats.requestsActive, 2, 'two requests in progress')

  held[0]?.res.end('one')
  t.equal(await answered[0], 200)
  await until(() => proxy.stats.requestsActive === 1, 'the answered one to leave the count')

  // A client that goes away before its answer leaves the count too.
  clients[1]?.destroy()
  await until(() => proxy.stats.requestsActive === 0, 'the abandoned one to leave the count')
  t.equal(proxy.stats.totalRequests, 2)
})
