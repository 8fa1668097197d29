// HTTP/2 from clients, on TLS listeners with the `http2` flag. node's compatibility API
// gives requests and responses shaped like HTTP/1's, so the pipeline serves both; two
// differences are evened out here, where the objects are made:
// - a request's headers carry HTTP/2's pseudo-headers (`:method`, `:path`, `:authority`,
//   `:scheme`), which are no headers to route on or to forward; `:authority` is the Host;
// - a response may not carry HTTP/1's connection-specific headers (node throws on them),
//   and Kong's own answers do (426's `Connection: Upgrade`): they are dropped, as nginx's
//   HTTP/2 module drops them.

import { Http2ServerRequest, Http2ServerResponse, type OutgoingHttpHeaders } from 'node:http2'

const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade'])

export class H2Request extends Http2ServerRequest {
  constructor (...args: ConstructorParameters<typeof Http2ServerRequest>) {
    super(...args)
    const headers = this.headers
    // node's getters read these from the pseudo-headers, which are removed below: plain
    // writable properties instead (a rewrite sets url, as on HTTP/1's request).
    Object.defineProperty(this, 'method', { value: headers[':method'], writable: true, enumerable: true })
    Object.defineProperty(this, 'url', { value: headers[':path'], writable: true, enumerable: true })
    const authority = headers[':authority']
    if (headers.host === undefined && authority !== undefined) headers.host = authority
    for (const name in headers) if (name.charCodeAt(0) === 58 /* : */) delete headers[name]
    const raw = this.rawHeaders
    let w = 0
    for (let r = 0; r < raw.length; r += 2) {
      if ((raw[r] as string).charCodeAt(0) === 58) continue
      raw[w++] = raw[r] as string
      raw[w++] = raw[r + 1] as string
    }
    raw.length = w
    if (headers.host !== undefined && !raw.some((v, i) => i % 2 === 0 && v.toLowerCase() === 'host')) raw.push('host', headers.host)
  }
}

function withoutConnectionHeaders (headers: OutgoingHttpHeaders | undefined): OutgoingHttpHeaders | undefined {
  if (headers === undefined || Array.isArray(headers)) return headers
  let copy: OutgoingHttpHeaders | undefined
  for (const name in headers) {
    if (!CONNECTION_SPECIFIC.has(name.toLowerCase())) continue
    copy ??= { ...headers }
    delete copy[name]
  }
  return copy ?? headers
}

export class H2Response extends Http2ServerResponse {
  /** HTTP/1's per-connection reuse flag: streams of one session have no such thing. */
  shouldKeepAlive = true

  override setHeader (name: string, value: number | string | readonly string[]): void {
    if (CONNECTION_SPECIFIC.has(name.toLowerCase())) return
    super.setHeader(name, value)
  }

  override writeHead (statusCode: number, a?: string | OutgoingHttpHeaders, b?: OutgoingHttpHeaders): this {
    if (typeof a === 'string') return super.writeHead(statusCode, a, withoutConnectionHeaders(b))
    return super.writeHead(statusCode, withoutConnectionHeaders(a))
  }
}
