// The proxy listener: HTTP plumbing around the request pipeline (pipeline.ts), plus
// WebSocket upgrades, which go through the same rewrite, routing and access.

import { randomFillSync } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { STATUS_CODES, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttp2Server, type Http2ServerResponse, type Http2Session } from 'node:http2'
import { createServer as createHttpsServer, type ServerOptions as HttpsOptions } from 'node:https'
import type { Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { Duplex } from 'node:stream'
import type { Logger } from '../log.js'
import { RequestContext, peerOf, type Peer } from '../runtime/context.js'
import type { Pipeline } from './pipeline.js'
import { rawHead } from '../http/raw-head.js'
import { drain } from '../listen.js'
import { DEFAULT_LIMITS, answerParseError, refusal, refuseConnect, serverOptions, toOriginForm, type ClientLimits } from './client-limits.js'
import { H2Request, H2Response } from './h2.js'
import type { TrafficWindow } from './traffic.js'

export interface ProxyStats {
  connectionsAccepted: number
  connectionsActive: number
  totalRequests: number
  /** Requests between their head arriving and their response's end (upgrades not counted). */
  requestsActive: number
}

export function newProxyStats (): ProxyStats {
  return { connectionsAccepted: 0, connectionsActive: 0, totalRequests: 0, requestsActive: 0 }
}

export interface ProxyDeps {
  pipeline: Pipeline
  log: Logger
  stats?: ProxyStats
  /** Where finished requests are counted second by second (the Manager's live view). */
  traffic?: TrafficWindow
  limits?: ClientLimits
  /** A TLS listener: its default certificates, SNI callback and Kong's TLS settings. */
  tls?: ProxyTls
}

export interface ProxyTls {
  options: HttpsOptions
  /** Offer HTTP/2 by ALPN besides HTTP/1.1 (the listener's `http2` flag). */
  http2: boolean
}

// nginx's http2_idle_timeout: a session with no open stream for this long is closed.
const H2_IDLE_MS = 180_000

export interface ProxyServer {
  server: Server
  stats: ProxyStats
  /** Connections handed over to an upgraded protocol; the HTTP server no longer tracks them. */
  upgraded: Set<Duplex>
  /** Stops accepting; requests still arriving on open connections are answered and closed. */
  drain(graceMs: number): Promise<void>
}

// Request ids as Kong makes them (32 random hex digits), cut from a block of random bytes
// made and hex-encoded 256 ids at a time: a crypto call, or even a Buffer-to-hex call, per
// request was a measurable part of the path. A slice of the block's string is a view, not
// a copy.
const ID_CHARS = 32
const ID_BLOCK = 256 * ID_CHARS
const idBytes = Buffer.allocUnsafe(ID_BLOCK / 2)
let idText = ''
let idOffset = ID_BLOCK

function requestId (): string {
  if (idOffset === ID_BLOCK) { idText = randomFillSync(idBytes).toString('hex'); idOffset = 0 }
  const id = idText.slice(idOffset, idOffset + ID_CHARS)
  idOffset += ID_CHARS
  return id
}

/** When a response's request started (performance.now()), for the traffic window. */
const kStarted = Symbol('tollgate.started')

export function createProxyServer (deps: ProxyDeps): ProxyServer {
  const stats = deps.stats ?? newProxyStats()
  const limits = deps.limits ?? DEFAULT_LIMITS
  const traffic = deps.traffic
  // 'close' comes once the response is written or the connection gone; a response never
  // started is nginx's 499, the client closed first. One listener for every response, and
  // the start time on the response itself: a closure per request kept each request's whole
  // context alive to the next tick and cost a fifth of the throughput in GC (bench, key-auth).
  const onClose = traffic === undefined
    ? function (): void { stats.requestsActive-- }
    : function (this: ServerResponse): void {
      stats.requestsActive--
      traffic.record(this.headersSent ? this.statusCode : 499, performance.now() - (this as unknown as Record<symbol, number>)[kStarted]!)
    }
  const tls = deps.tls
  const server: Server = tls === undefined
    ? createServer(serverOptions(limits))
    : createHttpsServer({ ...serverOptions(limits), ...tls.options, ALPNProtocols: tls.http2 ? ['h2', 'http/1.1'] : ['http/1.1'] })
  // node's default (2000) drops the headers past the count without a word; the head's
  // size limit is the one that applies, as in nginx.
  server.maxHeadersCount = 0
  const upgraded = new Set<Duplex>()

  const pipeline = deps.pipeline
  // Addresses per connection, read when it is accepted (see peerOf).
  const peers = new WeakMap<Socket, Peer>()

  let draining = false
  const onRequest = (req: IncomingMessage, res: ServerResponse, refused: number): void => {
    stats.totalRequests++
    stats.requestsActive++
    if (draining) res.shouldKeepAlive = false
    const ctx = new RequestContext(req, res, requestId(), peers.get(req.socket))
    if (traffic !== undefined) (res as unknown as Record<symbol, number>)[kStarted] = ctx.started
    res.on('close', onClose)
    try {
      const r = refused === 0 ? pipeline.handle(ctx) : pipeline.refuse(ctx, refused)
      if (r !== undefined) r.catch((err: unknown) => { fail(ctx, err) })
    } catch (err) {
      fail(ctx, err)
    }
  }
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    onRequest(req, res, toOriginForm(req) ? refusal(req, limits) : 0)
  })
  // Expect: 100-continue. node would invite the body before anything looked at the head;
  // a refused request (a Content-Length over the limit) is answered without the invitation.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    const refused = toOriginForm(req) ? refusal(req, limits) : 0
    if (refused === 0) res.writeContinue()
    onRequest(req, res, refused)
  })
  // What node's parser refused: a malformed or oversized head, a late one.
  server.on('clientError', answerParseError(deps.log, limits, requestId))
  // CONNECT: node would close the connection without a word; nginx answers 405.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => { refuseConnect(socket, requestId()) })
  function fail (ctx: RequestContext, err: unknown): void {
    deps.log.error({ err, request_id: ctx.id }, 'request failed')
    const res = ctx.res
    if (!res.headersSent) { res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' }); res.end('{"message":"An unexpected error occurred"}') } else res.destroy()
  }

  // WebSocket (and other) upgrades: the same phases, then bytes both ways (pipeline.upgrade).
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    stats.totalRequests++
    socket.on('error', () => socket.destroy())
    const ctx = new RequestContext(req, new UpgradeResponse(socket) as unknown as ServerResponse, requestId(), peers.get(req.socket as Socket))
    pipeline.upgrade(ctx, socket, head, upgraded).catch((err: unknown) => {
      deps.log.error({ err, request_id: ctx.id }, 'upgrade failed')
      socket.destroy()
    })
  })

  server.on('connection', (socket: Socket) => {
    if (tls === undefined) peers.set(socket, peerOf(socket))
    stats.connectionsAccepted++
    stats.connectionsActive++
    socket.once('close', () => { stats.connectionsActive-- })
  })
  const sessions = new Set<Http2Session>()
  if (tls !== undefined) {
    // https.Server hands every handshaken connection to HTTP/1's connection listener; the
    // ones that chose HTTP/2 by ALPN go to an HTTP/2 session instead. The HTTP/1 ones stay
    // with this server, which keeps tracking them (header timeouts, idle closing, drain).
    const http1 = server.listeners('secureConnection') as Array<(s: TLSSocket) => void>
    server.removeAllListeners('secureConnection')
    const h2 = tls.http2 ? createHttp2(onRequest, sessions, limits) : undefined
    server.on('secureConnection', (socket: TLSSocket) => {
      const peer = peerOf(socket)
      peers.set(socket, peer)
      if (h2 !== undefined && socket.alpnProtocol === 'h2') { h2.emit('connection', socket); return }
      for (const l of http1) l.call(server, socket)
    })
    // A failed handshake (a client that distrusts the certificate, a port scanner) is the
    // client's business, not an error of the gateway's.
    server.on('tlsClientError', (_err: Error, socket: TLSSocket) => { socket.destroy() })
  }
  return {
    server,
    stats,
    upgraded,
    drain: (graceMs) => {
      draining = true
      // Upgraded (WebSocket) connections have no request to finish; nginx, too, closes
      // them when a worker shuts down.
      for (const s of upgraded) s.destroy()
      // HTTP/2: GOAWAY, then the session ends once its open streams are answered.
      for (const s of sessions) s.close()
      return drain(server, graceMs)
    },
  }
}

