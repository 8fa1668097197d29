// One request's HTTP I/O around Kong's phases. The phase runner (runtime/phase-runner.ts)
// sequences the plugins; this file sends the request upstream through undici, streams the
// answer back, and writes the responses Tollgate or a plugin made, for plain requests and
// for WebSocket (and other) upgrades alike.

import type { IncomingMessage } from 'node:http'
import { PassThrough, type Duplex } from 'node:stream'
import type { Dispatcher } from 'undici'
import { upstreamErrored, watchRequest } from '../events.js'
import type { Logger } from '../log.js'
import type { RequestContext, Headers } from '../runtime/context.js'
import { exitAsResponse } from '../runtime/exit.js'
import { isThenable, type PhaseRunner } from '../runtime/phase-runner.js'
import { anyBodyFilter, anyRuns, type Collected } from '../runtime/plugins.js'
import type { Service } from '../store/index.js'
import { WRITE_TIMEOUT, addDebugHeaders, attemptOutcome, proxiedResponseHead, upstreamFailed, upstreamResponse, wholeResponseHead, type HeaderFlags } from './respond.js'
import type { UpstreamPools } from './upstream-pools.js'
import { UPSTREAM_TLS, UpstreamTls, isTlsFailure, serverName } from './upstream-tls.js'
import { ServicePeers, type Peer, type PeerSelector } from './peers.js'
import { rawHead } from '../http/raw-head.js'
import { DEFAULT_LIMITS, closeWithoutBody, watchBody, type ClientLimits } from './client-limits.js'
import { errorExit } from '../runtime/exit.js'
import { ClientError, STATUS_MESSAGES } from '../http/errors.js'

// Kong's retry rule is nginx's `proxy_next_upstream error timeout`: an attempt that failed
// before a response goes to the next peer, but a request already sent with a
// non-idempotent method is not sent again. Failures to connect mean it was not sent.
// A failed TLS handshake is one too (nginx: an SSL handshake error is `error`).
const NOT_SENT = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT', UPSTREAM_TLS])
const MAYBE_SENT = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT'])
const NON_IDEMPOTENT = new Set(['POST', 'PATCH', 'LOCK'])

function retryable (code: string, method: string): boolean {
  // ERR_SSL_*: an alert after the handshake, with the request sent (a TLS 1.3 server
  // refusing our client certificate).
  return NOT_SENT.has(code) || ((MAYBE_SENT.has(code) || code.startsWith('ERR_SSL_')) && !NON_IDEMPOTENT.has(method))
}
/** How much of a body Tollgate holds for body_filter plugins, or for plugins that read the request body. */
export const MAX_BUFFERED_BODY = 64 * 1024 * 1024
/**
 * How much of a streamed client body is kept so that a failed attempt can be sent again
 * to the next peer. Kong can always retry: nginx buffers the whole body first (in memory,
 * then on disk). Tollgate streams, keeping the first bytes as they pass: a body larger
 * than this is not retried.
 */
export const RETRY_BODY_LIMIT = 64 * 1024

export interface PipelineDeps {
  phases: PhaseRunner
  /** Kong's own headers to add (see respond.ts headerFlags). */
  headers: HeaderFlags
  /** Kong's allow_debug_header. */
  debugHeader?: boolean
  pools: UpstreamPools
  /** TLS settings for https upstreams (upstream-tls.ts); without, no certificate rows are found. */
  tls?: UpstreamTls
  /** Where each attempt goes (peers.ts); the service's own host and port by default. */
  peers?: PeerSelector
  log: Logger
  limits?: ClientLimits
}

export class Pipeline {
  readonly #phases: PhaseRunner
  readonly #h: HeaderFlags
  readonly #debug: boolean
  readonly #pools: UpstreamPools
  readonly #tls: UpstreamTls
  readonly #peers: PeerSelector
  readonly #log: Logger
  readonly #limits: ClientLimits

