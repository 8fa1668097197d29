import { runPlugin } from '@tollgate/sdk'
import t from 'tap'
import plugin from './index.js'

t.test('sets upstream and response headers', async (t) => {
  const r = await runPlugin(plugin, {
    config: { upstream: { 'x-team': 'payments' }, response: { 'x-served-by': 'tollgate' } },
    request: { path: '/orders', headers: { 'x-team': 'spoofed' } },
  })
  t.equal(r.upstream?.headers['x-team'], 'payments', 'replaces what the client sent')
  t.equal(r.response.headers['x-served-by'], 'tollgate')
  t.equal(r.error, undefined)
})

t.test('defaults change nothing', async (t) => {
  const r = await runPlugin(plugin, { request: { headers: { a: 'b' } } })
  t.same(r.upstream?.headers, { host: 'tollgate.test', a: 'b' })
})