/** The HTTP/2 side of a TLS listener: sessions come from its secureConnection dispatch. */
function createHttp2 (onRequest: (req: IncomingMessage, res: ServerResponse, refused: number) => void, sessions: Set<Http2Session>, limits: ClientLimits) {
  const h2 = createHttp2Server({
    Http2ServerRequest: H2Request,
    Http2ServerResponse: H2Response as unknown as typeof Http2ServerResponse,
    // The request head limit (large_client_header_buffers) applies to HTTP/2's header list too.
    maxSendHeaderBlockLength: 64 * 1024,
    settings: { maxHeaderListSize: limits.headSize },
  })
  h2.on('session', (session: Http2Session) => {
    sessions.add(session)
    session.once('close', () => sessions.delete(session))
    session.on('error', () => {})
    session.setTimeout(H2_IDLE_MS, () => session.close())
  })
  h2.on('request', (req: H2Request, res: Http2ServerResponse) => {
    const r = req as unknown as IncomingMessage
    onRequest(r, res as unknown as ServerResponse, refusal(r, limits, true))
  })
  h2.on('sessionError', () => {})
  return h2
}

/**
 * Stands in for a ServerResponse during an upgrade, so that an answer other than 101 (an
 * exit, an error) is written like any other response, as raw HTTP on the socket, and the
 * connection closes after it. 'close' is the socket's, for the log phase.
 */
class UpgradeResponse extends EventEmitter {
  headersSent = false
  shouldKeepAlive = false
  readonly #socket: Duplex
  #head = ''
  constructor (socket: Duplex) {
    super()
    this.#socket = socket
    socket.once('close', () => this.emit('close'))
  }

  get destroyed (): boolean { return this.#socket.destroyed }
  get writableFinished (): boolean { return this.#socket.writableFinished }
  getHeader (): undefined { return undefined }
  writeHead (status: number, headers: Record<string, string | string[]>): this {
    this.headersSent = true
    this.#head = rawHead(status, STATUS_CODES[status] ?? 'Unknown', { ...headers, connection: 'close' })
    return this
  }

  end (body?: Buffer | string): this {
    this.#socket.end(body === undefined ? this.#head : Buffer.concat([Buffer.from(this.#head), Buffer.from(body)]))
    return this
  }
}
