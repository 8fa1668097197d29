// The proxy listener: HTTP plumbing around the request pipeline (pipeline.ts), plus
// WebSocket upgrades, which go through the same rewrite, routing and access.

import { randomFillSync } from 'node:crypto'
import { STATUS_CODES, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Logger } from '../log.js'
import { RequestContext, peerOf, type Peer } from '../runtime/context.js'
import type { Service } from '../store/index.js'
import { STATUS_MESSAGES, errorBody, negotiate } from './errors.js'
import type { Pipeline } from './pipeline.js'
import type { Upstreams } from './upstreams.js'
import { drain } from '../listen.js'

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
  upstreams: Upstreams
  log: Logger
  stats?: ProxyStats
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
  const server = createServer()
  const upgraded = new Set<Duplex>()

  const pipeline = deps.pipeline
  // Addresses per connection, read when it is accepted (see peerOf).
  const peers = new WeakMap<Socket, Peer>()

  let draining = false
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    stats.totalRequests++
    if (draining) res.shouldKeepAlive = false
    const ctx = new RequestContext(req, res, requestId(), peers.get(req.socket))
    try {
      const r = pipeline.handle(ctx)
      if (r !== undefined) r.catch((err: unknown) => { fail(ctx, err) })
    } catch (err) {
      fail(ctx, err)
    }
  })
  function fail (ctx: RequestContext, err: unknown): void {
    deps.log.error({ err, request_id: ctx.id }, 'request failed')
    const res = ctx.res
    if (!res.headersSent) { res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' }); res.end('{"message":"An unexpected error occurred"}') } else res.destroy()
  }

  // WebSocket (and other) upgrades: same route and upstream request, then bytes both ways.
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    stats.totalRequests++
    socket.on('error', () => socket.destroy())
    const ctx = new RequestContext(req, new UpgradeResponse(socket) as unknown as ServerResponse, requestId(), peers.get(req.socket as Socket))
    const answer = (status: number, headers: Record<string, string | string[]>, body: Buffer | string | undefined): void => {
      const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`]
      const all: Record<string, string | string[]> = { ...headers, 'content-length': String(body === undefined ? 0 : Buffer.byteLength(body)), connection: 'close' }
      if (pipeline.sendsRequestId) all['x-kong-request-id'] = ctx.id
      for (const [k, v] of Object.entries(all)) for (const x of Array.isArray(v) ? v : [v]) lines.push(`${k}: ${x}`)
      socket.end(`${lines.join('\r\n')}\r\n\r\n${body === undefined ? '' : body.toString()}`)
    }
    Promise.resolve().then(() => pipeline.gate(ctx)).then(() => {
      if (ctx.exit !== undefined) { answer(ctx.exit.status, ctx.exit.headers, ctx.exit.body); return }
      const up = ctx.upstream as NonNullable<RequestContext['upstream']>
      const service = ctx.service as Service
      // undici writes Connection and Upgrade itself from the `upgrade` option.
      deps.upstreams.pool(service).dispatch({
        method: 'GET',
        path: up.query === undefined ? up.path : `${up.path}?${up.query}`,
        headers: up.headers,
        upgrade: req.headers.upgrade ?? 'websocket',
        headersTimeout: service.read_timeout,
      }, {
        onRequestStart () {},
        onRequestUpgrade (_c, statusCode, upstreamHeaders, upstream) {
          const lines = [`HTTP/1.1 ${statusCode} Switching Protocols`]
          for (const [name, value] of Object.entries(upstreamHeaders)) {
            for (const v of Array.isArray(value) ? value : [value]) if (v !== undefined) lines.push(`${name}: ${v}`)
          }
          if (pipeline.sendsRequestId) lines.push(`x-kong-request-id: ${ctx.id}`)
          socket.write(`${lines.join('\r\n')}\r\n\r\n`)
          if (head.length > 0) upstream.write(head)
          upstream.on('error', () => socket.destroy())
          upgraded.add(socket)
          socket.on('close', () => { upgraded.delete(socket); upstream.destroy() })
          upstream.on('close', () => socket.destroy())
          upstream.pipe(socket)
          socket.pipe(upstream)
        },
        onResponseStart () {},
        onResponseData () {},
        onResponseEnd () { socket.destroy() },
        onResponseError (_c, err) {
          const timeout = ['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT'].includes((err as NodeJS.ErrnoException).code ?? '')
          const status = timeout ? 504 : 502
          const { body, contentType } = errorBody(negotiate(req, true), STATUS_MESSAGES[status] as string, ctx.id)
          answer(status, { 'content-type': contentType }, body)
        },
      })
    }, () => socket.destroy())
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

/** Stands in for a ServerResponse during an upgrade: nothing is written through it. */
class UpgradeResponse {
  headersSent = false
  writableFinished = false
  readonly #socket: Duplex
  constructor (socket: Duplex) { this.#socket = socket }
  get destroyed (): boolean { return this.#socket.destroyed }
  once (): this { return this }
  off (): this { return this }
  getHeader (): undefined { return undefined }
}

