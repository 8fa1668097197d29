// The head of an answer a plugin makes (kong.response.exit): Content-Length is the body's,
// except on a 204, which has none (RFC 9110 §8.6; Kong's request-termination spec
// "returns 204 without content length header" checks it).
import t from 'tap'
import { request } from 'undici'
import { definePlugin, Type } from '@tollgate/sdk'
import { startTestGateway } from '../../helpers/gateway.js'

const answer = definePlugin({
  name: 'answer',
  version: '1.0.0',
  priority: 1,
  schema: Type.Object({ status: Type.Integer({ default: 200 }) }),
  access (kong, conf) { kong.response.exit(conf.status, conf.status === 204 ? undefined : 'hello') },
})

t.test('exit heads', async (t) => {
  const gw = await startTestGateway(t, { plugins: [answer] })
  await gw.admin$('POST', '/routes', { name: 'r200', paths: ['/200'] })
  await gw.admin$('POST', '/routes', { name: 'r204', paths: ['/204'] })
  await gw.admin$('POST', '/routes/r200/plugins', { name: 'answer', config: { status: 200 } })
  await gw.admin$('POST', '/routes/r204/plugins', { name: 'answer', config: { status: 204 } })

  let res = await request(`${gw.proxy}/200`)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-length'], '5')
  t.equal(await res.body.text(), 'hello')

  res = await request(`${gw.proxy}/204`)
  t.equal(res.statusCode, 204)
  t.equal(res.headers['content-length'], undefined, 'no Content-Length on a 204')
  t.equal(await res.body.text(), '')
})
