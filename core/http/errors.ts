// Error responses in Kong's formats, and the content negotiation that picks one. Both the
// PDK (kong.response.error) and the proxy (its own error pages) answer with these, so they
// sit below both, as Kong keeps them in kong/tools/http.lua, required by pdk/response.lua
// and error_handlers.lua alike.

import type { IncomingMessage } from 'node:http'

export type BodyType = 'json' | 'text' | 'html' | 'xml'

const MIME: Record<BodyType, string> = {
  json: 'application/json; charset=utf-8',
  text: 'text/plain; charset=utf-8',
  html: 'text/html; charset=utf-8',
  xml: 'application/xml; charset=utf-8',
}

// Kong words a status the same wherever it answers with it; what differs is which
// statuses each producer names, so the wording is kept once and each keeps its own list.
const WORDING: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  408: 'Request timeout',
  409: 'Conflict',
  411: 'Length required',
  412: 'Precondition failed',
  413: 'Payload too large',
  414: 'URI too long',
  415: 'Unsupported media type',
  417: 'Expectation failed',
  426: 'Upgrade required',
  429: 'Too many requests',
  500: 'An unexpected error occurred',
  501: 'Not implemented',
  502: 'An invalid response was received from the upstream server',
  503: 'The upstream server is currently unavailable',
  504: 'The upstream server is timing out',
  505: 'HTTP version not supported',
  // nginx's own code for a request head too large, which Kong answers with.
  494: 'Request header or cookie too large',
}

function messagesFor (statuses: number[]): Readonly<Record<number, string>> {
  return Object.fromEntries(statuses.map((s) => [s, WORDING[s] as string]))
}

/**
 * The error pages Tollgate answers below the plugin layer (a bad request line, TRACE, a
 * failed upstream): Kong's nginx-level errors, the BODIES of kong/error_handlers.lua.
 */
export const STATUS_MESSAGES = messagesFor([400, 404, 405, 408, 411, 412, 413, 414, 417, 494, 500, 502, 503, 504, 505])

/**
 * The client is at fault (a body too large or too slow): the request fails with `status`
 * and Kong's page for it, and the connection closes, its body unread.
 */
export class ClientError extends Error {
  readonly status: number
  constructor (status: number, message: string) {
    super(message)
    this.status = status
  }
}

/**
 * kong.response.error's default message when a plugin gives none: Kong's
 * HTTP_ERROR_MESSAGES in kong/pdk/response.lua, as far as Tollgate has taken them.
 */
const ERROR_MESSAGES = messagesFor([400, 401, 403, 404, 405, 409, 413, 415, 426, 429, 500, 501, 502, 503, 504])

/** kong.response.error's message for `status`, Kong's fallback for a status it does not name. */
export function errorMessage (status: number): string {
  return ERROR_MESSAGES[status] ?? `The upstream server responded with ${status}`
}

function typeOf (mime: string): BodyType | undefined {
  const m = mime.trim().toLowerCase()
  if (m === 'application/json' || m.endsWith('+json')) return 'json'
  if (m === 'text/html' || m === 'application/xhtml+xml') return 'html'
  if (m === 'application/xml' || m === 'text/xml' || m.endsWith('+xml')) return 'xml'
  if (m === 'text/plain' || m === 'text/*') return 'text'
  if (m === '*/*' || m === 'application/*') return 'json'
  return undefined
}

/** The Accept entry with the highest q-value that we can produce. */
function fromAccept (accept: string | undefined): BodyType | undefined {
  if (accept === undefined || accept === '') return undefined
  let best: BodyType | undefined
  let bestQ = -1
  for (const part of accept.split(',')) {
    const [mime, ...params] = part.split(';')
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='))
    const q = qParam === undefined ? 1 : Number(qParam.slice(2))
    const type = typeOf(mime ?? '')
    if (type !== undefined && q > bestQ) { best = type; bestQ = q }
  }
  return best ?? 'json'
}

/**
 * `kong.response.error` negotiation: Accept decides, JSON otherwise. Errors Kong's nginx
 * layer produces (502, 504, ...) look at the request's Content-Type next and default to text.
 */
export function negotiate (req: IncomingMessage, nginxLevel: boolean): BodyType {
  const byAccept = fromAccept(req.headers.accept)
  if (byAccept !== undefined) return byAccept
  if (!nginxLevel) return 'json'
  const ct = req.headers['content-type']
  return (ct === undefined ? undefined : typeOf(ct.split(';')[0] ?? '')) ?? 'text'
}

/**
 * The body type for an error whose Content-Type a plugin set itself, as Kong's
 * get_error_template picks the template by that type; JSON for anything else.
 */
export function bodyTypeFor (contentType: string): BodyType {
  const m = (contentType.split(';')[0] as string).trim().toLowerCase()
  if (m === 'text/plain') return 'text'
  if (m === 'text/html') return 'html'
  if (m.endsWith('xml')) return 'xml'
  return 'json'
}

function escapeXml (s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

export function errorBody (type: BodyType, message: string, requestId: string): { body: string, contentType: string } {
  let body: string
  switch (type) {
    case 'json':
      // Kong's template, spacing included; the message is JSON-escaped here where Kong does not.
      body = `{\n  "message":${JSON.stringify(message)},\n  "request_id":"${requestId}"\n}`
      break
    case 'text':
      body = `${message}\nrequest_id: ${requestId}\n`
      break
    case 'html':
      body = `<!doctype html>\n<html>\n  <head>\n    <meta charset="utf-8">\n    <title>Error</title>\n  </head>\n  <body>\n    <h1>Error</h1>\n    <p>${escapeXml(message)}.</p>\n    <p>request_id: ${requestId}</p>\n  </body>\n</html>\n`
      break
    case 'xml':
      body = `<?xml version="1.0" encoding="UTF-8"?>\n<error>\n  <message>${escapeXml(message)}</message>\n  <requestid>${requestId}</requestid>\n</error>\n`
      break
  }
  return { body, contentType: MIME[type] }
}
