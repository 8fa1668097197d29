// A request with Expect: 100-continue is proxied (the client gets its 100 Continue from
// the gateway; the upstream gets the body, without the Expect header). It was a 502: the
// upstream client refuses to send Expect.
import { request as httpRequest } from 'node:http'
import t from 'tap'
import { startTestGateway } from '../../helpers/gateway.js'
import { startMockUpstream } from '../../helpers/mock-upstream.js'

t.test('Expect: 100-continue', async (t) => {
  const gw = await startTestGateway(t)
  const up = await startMockUpstream(t)
  await gw.admin$('POST', '/services', { name: 'mock', url: up.url })
  await gw.admin$('POST', '/services/mock/routes', { paths: ['/'] })
  const url = new URL(gw.proxy)
  const { status, body, continued } = await new Promise<{ status: number, body: any, continued: boolean }>((resolve, reject) => {
    let continued = false
    const req = httpRequest({ host: url.hostname, port: url.port, method: 'POST', path: '/request', headers: { expect: '100-continue', 'content-length': 5 } }, (res) => {
      let text = ''
      res.on('data', (c: Buffer) => { text += c.toString() })
      res.on('end', () => resolve({ status: res.statusCode as number, body: JSON.parse(text), continued }))
    })
    req.on('error', reject)
    req.on('continue', () => { continued = true; req.end('hello') })
  })
  t.ok(continued, 'the client got 100 Continue')
  t.equal(status, 200)
  t.equal(body.post_data.text, 'hello')
  t.equal(body.headers.expect, undefined, 'no Expect upstream')
})
