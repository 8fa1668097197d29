// Asks an HTTP service about the caller before proxying (with undici), and passes the
// answer upstream as a header; refuses the request when the service says no. An async
// handler: the gateway awaits it, in-process or isolated.
import { Type, definePlugin } from '@tollgate/sdk'
import { request } from 'undici'

export const schema = Type.Object({
  url: Type.String({ description: 'Service asked about each request; it gets the client IP as ?ip=' }),
  header: Type.String({ default: 'x-client-tier', description: 'Upstream header carrying the answer' }),
  timeout: Type.Integer({ minimum: 1, default: 500, description: 'Milliseconds to wait for the service' }),
}, { additionalProperties: false })

export default definePlugin({
  name: 'async-enrich',
  version: '1.0.0',
  priority: 900,
  schema,
  async access (kong, conf) {
    const url = `${conf.url}?ip=${encodeURIComponent(kong.client.getIp())}`
    let tier: string
    try {
      const res = await request(url, { headersTimeout: conf.timeout, bodyTimeout: conf.timeout })
      const body = await res.body.json() as { tier?: string, allowed?: boolean }
      if (body.allowed === false) return kong.response.error(403, 'Forbidden by policy')
      tier = body.tier ?? 'unknown'
    } catch (err) {
      kong.log.warn('enrichment service unavailable: ', (err as Error).message)
      tier = 'unknown'
    }
    kong.service.request.setHeader(conf.header, tier)
    kong.ctx.shared.tier = tier
  },
})