  constructor (deps: PipelineDeps) {
    this.#phases = deps.phases
    this.#h = deps.headers
    this.#debug = deps.debugHeader === true
    this.#pools = deps.pools
    this.#tls = deps.tls ?? new UpstreamTls()
    this.#peers = deps.peers ?? new ServicePeers()
    this.#log = deps.log
    this.#limits = deps.limits ?? DEFAULT_LIMITS
  }

  /**
   * A request refused before any plugin runs (client-limits.ts refusal): Kong's error page
   * for `status`, and the connection closes without reading the body.
   */
  refuse (ctx: RequestContext, status: number): Promise<void> {
    errorExit(ctx, status, STATUS_MESSAGES[status] as string, true)
    // The body is not read: the connection closes once the answer is out (for one never
    // sent, after an Expect: 100-continue refused, without waiting for it).
    if (ctx.req.complete) ctx.res.shouldKeepAlive = false
    else closeWithoutBody(ctx.req, ctx.res)
    return this.#respondExit(ctx, [])
  }

  /** A plain HTTP request: the phases before proxying, then the upstream or the exit. */
  handle (ctx: RequestContext): void | Promise<void> {
    const collected = this.#phases.request(ctx)
    if (isThenable(collected)) return collected.then((c) => this.#dispatch(ctx, c))
    return this.#dispatch(ctx, collected)
  }

  /**
   * An upgrade request (WebSocket): the same phases; an exit is answered like any other
   * response, on the socket; a 101 from the upstream goes through header_filter, then
   * bytes flow both ways until either side closes, and log runs after.
   */
  upgrade (ctx: RequestContext, socket: Duplex, head: Buffer, upgraded: Set<Duplex>): Promise<void> {
    return Promise.resolve().then(() => this.#phases.request(ctx)).then((collected) => {
      if (ctx.exit !== undefined) return this.#respondExit(ctx, collected)
      this.#logAfter(ctx, collected)
      const up = ctx.upstream as NonNullable<RequestContext['upstream']>
      const service = ctx.service as Service
      const self = this
      ctx.upstreamStarted = performance.now()
      const peer = this.#peer(ctx, 0)
      if (peer === undefined) return this.#respondExit(ctx, collected, false)
      const peers = this.#peers
      // undici writes Connection and Upgrade itself from the `upgrade` option.
      this.#poolFor(ctx, peer, service).dispatch({
        method: 'GET',
        path: up.query === undefined ? up.path : `${up.path}?${up.query}`,
        headers: up.headers,
        upgrade: ctx.req.headers.upgrade ?? 'websocket',
        headersTimeout: service.read_timeout,
      }, {
        onRequestStart () {},
        onRequestUpgrade (_c, statusCode, upstreamHeaders, upstream) {
          peers.done(ctx, peer, 'response', statusCode)
          ctx.upstreamResponded = performance.now()
          ctx.serviceStatus = statusCode
          ctx.upstreamHeaders = upstreamHeaders as Headers
          ctx.status = statusCode
          ctx.responseHeaders = { ...(upstreamHeaders as Headers), ...ctx.responseHeaders }
          const open = (): void => {
            const headers = ctx.responseHeaders
            if (self.#h.requestId) headers['x-kong-request-id'] = ctx.id
            socket.write(rawHead(statusCode, 'Switching Protocols', headers))
            if (head.length > 0) upstream.write(head)
            upstream.on('error', () => socket.destroy())
            upgraded.add(socket)
            socket.on('close', () => { upgraded.delete(socket); upstream.destroy() })
            upstream.on('close', () => socket.destroy())
            upstream.pipe(socket)
            socket.pipe(upstream)
          }
          const r = self.#phases.headerFilter(ctx, collected)
          if (isThenable(r)) r.then(() => { if (socket.destroyed) upstream.destroy(); else open() }, () => {})
          else open()
        },
        // Not 101: the upstream refused the upgrade. The attempt is over (its address is
        // released, the status is passive evidence) and the client's socket closes.
        onResponseStart (_c, statusCode) { if (statusCode >= 200) peers.done(ctx, peer, 'response', statusCode) },
        onResponseData () {},
        onResponseEnd () { socket.destroy() },
        onResponseError (_c, err) {
          peers.done(ctx, peer, socket.destroyed ? 'aborted' : attemptOutcome(err))
          if (socket.destroyed) return
          self.#logFailure(ctx, peer, err)
          upstreamFailed(ctx, err)
          upstreamErrored(ctx, err)
          self.#respondExit(ctx, collected, false).catch(() => {})
        },
      })
    })
  }

  #dispatch (ctx: RequestContext, collected: Collected[]): void | Promise<void> {
    if (ctx.exit === undefined) {
      this.#forward(ctx, collected, 0)
      return
    }
    ctx.req.resume()
    return this.#respondExit(ctx, collected)
  }

  /**
   * Sends a response Tollgate or a plugin made (short-circuit, error, a failed upstream)
   * after the collected plugins' header_filter and body_filter. `log` is false when the
   * log phase is already arranged (the upstream was tried).
   */
  async #respondExit (ctx: RequestContext, collected: Collected[], log = true): Promise<void> {
    const body = await this.#phases.filterWhole(ctx, collected, exitAsResponse(ctx))
    const headers = wholeResponseHead(ctx, body, this.#h, this.#debug)
    if (log) this.#logAfter(ctx, collected)
    if (ctx.res.destroyed) return
    ctx.res.writeHead(ctx.status, headers)
    ctx.res.end(ctx.req.method === 'HEAD' ? undefined : body)
  }

  #logAfter (ctx: RequestContext, collected: Collected[]): void {
    // What the connection had written before this response: kong.log.sizes() counts from here.
    // HTTP/2: the socket is the session's, shared by concurrent streams; the response's own
    // count (responseSize) stands instead.
    ctx.bytesBefore = ctx.req.httpVersionMajor === 2 ? undefined : ctx.req.socket?.bytesWritten
    watchRequest(ctx)
    if (!anyRuns(collected, 'log')) return
    ctx.res.once('close', () => {
      // Off the response path: the client has its answer before loggers run.
      setImmediate(() => {
        const r = this.#phases.log(ctx, collected)
        if (isThenable(r)) r.catch(() => {})
      })
    })
  }

  /**
   * The peer for an attempt, with its Host header unless the route keeps the client's;
   * with none available, Kong's 503 is made the request's answer and undefined returned.
   */
  #peer (ctx: RequestContext, attempt: number): Peer | undefined {
    const peer = this.#peers.select(ctx, attempt)
    if (peer === undefined) {
      ctx.upstreamResponded = performance.now()
      errorExit(ctx, 503, 'failure to get a peer from the ring-balancer', false)
      ctx.source = 'error'
      return undefined
    }
    // Kong: a route's preserve_host, or a Host a plugin set, is kept (runloop's
    // balancer_data.preserve_host); otherwise each attempt carries its peer's.
    if (peer.hostHeader !== undefined && ctx.route?.preserve_host !== true && !ctx.hostSet) (ctx.upstream as NonNullable<RequestContext['upstream']>).headers.host = peer.hostHeader
    return peer
  }

  /** The connection pool for an attempt: for https, by the request's TLS settings and server name. */
  #poolFor (ctx: RequestContext, peer: Peer, service: Service): Dispatcher {
    if (peer.protocol !== 'https') return this.#pools.pool(peer, service)
    const tls = this.#tls.profile(service, peer.clientCertificate, ctx.upstreamTls)
    return this.#pools.pool(peer, service, tls, serverName((ctx.upstream as NonNullable<RequestContext['upstream']>).headers.host))
  }

  /**
   * A failed attempt in the log: TLS failures as errors with their reason, as nginx logs
   * "upstream SSL certificate verify error" for Kong; other failures for debugging.
   */
  #logFailure (ctx: RequestContext, peer: Peer, err: unknown): void {
    const upstream = `${peer.host}:${peer.port}`
    if (isTlsFailure(err)) this.#log.error({ err, upstream, service: ctx.service?.id, request: ctx.id }, (err as Error).message)
    else this.#log.debug({ err, upstream }, 'upstream request failed')
  }

  /**
   * One attempt; a failed one that may be retried goes again, to the peer the selector
   * picks next. `sent`: the streamed client body of earlier attempts, to send again.
   */
  #forward (ctx: RequestContext, collected: Collected[], attempt: number, sent?: StreamedBody): void {
    const { req, res } = ctx
    const service = ctx.service as Service
    const up = ctx.upstream as NonNullable<RequestContext['upstream']>
    ctx.upstreamStarted ??= performance.now()
    if (attempt === 0) this.#logAfter(ctx, collected)
    const peer = this.#peer(ctx, attempt)
    if (peer === undefined) {
      // No peer for a retry: the body earlier attempts began to send is left unread, and
      // the connection closes after the answer, as for any failed upload.
      if (sent !== undefined) {
        sent.detach()
        if (!req.complete) closeWithoutBody(req, res)
      } else {
        req.resume()
      }
      this.#respondExit(ctx, collected, false).catch(() => {})
      return
    }
    const peers = this.#peers
    // Decided once header_filter has run: a plugin may find there that its body_filter has
    // nothing to do for this response (kong.plugin.skipBodyFilter), and the body streams.
    let buffering = false
    const hasHeaderFilter = anyRuns(collected, 'headerFilter')
    let body: Dispatcher.DispatchOptions['body'] = null
    let streamed = sent
    if (streamed !== undefined) {
      body = streamed.again((err) => { if (controller !== undefined) controller.abort(err); else early = err })
    } else if (up.body !== undefined) {
      body = up.body
      up.headers['content-length'] = String(up.body.length)
      delete up.headers['transfer-encoding']
    } else if (ctx.body !== undefined) {
      body = ctx.body
    } else if (req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined) {
      // The body can fail before undici has started the request (a bad chunk in the same
      // read as the head): the failure then waits for onRequestStart.
      streamed = new StreamedBody(req, service.write_timeout, this.#limits)
      body = streamed.again((err) => { if (controller !== undefined) controller.abort(err); else early = err })
    }
    // A streamed body can be sent again only if all of it that passed was kept: asked when
    // the attempt fails, not now.
    const whole = body === null || Buffer.isBuffer(body)
    let controller: Dispatcher.DispatchController | undefined
    let early: Error | undefined
    let responded = false
    const chunks: Buffer[] = []
    let size = 0
    const onClose = (): void => {
      if (!res.writableFinished) controller?.abort(new Error('client closed the connection'))
    }
    // on, not once: once wraps the listener in a new object per request. The listener is
    // removed when the response ends; after a close nothing else happens on `res`.
    res.on('close', onClose)
    const h = this.#h
    const self = this
    const path = up.query === undefined ? up.path : `${up.path}?${up.query}`
    this.#poolFor(ctx, peer, service).dispatch({
      method: up.method as Dispatcher.HttpMethod,
      path,
      headers: up.headers,
      body,
      headersTimeout: service.read_timeout,
      bodyTimeout: service.read_timeout,
    }, {
      onRequestStart (c) {
        controller = c
        if (early !== undefined) c.abort(early)
      },
      onResponseStart (c, statusCode, upstreamHeaders) {
        if (statusCode < 200) return // 1xx: node answers 100-continue itself
        responded = true
        peers.done(ctx, peer, 'response', statusCode)
        ctx.upstreamResponded = performance.now()
        upstreamResponse(ctx, statusCode, upstreamHeaders as Headers, h)
        if (self.#debug && req.headers['kong-debug'] === '1') addDebugHeaders(ctx, ctx.responseHeaders)
        const writeHead = (): void => {
          buffering = anyBodyFilter(ctx, collected)
          if (buffering) return // the head waits for body_filter, which may change the length
          res.writeHead(ctx.status, proxiedResponseHead(ctx, h))
        }
        if (!hasHeaderFilter) { writeHead(); return }
        const r = self.#phases.headerFilter(ctx, collected)
        if (!isThenable(r)) { writeHead(); return }
        c.pause()
        r.then(() => {
          if (res.destroyed) return
          writeHead()
          c.resume()
        }, () => {})
      },
      onResponseData (c, chunk) {
        if (buffering) {
          size += chunk.length
          if (size > MAX_BUFFERED_BODY) { c.abort(new Error('response body too large to buffer for body_filter')); return }
          chunks.push(chunk)
          return
        }
        // Backpressure: a client slower than the upstream pauses it until drained.
        if (!res.write(chunk)) {
          c.pause()
          res.once('drain', () => { if (c.paused) c.resume() })
        }
      },
      onResponseEnd () {
        res.removeListener('close', onClose)
        if (!buffering) { res.end(); return }
        ctx.responseBody = Buffer.concat(chunks)
        const send = (): void => {
          if (res.destroyed) return
          const bodyOut = ctx.responseBody ?? Buffer.alloc(0)
          res.writeHead(ctx.status, proxiedResponseHead(ctx, h, true, req.method === 'HEAD' ? undefined : bodyOut.length))
          res.end(req.method === 'HEAD' ? undefined : bodyOut)
        }
        const r = self.#phases.bodyFilter(ctx, collected)
        if (isThenable(r)) r.then(send, () => {})
        else send()
      },
      onResponseError (_c, failure) {
        // A failure of the client's side (body too large, too slow, malformed) that came
        // before undici started the request is the answer, whatever the connect did next.
        const err = early ?? failure
        res.removeListener('close', onClose)
        const gone = res.destroyed || req.socket.destroyed
        if (!responded) peers.done(ctx, peer, gone || err instanceof ClientError ? 'aborted' : attemptOutcome(err))
        // The client is gone (its request may be destroyed while it is still there: a body
        // over the limit ends the upload early).
        if (gone) return
        const code = (err as NodeJS.ErrnoException).code ?? ''
        if (!responded && !(err instanceof ClientError)) self.#logFailure(ctx, peer, err)
        if (!responded && attempt < service.retries && (whole || streamed?.replayable === true) && retryable(code, up.method)) {
          self.#forward(ctx, collected, attempt + 1, streamed)
          return
        }
        if (responded || res.headersSent) { res.destroy(err); return }
        // The rest of an unsent body is not read: the connection closes after the answer,
        // as nginx closes it.
        if (!req.complete) closeWithoutBody(req, res)
        else if (err instanceof ClientError) res.shouldKeepAlive = false
        upstreamFailed(ctx, err)
        if (!(err instanceof ClientError)) upstreamErrored(ctx, err)
        self.#respondExit(ctx, collected, false).catch(() => {})
      },
    })
  }
}

