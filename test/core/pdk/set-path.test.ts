// kong.service.request.setPath with non-ASCII paths, through a real gateway to an upstream
// that reports the request target it got: Kong escapes a path's UTF-8 bytes (set_path sets
// ngx.var.upstream_uri escaped), so 'é' goes as %C3%A9, never as the latin1 byte %E9, and a
// path read from kong.request.getPath goes back out unchanged.
import { definePlugin, Type } from '@tollgate/sdk'
import t from 'tap'
import { request } from 'undici'
import { startTestGateway, startUpstream } from '../../helpers/gateway.js'

const pathSetter = definePlugin({
  name: 'path-setter',
  version: '1.0.0',
  priority: 800,
  schema: Type.Object({ to: Type.Optional(Type.String()) }),
  access (kong, conf) {
    // No `to`: the client's own (normalized) path, round-tripped.
    kong.service.request.setPath(conf.to ?? kong.request.getPath())
  },
})

t.test('setPath percent-encodes UTF-8 bytes', async (t) => {
  const gw = await startTestGateway(t, { plugins: [pathSetter] })
  // The request target exactly as it arrived upstream.
  const up = await startUpstream(t, (req, res) => { res.setHeader('content-type', 'text/plain'); res.end(req.url) })
  await gw.admin$('POST', '/services', { name: 's', url: up.url })
  const cases: Array<[string, string | undefined, string]> = [
    // U+0080-U+00FF: the case that went out as one latin1 byte.
    ['latin', '/café/über/ÿ', '/caf%C3%A9/%C3%BCber/%C3%BF'],
    ['wide', '/€/日本', '/%E2%82%AC/%E6%97%A5%E6%9C%AC'],
    ['mixed', '/é€', '/%C3%A9%E2%82%AC'],
    ['ascii', '/a b', '/a%20b'],
    ['roundtrip', undefined, '/roundtrip/caf%C3%A9'],
  ]
  for (const [name, to] of cases) {
    await gw.admin$('POST', '/services/s/routes', { name, paths: [`/${name}`], strip_path: false })
    await gw.admin$('POST', `/routes/${name}/plugins`, { name: 'path-setter', config: to === undefined ? {} : { to } })
  }
  for (const [name, , want] of cases) {
    const target = name === 'roundtrip' ? '/roundtrip/caf%C3%A9' : `/${name}`
    const r = await request(`${gw.proxy}${target}`)
    t.equal(r.statusCode, 200, name)
    t.equal(await r.body.text(), want, `${name}: the upstream got ${want}`)
  }
})
