import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { runPlugin } from '@tollgate/sdk'
import t from 'tap'
import plugin from './index.js'

t.test('asks the service and forwards its answer', async (t) => {
  const service = createServer((req, res) => {
    const ip = new URL(req.url ?? '/', 'http://x').searchParams.get('ip')
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify(ip === '10.0.0.9' ? { allowed: false } : { tier: 'gold' }))
  })
  await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve))
  t.teardown(() => service.close())
  const url = `http://127.0.0.1:${(service.address() as AddressInfo).port}/tier`

  let r = await runPlugin(plugin, { config: { url } })
  t.equal(r.upstream?.headers['x-client-tier'], 'gold')
  t.equal(r.shared.tier, 'gold', 'kong.ctx.shared carries the answer to later plugins')

  r = await runPlugin(plugin, { config: { url }, request: { clientIp: '10.0.0.9', headers: { accept: 'application/json' } } })
  t.equal(r.upstream, undefined, 'not proxied')
  t.equal(r.response.status, 403)
  t.match(JSON.parse(r.response.body.toString()), { message: 'Forbidden by policy' })

  r = await runPlugin(plugin, { config: { url: 'http://127.0.0.1:1/nothing-listens' } })
  t.equal(r.upstream?.headers['x-client-tier'], 'unknown', 'fails open when the service is down')
  t.match(r.logs, [{ level: 'warn', message: /enrichment service unavailable/ }])
})
