// Per-request state that the PDK reads and changes. One object per request, built lazily:
// what no plugin asks for (query parsing, body parsing) is never computed.

import type { IncomingMessage, ServerResponse } from 'node:http'
import type { RouteMatch } from '../router/index.js'
import type { Consumer, Route, Service } from '../store/index.js'
import type { Entity } from '../store/store.js'

export type Headers = Record<string, string | string[]>

/** What will be sent upstream; plugins change it through kong.service.request. */
export interface UpstreamRequest {
  scheme: 'http' | 'https'
  method: string
  /** Path for the upstream, already escaped; set by the router, changed by setPath. */
  path: string
  /** Raw query string without '?', or undefined when there was none. */
  query: string | undefined
  headers: Headers
  /** A replacement body, when a plugin set one. */
  body: Buffer | undefined
}

/**
 * A copy of a header object, into `into` (a new one by default). A loop, not a spread:
 * header objects are built name by name from the wire, and V8 copies such objects by
 * spread about ten times slower than by a loop (several microseconds per response).
 */
export function copyHeaders (from: Headers, into: Headers = {}): Headers {
  for (const k in from) into[k] = from[k] as string | string[]
  return into
}

/** One change to the upstream request's headers, as kong.service.request made it. */
export type HeaderOp = ['set' | 'add', string, string | string[]] | ['del', string]

/** A header change: set replaces, add appends (Kong's add_header), del removes. */
export function setUpstreamHeader (headers: Headers, kind: HeaderOp[0], name: string, value: string | string[] | undefined): void {
  if (kind === 'del') {
    // Deleting turns the object into a slow dictionary for undici's reads; most deletes
    // (key-auth's X-Anonymous-Consumer, say) are of names that are not there.
    if (headers[name] !== undefined) delete headers[name]
    return
  }
  const v = value as string | string[]
  const prev = headers[name]
  headers[name] = kind === 'set' || prev === undefined ? v : [...(Array.isArray(prev) ? prev : [prev]), ...(Array.isArray(v) ? v : [v])]
}

/** Replays one recorded header change (see changeUpstreamHeader). */
export function applyHeaderOp (headers: Headers, op: HeaderOp): void {
  setUpstreamHeader(headers, op[0], op[1], op[2])
}

/** A response a plugin (or Tollgate) produced instead of proxying. */
export interface ExitResponse {
  status: number
  body: Buffer | string | undefined
  headers: Headers
}

const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'])

export type ResponseSource = 'service' | 'exit' | 'error'

/**
 * TLS settings a plugin chose for this request's upstream connection (kong.service's
 * setTlsVerify, setTlsVerifyDepth, setTlsVerifyStore, setTlsCertKey); each replaces the
 * service's (proxy/upstream-tls.ts).
 */
export interface TlsOverrides {
  verify?: boolean
  depth?: number
  /** PEM CA certificates to trust instead of the service's. */
  store?: string[]
  /** A PEM client certificate chain and its private key. */
  cert?: { chain: string, key: string }
}

/** A connection's two ends, as the PDK reports them. */
export interface Peer {
  ip: string
  port: number
  localPort: number
  /** Whether the connection is TLS. */
  tls: boolean
  /** The server name the client asked for in the TLS handshake (lower-cased), if any. */
  sni: string | undefined
}

/**
 * Reads a socket's addresses. The proxy does so once per connection and keeps the result:
 * each of node's address getters reads `socket._handle` twice, a megamorphic load (server
 * and upstream sockets differ in shape), six per request when read per request.
 */
export function peerOf (socket: { remoteAddress?: string, remotePort?: number, localPort?: number, encrypted?: boolean, servername?: string | false | null } | null | undefined): Peer {
  const sni = socket?.servername
  return {
    ip: socket?.remoteAddress ?? '',
    port: socket?.remotePort ?? 0,
    localPort: socket?.localPort ?? 0,
    tls: socket?.encrypted === true,
    sni: typeof sni === 'string' && sni !== '' ? sni.toLowerCase() : undefined,
  }
}

