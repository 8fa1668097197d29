// What the proxy accepts from a client, and its answer when a request is over a limit or
// cannot be parsed: the nginx limits Kong exposes as nginx_http_* keys, with nginx's
// statuses and Kong's error bodies.
//
// node's HTTP parser (llhttp, strict) already refuses what could be smuggled: a
// Content-Length beside a Transfer-Encoding, a duplicate or signed Content-Length, a
// Transfer-Encoding that does not end in chunked, obs-fold, bare LF, control characters
// in names and values. Those reach `clientError` here and are answered 400 on a closing
// connection; none of them becomes a request, so nothing of them reaches an upstream.

import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Config } from '../config/index.js'
import { ClientError, STATUS_MESSAGES, errorBody } from '../http/errors.js'
import type { Logger } from '../log.js'
import { rawHead } from '../http/raw-head.js'

export interface ClientLimits {
  /** Largest request body in bytes; 0 for none (client_max_body_size). */
  maxBodySize: number
  /** The longest request line (one of large_client_header_buffers). */
  lineSize: number
  /** The largest request head, line included (all of large_client_header_buffers). */
  headSize: number
  headerTimeoutMs: number
  bodyTimeoutMs: number
}

export function clientLimits (config: Pick<Config, 'nginx_http_client_max_body_size' | 'nginx_http_large_client_header_buffers' | 'nginx_http_client_header_timeout' | 'nginx_http_client_body_timeout'>): ClientLimits {
  const buffers = config.nginx_http_large_client_header_buffers
  return {
    maxBodySize: config.nginx_http_client_max_body_size,
    lineSize: buffers.size,
    headSize: buffers.number * buffers.size,
    headerTimeoutMs: config.nginx_http_client_header_timeout,
    bodyTimeoutMs: config.nginx_http_client_body_timeout,
  }
}

export const DEFAULT_LIMITS: ClientLimits = { maxBodySize: 0, lineSize: 8192, headSize: 4 * 8192, headerTimeoutMs: 60_000, bodyTimeoutMs: 60_000 }

/** The http.Server options that carry the limits node enforces itself. */
export function serverOptions (limits: ClientLimits) {
  return {
    maxHeaderSize: limits.headSize,
    headersTimeout: limits.headerTimeoutMs,
    // nginx has no deadline for a whole request, only for gaps in its body (see BodyWatch).
    requestTimeout: 0,
    // A missing Host is refused in `refusal`, with Kong's page rather than node's.
    requireHostHeader: false,
    // How often node looks for heads that are late; a short header timeout needs a short look.
    connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(limits.headerTimeoutMs / 4))),
  }
}

/**
 * The status a parsed request is refused with before any plugin runs, or 0. nginx checks
 * these while it reads the head, before Kong's phases: a request line longer than one
 * header buffer (414), a header line longer than one (494), a Content-Length over
 * client_max_body_size (413), an HTTP major
 * version other than 1 (505), no Host in HTTP/1.1 or two Host headers (400).
 */
export function refusal (req: IncomingMessage, limits: ClientLimits, http2 = false): number {
  if ((req.url as string).length + (req.method as string).length + 10 > limits.lineSize) return 414
  if (req.httpVersionMajor !== (http2 ? 2 : 1)) return 505
  if (req.headers.host === undefined && req.httpVersionMinor === 1) return 400
  if (limits.maxBodySize > 0) {
    const length = req.headers['content-length']
    if (length !== undefined && Number(length) > limits.maxBodySize) return 413
  }
  // node keeps the first Host and drops the rest; the router and the upstream must not
  // disagree about which one counts, so, like nginx, two are refused. And like nginx,
  // each header line must fit one buffer (494).
  const raw = req.rawHeaders
  let hosts = 0
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    if (name.length + (raw[i + 1] as string).length + 4 > limits.lineSize) return 494
    if (name.length === 4 && name.toLowerCase() === 'host' && ++hosts > 1) return 400
  }
  return 0
}