/**
 * The client body on its way upstream, one stream per attempt. undici reads the current
 * stream, so that when the upstream request fails undici destroys that, not the client's
 * request, which can still be answered 502 or 504, or sent to the next peer: the first
 * RETRY_BODY_LIMIT bytes are kept as they pass, and a new attempt's stream starts with
 * them, then goes on with the rest of the request. undici pauses the stream while the
 * upstream's socket is full: paused for longer than the service's write_timeout, the
 * upstream request fails as a timeout (Kong: nginx's proxy_send_timeout, 504).
 */
class StreamedBody {
  readonly #req: IncomingMessage
  readonly #writeTimeoutMs: number
  /** The body so far, while it fits RETRY_BODY_LIMIT; undefined once it did not. */
  #kept: Buffer[] | undefined = []
  #size = 0
  /** The client's side failed (413, 408, a bad chunk): no attempt may carry the body. */
  #failed: Error | undefined
  /** Where a failure of the client's side goes: the current attempt. */
  #abort: (err: Error) => void = () => {}
  /** The current attempt's stream. */
  #current: PassThrough | undefined

  constructor (req: IncomingMessage, writeTimeoutMs: number, limits: ClientLimits) {
    this.#req = req
    this.#writeTimeoutMs = writeTimeoutMs
    // Too large or too slow: the upstream request is cut short, so the upstream never sees
    // a whole request, and the client is answered 413 or 408 (respond.ts upstreamFailed).
    watchBody(req, limits, (err) => { this.#failed = err; this.#abort(err) })
    // Not req.pipe: a destination destroyed while the request waits for its 'drain' leaves
    // a pipe waiting for ever, and the next attempt must take over from it.
    req.on('data', (chunk: Buffer) => {
      if (this.#kept !== undefined) {
        this.#size += chunk.length
        if (this.#size > RETRY_BODY_LIMIT) this.#kept = undefined
        else this.#kept.push(chunk)
      }
      const cur = this.#current
      if (cur === undefined || cur.destroyed) return
      if (!cur.write(chunk)) {
        req.pause()
        cur.once('drain', () => { if (this.#current === cur) req.resume() })
      }
    })
    req.on('end', () => { if (this.#current?.destroyed === false) this.#current.end() })
    // A client that goes away mid-body ends the upstream request too.
    req.on('close', () => { if (!req.complete) this.#current?.destroy(new Error('client closed the connection')) })
  }

  /** Whether a new attempt can carry the whole body. */
  get replayable (): boolean { return this.#kept !== undefined && this.#failed === undefined }

  /** A stream of the whole body for one attempt; `abort` ends that attempt. */
  again (abort: (err: Error) => void): PassThrough {
    this.#abort = abort
    const req = this.#req
    // The attempt before failed; undici leaves a body it never began to write alone.
    this.#current?.destroy()
    const pass = new PassThrough()
    let timer: NodeJS.Timeout | undefined
    const stop = (): void => { if (timer !== undefined) { clearTimeout(timer); timer = undefined } }
    pass.on('pause', () => {
      stop()
      timer = setTimeout(() => {
        abort(Object.assign(new Error(`the upstream took no request body for ${this.#writeTimeoutMs} ms (write_timeout)`), { code: WRITE_TIMEOUT }))
      }, this.#writeTimeoutMs)
    })
    pass.on('resume', stop)
    pass.on('close', stop)
    // undici listens for errors only while it writes the body; the client going away before
    // that (the upstream still connecting) must not be an unhandled 'error'.
    pass.on('error', () => {})
    // What earlier attempts took, then the rest as it comes: a chunk is either kept
    // already or still to come, never both.
    for (const chunk of this.#kept ?? []) pass.write(chunk)
    this.#current = pass
    if (req.readableEnded) pass.end()
    else if (req.isPaused()) req.resume()
    return pass
  }

  /** No attempt follows: the current stream is dropped and the request no longer fed to it. */
  detach (): void {
    const cur = this.#current
    this.#current = undefined
    this.#kept = undefined
    cur?.destroy()
  }
}

/**
 * Reads the whole client body (for plugins that read it), within client_max_body_size and
 * client_body_timeout, and never more than MAX_BUFFERED_BODY: a ClientError (413, 408)
 * otherwise.
 */
export function readBody (ctx: RequestContext, limits: ClientLimits = DEFAULT_LIMITS): Promise<Buffer> {
  const max = limits.maxBodySize === 0 ? MAX_BUFFERED_BODY : Math.min(limits.maxBodySize, MAX_BUFFERED_BODY)
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const stop = watchBody(ctx.req, { ...limits, maxBodySize: max }, (err) => {
      ctx.req.off('data', onData)
      closeWithoutBody(ctx.req, ctx.res)
      reject(err)
    })
    const onData = (c: Buffer): void => { chunks.push(c) }
    ctx.req.on('data', onData)
    ctx.req.once('end', () => { stop(); resolve(Buffer.concat(chunks)) })
    ctx.req.once('error', (err) => { stop(); reject(err) })
  })
}