export class RequestContext {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly id: string
  /** performance.now() at arrival. */
  readonly started: number
  /** Date.now() at arrival, for kong.request.getStartTime. */
  readonly startedAt: number
  readonly rawPath: string
  readonly rawQuery: string | undefined
  /** Peer and listener addresses, kept: node drops req.socket once a request is done. */
  readonly clientIp: string
  readonly clientPort: number
  readonly localPort: number
  /** `https` on a TLS listener (Kong's ngx.var.scheme). */
  readonly scheme: 'http' | 'https'
  /** The TLS handshake's server name, lower-cased; undefined without TLS or SNI. */
  readonly sni: string | undefined
  /** Current phase bit (see phases.ts); 0 outside plugin handlers. */
  phase = 0
  match: RouteMatch | undefined
  route: Route | undefined
  service: Service | undefined
  consumer: Consumer | undefined
  credential: Entity | undefined
  upstream: UpstreamRequest | undefined
  /** The buffered client body, when a plugin reads it. */
  body: Buffer | undefined
  exit: ExitResponse | undefined
  source: ResponseSource = 'service'
  /** Response status and headers as the client will see them (header_filter onwards). */
  status = 0
  responseHeaders: Headers = {}
  /** The upstream response as it arrived. */
  serviceStatus: number | undefined
  upstreamHeaders: Headers | undefined
  /** The whole response body, when body_filter plugins run. */
  responseBody: Buffer | undefined
  /** Set when a plugin replaced the response body in body_filter. */
  responseBodyReplaced = false
  /**
   * Plugins whose body_filter has nothing to do for this request (kong.plugin.skipBodyFilter):
   * when no other body_filter runs, the response streams instead of being held whole.
   */
  bodyFilterOff: Set<string> | undefined
  upstreamStarted: number | undefined
  upstreamResponded: number | undefined
  /** The client connection's bytesWritten before this response began (see kong.log.sizes). */
  bytesBefore: number | undefined
  /**
   * A plugin set the upstream Host header (Kong's var.upstream_host): the balancer then
   * leaves it as the plugin set it, as it does for a route with preserve_host.
   */
  hostSet = false
  /** The peer selector's state for this request's attempts (proxy/upstream-peers.ts). */
  balancer: object | undefined
  /**
   * A cookie Tollgate sets on the response besides the upstream's own (consistent hashing
   * on a cookie the client did not send): added to, never replacing, the upstream's
   * Set-Cookie, as Kong's header_filter adds it.
   */
  hashCookie: string | undefined
  /** Upstream TLS settings plugins chose for this request (kong.service.setTls*). */
  upstreamTls: TlsOverrides | undefined
  // Made on first use: most requests never touch them, and each is an allocation.
  #shared: Record<string, unknown> | undefined
  #pluginCtx: Map<string, Record<string, unknown>> | undefined
  #serializeExtra: Record<string, unknown> | undefined
  #query: Record<string, string | true | (string | true)[]> | undefined
  #headers: Record<string, string | string[]> | undefined
  #headersRepeat = false
  #normalizedPath: string | undefined

  /** `peer`: the connection's addresses when already known (see peerOf); read from req.socket otherwise. */
  constructor (req: IncomingMessage, res: ServerResponse, id: string, peer: Peer = peerOf(req.socket)) {
    this.req = req
    this.res = res
    this.id = id
    this.started = performance.now()
    this.startedAt = Date.now()
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    this.rawPath = q === -1 ? url : url.slice(0, q)
    this.rawQuery = q === -1 ? undefined : url.slice(q + 1)
    this.clientIp = peer.ip
    this.clientPort = peer.port
    this.localPort = peer.localPort
    this.scheme = peer.tls ? 'https' : 'http'
    this.sni = peer.sni
  }

  /**
   * Changes a header of the upstream request, as kong.service.request's set, add and clear
   * do. One method for every change, so that an isolation worker's context (a subclass in
   * isolation/snapshot.ts) can also record it for the host to replay.
   */
  changeUpstreamHeader (up: UpstreamRequest, op: HeaderOp[0], name: string, value?: string | string[]): void {
    if (name === 'host' && op !== 'del') this.hostSet = true
    setUpstreamHeader(up.headers, op, name, value)
  }

