// A request described as data, standing in for node's IncomingMessage and ServerResponse
// where a RequestContext is made without a socket: an isolation worker rebuilding a
// snapshot, and the SDK's test kit running a plugin on a request it was given.

/** What DataRequest is made from: the request line, headers and the connection's addresses. */
export interface RequestData {
  method: string
  url: string
  httpVersion: string
  /** Names and values in turn, as node's rawHeaders. */
  rawHeaders: string[]
  clientIp: string
  clientPort: number
  localPort: number
  /** The client connection was TLS, with this SNI (undefined: none). */
  tls?: boolean
  sni?: string
}

/**
 * Enough of an IncomingMessage for RequestContext, the route step and the PDK; header maps
 * built on use. A class, not an object literal with getters: a worker makes one per phase.
 */
export class DataRequest {
  readonly method: string
  readonly url: string
  readonly httpVersion: string
  readonly rawHeaders: string[]
  readonly socket: { remoteAddress: string, remotePort: number, localPort: number, encrypted: boolean, servername: string | undefined }
  #headers: Record<string, string | string[]> | undefined
  #distinct: Record<string, string[]> | undefined

  constructor (s: RequestData) {
    this.method = s.method
    this.url = s.url
    this.httpVersion = s.httpVersion
    this.rawHeaders = s.rawHeaders
    this.socket = { remoteAddress: s.clientIp, remotePort: s.clientPort, localPort: s.localPort, encrypted: s.tls === true, servername: s.sni }
  }

  get headers (): Record<string, string | string[]> {
    if (this.#headers === undefined) this.#build()
    return this.#headers as Record<string, string | string[]>
  }

  get headersDistinct (): Record<string, string[]> {
    if (this.#distinct === undefined) this.#build()
    return this.#distinct as Record<string, string[]>
  }

  #build (): void {
    const headers: Record<string, string | string[]> = {}
    const distinct: Record<string, string[]> = {}
    const raw = this.rawHeaders
    for (let i = 0; i < raw.length; i += 2) {
      const k = (raw[i] as string).toLowerCase()
      const v = raw[i + 1] as string
      const prev = headers[k]
      // Node joins repeats (set-cookie aside); the PDK reads repeats from rawHeaders.
      headers[k] = prev === undefined ? v : k === 'set-cookie' ? [...(Array.isArray(prev) ? prev : [prev]), v] : `${prev as string}, ${v}`
      ;(distinct[k] ??= []).push(v)
    }
    this.#headers = headers
    this.#distinct = distinct
  }
}

/** A response stand-in: plugins never write to it; kong.log.serialize reads its Content-Length. */
export class DetachedResponse {
  readonly headersSent = false
  readonly destroyed = false
  /** The Content-Length the response carries (or will). */
  contentLength: string | undefined

  constructor (contentLength?: string) {
    this.contentLength = contentLength
  }

  getHeader (name: string): string | undefined {
    return name.toLowerCase() === 'content-length' ? this.contentLength : undefined
  }
}
