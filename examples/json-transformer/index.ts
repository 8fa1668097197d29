// Rewrites JSON bodies both ways: drops fields from the request, adds fields to the
// response. Shows readsBody (the request body is buffered for it) and body_filter.
import { Type, definePlugin } from '@tollgate/sdk'

export const schema = Type.Object({
  remove_from_request: Type.Array(Type.String(), { default: [], description: 'Top-level fields dropped from JSON request bodies' }),
  add_to_response: Type.Record(Type.String(), Type.String(), { default: {}, description: 'Fields added to JSON response bodies' }),
}, { additionalProperties: false })

const isJson = (contentType: string | string[] | undefined): boolean =>
  typeof contentType === 'string' && contentType.toLowerCase().startsWith('application/json')

export default definePlugin({
  name: 'json-transformer',
  version: '1.0.0',
  priority: 801,
  schema,
  readsBody: (conf) => conf.remove_from_request.length > 0,
  access (kong, conf) {
    if (conf.remove_from_request.length === 0) return
    const [body, err] = kong.request.getBody()
    if (err !== undefined || body === undefined || Array.isArray(body)) return
    for (const field of conf.remove_from_request) delete body[field]
    kong.service.request.setBody(body, 'application/json')
  },
  headerFilter (kong, conf) {
    // The body changes length; the gateway recomputes Content-Length after body_filter.
    if (Object.keys(conf.add_to_response).length > 0) kong.response.clearHeader('content-length')
  },
  bodyFilter (kong, conf) {
    if (Object.keys(conf.add_to_response).length === 0 || !isJson(kong.response.getHeader('content-type'))) return
    const raw = kong.response.getRawBody()
    if (raw === undefined) return
    let parsed: unknown
    try { parsed = JSON.parse(raw.toString('utf8')) } catch { return }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return
    kong.response.setRawBody(JSON.stringify({ ...parsed, ...conf.add_to_response }))
  },
})
