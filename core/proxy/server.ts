// The proxy listener: HTTP plumbing around the request pipeline (pipeline.ts), plus
// WebSocket upgrades, which go through the same rewrite, routing and access.

import { randomFillSync } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { STATUS_CODES, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Logger } from '../log.js'
import { RequestContext, peerOf, type Peer } from '../runtime/context.js'
import type { Pipeline } from './pipeline.js'
import { rawHead } from '../http/raw-head.js'
import { drain } from '../listen.js'
import { DEFAULT_LIMITS, answerParseError, refusal, refuseConnect, serverOptions, toOriginForm, type ClientLimits } from './client-limits.js'

export interface ProxyStats {
  connectionsAccepted: number
  connectionsActive: number
  totalRequests: number
}

export function newProxyStats (): ProxyStats {
  return { connectionsAccepted: 0, connectionsActive: 0, totalRequests: 0 }
}

export interface ProxyDeps {
  pipeline: Pipeline
  log: Logger
  stats?: ProxyStats
  limits?: ClientLimits
}

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

export function createProxyServer (deps: ProxyDeps): ProxyServer {
  const stats = deps.stats ?? newProxyStats()
  const limits = deps.limits ?? DEFAULT_LIMITS
  const server = createServer(serverOptions(limits))
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
    if (draining) res.shouldKeepAlive = false
    const ctx = new RequestContext(req, res, requestId(), peers.get(req.socket))
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
    peers.set(socket, peerOf(socket))
    stats.connectionsAccepted++
    stats.connectionsActive++
    socket.once('close', () => { stats.connectionsActive-- })
  })
  return {
    server,
    stats,
    upgraded,
    drain: (graceMs) => {
      draining = true
      // Upgraded (WebSocket) connections have no request to finish; nginx, too, closes
      // them when a worker shuts down.
      for (const s of upgraded) s.destroy()
      return drain(server, graceMs)
    },
  }
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
