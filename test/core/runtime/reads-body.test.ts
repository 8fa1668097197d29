// readsBody as a function of the config and the request's headers: the body is buffered
// before access only for the requests it says (request-size-limiting reads a body only
// when it comes without a Content-Length).
import t from 'tap'
import { request } from 'undici'
import { definePlugin, Type } from '@tollgate/sdk'
import { startTestGateway } from '../../helpers/gateway.js'

const peek = definePlugin({
  name: 'peek',
  version: '1.0.0',
  priority: 1,
  schema: Type.Object({ header: Type.String({ default: 'x-read' }) }),
  readsBody: (conf, req) => req.headers[conf.header] === 'yes',
  access (kong) {
    let seen: string
    try {
      seen = `read ${kong.request.getRawBody().length}`
    } catch {
      seen = 'not read'
    }
    kong.response.exit(200, seen)
  },
})

t.test('readsBody sees the request headers', async (t) => {
  const gw = await startTestGateway(t, { plugins: [peek] })
  await gw.admin$('POST', '/routes', { name: 'r', paths: ['/'] })
  await gw.admin$('POST', '/routes/r/plugins', { name: 'peek', config: {} })
  const send = async (headers: Record<string, string>): Promise<string> => {
    const res = await request(`${gw.proxy}/`, { method: 'POST', headers, body: 'hello' })
    return res.body.text()
  }
  t.equal(await send({ 'x-read': 'yes' }), 'read 5', 'buffered when the predicate says so')
  t.equal(await send({ 'x-read': 'no' }), 'not read', 'not buffered otherwise')
  t.equal(await send({}), 'not read')
})
