// response-transformer (Kong's kong/plugins/response-transformer/handler.lua): headers in
// header_filter; the JSON body in body_filter, for JSON responses only.
import type { Kong } from '@tollgate/sdk'
import type { ResponseTransformerConfig } from './schema.js'
import { isBodyTransformSet, isJsonBody, transformHeaders, transformJsonBody } from './transform.js'

export function headerFilter (kong: Kong, conf: ResponseTransformerConfig): void {
  const headers = kong.response.getHeaders()
  transformHeaders(conf, headers, {
    clear: (name) => kong.response.clearHeader(name),
    set: (name, value) => kong.response.setHeader(name, value),
    add: (name, value) => kong.response.addHeader(name, value),
  })
  // A response that is not JSON, or a config with no JSON step, streams: there is nothing
  // to do to its body (Kong's body_filter returns at once then). Without the second test a
  // headers-only config held every JSON answer whole for nothing.
  if (!isBodyTransformSet(conf) || !isJsonBody(kong.response.getHeader('content-type'))) kong.plugin.skipBodyFilter()
}

export function bodyFilter (kong: Kong, conf: ResponseTransformerConfig): void {
  if (!isBodyTransformSet(conf) || !isJsonBody(kong.response.getHeader('content-type'))) return
  const raw = kong.response.getRawBody()
  const r = transformJsonBody(conf, (raw ?? Buffer.alloc(0)).toString('utf8'))
  if (r.error !== undefined) {
    kong.log.warn(`body transform failed: ${r.error}`)
    return
  }
  kong.response.setRawBody(r.body as string)
}
