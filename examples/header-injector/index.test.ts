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
  // The upstream gets what the gateway sends: the client's headers, the service's Host and
  // Kong's X-Forwarded-* / X-Real-IP / Via; nothing of the plugin's.
  t.match(r.upstream?.headers, { host: 'upstream.test', a: 'b', 'x-forwarded-host': 'tollgate.test', 'x-real-ip': '127.0.0.1' })
  t.notOk('x-served-by' in r.response.headers)
})