const ABSOLUTE = /^https?:\/\/([^/?#@]+)([^#]*)$/i

/**
 * A request in absolute form (`GET http://host/path HTTP/1.1`): as RFC 9112 3.2.2 says and
 * nginx does, the URI's authority is the host and the Host header is ignored. Returns false
 * for a request target neither origin- nor absolute-form, left for the pipeline's 400.
 */
export function toOriginForm (req: IncomingMessage): boolean {
  const url = req.url as string
  if (url.charCodeAt(0) === 47 /* / */) return true
  const m = ABSOLUTE.exec(url)
  if (m === null) return false
  const rest = m[2] as string
  req.url = rest === '' ? '/' : rest.startsWith('?') ? `/${rest}` : rest
  req.headers.host = m[1] as string
  return true
}

/** The status for a request node's parser refused, or 0 when there is nobody to answer. */
export function parseErrorStatus (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, limits: ClientLimits): number {
  switch (err.code) {
    case 'ECONNRESET': case 'EPIPE': return 0
    case 'ERR_HTTP_REQUEST_TIMEOUT': return 408
    case 'HPE_HEADER_OVERFLOW': {
      // nginx: a request line that does not fit one buffer is 414; a head that does not fit
      // them all is its 494 "Request Header Or Cookie Too Large", which Kong answers as it is
      // (spec/02-integration/05-proxy/13-error_handlers_spec.lua expects 494).
      // The packet is the read that overflowed; when it holds the start of the request
      // and no line end within one buffer, the request line is what is too long.
      const packet = err.rawPacket
      if (packet === undefined || !/^[A-Za-z]+ /.test(packet.subarray(0, 24).toString('latin1'))) return 494
      const eol = packet.indexOf(10)
      return eol === -1 || eol > limits.lineSize ? 414 : 494
    }
    default: return 400
  }
}

/** nginx's lingering_time is 30 s; a refused client is not worth that much. */
const LINGER_MS = 5000

const REASONS: Record<number, string> = { 400: 'Bad Request', 405: 'Method Not Allowed', 408: 'Request Timeout', 414: 'URI Too Long', 494: 'Request Header Or Cookie Too Large' }

/**
 * Answers a request node's parser refused, on its socket, and closes it. The body is
 * Kong's error page as text (error_default_type): the head was not understood, so its
 * Accept cannot be trusted. The rest of what the client sends is read and dropped for a
 * moment, as nginx's lingering close does, so that the client sees the answer rather than
 * a reset.
 */
export function answerParseError (log: Logger, limits: ClientLimits, id: () => string) {
  // node's parser stays failed and reports the socket again for each chunk that follows.
  const answered = new WeakSet<Duplex>()
  return (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex): void => {
    if (answered.has(socket)) return
    const status = parseErrorStatus(err, limits)
    if (status === 0 || !socket.writable) { socket.destroy(); return }
    answered.add(socket)
    const requestId = id()
    log.info({ request_id: requestId, code: err.code, status }, 'client sent an invalid request')
    const answer = (): void => { answerOnSocket(socket, status, requestId) }
    const current = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage
    if (current === undefined || current === null || current.writableFinished) { answer(); return }
    current.once('close', () => { if (!current.writableFinished) socket.destroy() })
    if (!current.req.complete) {
      current.shouldKeepAlive = false
      // The bytes that failed are this request's body: it fails with 400 through the
      // pipeline (its upstream request cut short), and the connection closes after.
      breakBody(current.req)
      current.once('finish', () => socket.end())
    } else {
      // A request pipelined before the malformed one is answered first, as nginx does.
      current.once('finish', answer)
    }
  }
}

/** Kong's text page for `status` on a socket no ServerResponse owns; the connection closes after it. */
function answerOnSocket (socket: Duplex, status: number, requestId: string): void {
  const { body, contentType } = errorBody('text', STATUS_MESSAGES[status] as string, requestId)
  socket.write(rawHead(status, REASONS[status] as string, {
    'content-type': contentType, 'content-length': String(Buffer.byteLength(body)), connection: 'close', 'x-kong-request-id': requestId,
  }) + body)
  closeAfterAnswer(socket)
}

/**
 * Closes the connection after this answer, which is given before the request body was
 * read to its end. node would close it with destroySoon, and a close with unread bytes
 * is a reset, which can reach the client before it has read the answer (a busy client
 * then sees "connection reset" instead of the 413 or 502 it was sent). So the closing is
 * nginx's lingering close instead: the rest of the body is read and dropped until the
 * client closes, for LINGER_MS at most.
 */
export function closeWithoutBody (req: IncomingMessage, res: ServerResponse): void {
  // HTTP/2: the stream alone ends (node resets it once the answer is out and the body
  // unread); the session and its other streams go on.
  if (req.httpVersionMajor === 2) { req.on('error', () => {}); return }
  res.shouldKeepAlive = false
  const socket = req.socket as Duplex & { destroySoon?: () => void }
  socket.destroySoon = () => { closeAfterAnswer(socket) }
  // What is still coming of the body goes nowhere.
  req.on('error', () => {})
  res.once('finish', () => { req.unpipe(); req.removeAllListeners('data'); req.resume() })
}

/**
 * Ends a connection whose answer is written, reading and dropping what the client still
 * sends for a moment, as nginx's lingering close does, so that the client reads the answer
 * rather than a reset.
 */
export function closeAfterAnswer (socket: Duplex): void {
  socket.on('error', () => {})
  socket.end()
  socket.resume()
  const linger = setTimeout(() => socket.destroy(), LINGER_MS)
  linger.unref()
  socket.once('close', () => clearTimeout(linger))
}

/** CONNECT is not proxied: 405, as nginx answers it. */
export function refuseConnect (socket: Duplex, requestId: string): void {
  answerOnSocket(socket, 405, requestId)
}

/**
 * Watches a request body as it is read: past client_max_body_size it fails with 413, and
 * when the client sends nothing for client_body_timeout while Tollgate is reading, with
 * 408. The clock stops while the reader is paused (a slow upstream is not the client's
 * fault). Returns the function that stops watching.
 */
export function watchBody (req: IncomingMessage, limits: ClientLimits, fail: (err: ClientError) => void): () => void {
  if (broken.has(req)) { queueMicrotask(() => fail(malformed())); return () => {} }
  let size = 0
  let timer: NodeJS.Timeout | undefined
  const arm = (): void => {
    if (timer !== undefined) clearTimeout(timer)
    timer = setTimeout(() => {
      timer = undefined
      stop()
      fail(new ClientError(408, `the client sent no request body for ${limits.bodyTimeoutMs} ms (client_body_timeout)`))
    }, limits.bodyTimeoutMs)
    // While the client is connected its socket keeps the process alive; the timer alone must
    // not: a watcher re-armed by the resume after an early answer (503 with the body unread)
    // outlives its connection, and held a stopping process for client_body_timeout (60 s).
    timer.unref()
  }
  const disarm = (): void => { if (timer !== undefined) { clearTimeout(timer); timer = undefined } }
  const onData = (chunk: Buffer): void => {
    size += chunk.length
    if (limits.maxBodySize > 0 && size > limits.maxBodySize) {
      stop()
      fail(new ClientError(413, `the request body is larger than ${limits.maxBodySize} bytes (client_max_body_size)`))
      return
    }
    if (timer !== undefined) timer.refresh()
  }
  function stop (): void {
    watching.delete(req)
    disarm()
    req.off('data', onData)
    req.off('pause', disarm)
    req.off('resume', arm)
    req.off('end', stop)
    req.off('close', stop)
  }
  if (req.complete) return () => {}
  req.on('data', onData)
  req.on('pause', disarm)
  req.on('resume', arm)
  req.once('end', stop)
  req.once('close', stop)
  watching.set(req, (err) => { stop(); fail(err) })
  arm()
  return stop
}

// Bodies node's parser failed on (a bad chunk), and the watchers to tell.
const broken = new WeakSet<IncomingMessage>()
const watching = new WeakMap<IncomingMessage, (err: ClientError) => void>()
const malformed = (): ClientError => new ClientError(400, 'the request body is malformed')

function breakBody (req: IncomingMessage): void {
  broken.add(req)
  watching.get(req)?.(malformed())
}
