// Responses Tollgate makes itself, in Kong's formats (kong/tools/http.lua, error_handlers.lua):
// the body type follows the client's Accept header, falling back as Kong does.

import type { IncomingMessage } from 'node:http'

export type BodyType = 'json' | 'text' | 'html' | 'xml'

const MIME: Record<BodyType, string> = {
  json: 'application/json; charset=utf-8',
  text: 'text/plain; charset=utf-8',
  html: 'text/html; charset=utf-8',
  xml: 'application/xml; charset=utf-8',
}

/** Kong's messages for errors produced below the plugin layer. */
export const STATUS_MESSAGES: Record<number, string> = {
  400: 'Bad request',
  404: 'Not found',
  405: 'Method not allowed',
  408: 'Request timeout',
  411: 'Length required',
  412: 'Precondition failed',
  413: 'Payload too large',
  414: 'URI too long',
  417: 'Expectation failed',
  500: 'An unexpected error occurred',
  502: 'An invalid response was received from the upstream server',
  503: 'The upstream server is currently unavailable',
  504: 'The upstream server is timing out',
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
