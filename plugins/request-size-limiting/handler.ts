// request-size-limiting's access phase (kong/plugins/request-size-limiting/handler.lua): a
// request's Content-Length is checked without reading the body; a body without one
// (chunked) is read whole and measured.

import type { BodyRequest, Kong } from '@tollgate/sdk'
import { UNIT_BYTES, type RequestSizeLimitingConfig } from './schema.js'

const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v)

/** The request's Content-Length when it is a number (Lua's tonumber; Node's parser admits only digits). */
function contentLength (headers: BodyRequest['headers']): number | undefined {
  const cl = first(headers['content-length'])
  if (cl === undefined || cl.trim() === '') return undefined
  const n = Number(cl)
  return Number.isNaN(n) ? undefined : n
}

/** The body is read only when it has no usable Content-Length and is sent at all (Transfer-Encoding). */
export function readsBody (_conf: RequestSizeLimitingConfig, request: BodyRequest): boolean {
  return contentLength(request.headers) === undefined && request.headers['transfer-encoding'] !== undefined
}

function checkSize (kong: Kong, length: number, conf: RequestSizeLimitingConfig): void {
  if (conf.allowed_payload_size === null) return
  if (length <= conf.allowed_payload_size * UNIT_BYTES[conf.size_unit]) return
  const expect = kong.request.getHeader('expect')
  kong.response.error(expect !== undefined && expect.toLowerCase().trim() === '100-continue' ? 417 : 413, 'Request size limit exceeded')
}

export function access (kong: Kong, conf: RequestSizeLimitingConfig): void {
  const headers = kong.request.getHeaders()
  const cl = contentLength(headers)
  if (cl !== undefined) {
    checkSize(kong, cl, conf)
    return
  }
  if (conf.require_content_length && first(headers['transfer-encoding']) !== 'chunked') {
    kong.response.error(411, 'A valid Content-Length header is required')
    return
  }
  if (readsBody(conf, { headers })) checkSize(kong, kong.request.getRawBody().length, conf)
}