  /** kong.ctx.shared. */
  get shared (): Record<string, unknown> { return (this.#shared ??= {}) }
  /** kong.ctx.plugin tables, by plugin name. */
  get pluginCtx (): Map<string, Record<string, unknown>> { return (this.#pluginCtx ??= new Map()) }
  /** Extra fields for kong.log.serialize(). */
  get serializeExtra (): Record<string, unknown> { return (this.#serializeExtra ??= {}) }
  // The three above as they are, without making them (undefined: nothing put there yet),
  // for the isolation snapshot, which sends each request's state.
  get sharedIfMade (): Record<string, unknown> | undefined { return this.#shared }
  pluginCtxIfMade (plugin: string): Record<string, unknown> | undefined { return this.#pluginCtx?.get(plugin) }
  get serializeExtraIfMade (): Record<string, unknown> | undefined { return this.#serializeExtra }

  /**
   * The client query, parsed once: repeated names become arrays, a bare name is `true`.
   * For reading only: kong.request.getQuery hands out copies (see copyQuery).
   */
  get query (): Readonly<Record<string, string | true | (string | true)[]>> {
    return (this.#query ??= parseQuery(this.rawQuery))
  }

  /** The query as a new object the caller may change, as Kong gives a new table per call. */
  copyQuery (): Record<string, string | true | (string | true)[]> {
    return copyTable(this.query, true)
  }

  /**
   * Request headers with lower-case names, a repeated one as an array (node joins most
   * repeats into one string, which would hide a duplicated API key). Built once, on use;
   * for reading only (plugins get copies, see copyHeaders).
   */
  get headers (): Readonly<Record<string, string | string[]>> {
    if (this.#headers === undefined) {
      const raw = this.req.rawHeaders
      // Usually no name repeats: then node's own parsed headers (built for the proxy path
      // anyway) are the answer, and copying them skips lower-casing every name again.
      // node joins or drops repeats and makes set-cookie an array, so neither may be there.
      const parsed = this.req.headers
      let names = 0
      for (const _ in parsed) names++
      if (names * 2 === raw.length && parsed['set-cookie'] === undefined) {
        this.#headers = { ...parsed } as Record<string, string>
        return this.#headers
      }
      const out: Record<string, string | string[]> = {}
      for (let i = 0; i < raw.length; i += 2) {
        const name = (raw[i] as string).toLowerCase()
        const value = raw[i + 1] as string
        const prev = out[name]
        out[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value]
      }
      this.#headers = out
      this.#headersRepeat = true
    }
    return this.#headers
  }

  /**
   * The headers as a new object the caller may change: kong.request.getHeaders gives one
   * per call, as Kong gives a new table (freezing one shared copy cost more than this).
   */
  copyHeaders (): Record<string, string | string[]> {
    return copyTable(this.headers, this.#headersRepeat)
  }

  /** The upstream's response headers without hop-by-hop ones (kong.service.response). */
  get serviceHeaders (): Headers | undefined {
    const raw = this.upstreamHeaders
    if (raw === undefined) return undefined
    const out: Headers = {}
    for (const k in raw) if (!HOP.has(k)) out[k] = raw[k] as string | string[]
    return out
  }

  get normalizedPath (): string {
    return this.#normalizedPath ?? this.rawPath
  }

  set normalizedPath (p: string) {
    this.#normalizedPath = p
  }
}

/** A shallow copy whose array values are copies too; `arrays` false: none can be there. */
function copyTable<V> (table: Readonly<Record<string, V | V[]>>, arrays: boolean): Record<string, V | V[]> {
  const out = { ...table }
  if (arrays) for (const k in out) { const v = out[k]; if (Array.isArray(v)) out[k] = [...v] }
  return out
}

/** Kong's query decoding: `+` is a space, `a` alone is `true`, repeats make arrays. */
export function parseQuery (raw: string | undefined): Record<string, string | true | (string | true)[]> {
  const out: Record<string, string | true | (string | true)[]> = {}
  if (raw === undefined || raw === '') return out
  for (const part of raw.split('&')) {
    if (part === '') continue
    const eq = part.indexOf('=')
    const name = decode(eq === -1 ? part : part.slice(0, eq))
    const value: string | true = eq === -1 ? true : decode(part.slice(eq + 1))
    const prev = out[name]
    out[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value]
  }
  return out
}

function decode (s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '))
  } catch {
    return s
  }
}

/** Form-style encoding with spaces as %20, as Kong re-serialises query strings. */
export function encodeQuery (entries: [string, string | true][]): string {
  return entries.map(([k, v]) => v === true ? encodeURIComponent(k) : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')
}

/** Parses a raw query into ordered entries, keeping bare names. */
export function queryEntries (raw: string | undefined): [string, string | true][] {
  if (raw === undefined || raw === '') return []
  return raw.split('&').filter((p) => p !== '').map((part) => {
    const eq = part.indexOf('=')
    return [decode(eq === -1 ? part : part.slice(0, eq)), eq === -1 ? true : decode(part.slice(eq + 1))]
  })
}
