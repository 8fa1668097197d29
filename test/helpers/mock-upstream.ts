// An upstream like Kong's test "mock upstream": it echoes what it received as JSON, so a
// test can assert on the request the gateway sent.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Test } from 'tap'
import { parseBody } from '../../core/pdk/body.js'
import { parseQuery } from '../../core/runtime/context.js'
import { startUpstream, type Upstream } from './gateway.js'

export interface Echo {
  headers: Record<string, string>
  uri_args: Record<string, unknown>
  post_data: { text: string, kind: string, params: Record<string, unknown> | undefined, error?: string }
  url: string
  vars: { request_uri: string, uri: string, request_method: string, host: string }
}

function handler (req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    const raw = Buffer.concat(chunks)
    const ct = req.headers['content-type']
    const parsed = raw.length > 0 ? parseBody(raw, ct) : { body: undefined, error: undefined, mime: undefined }
    const kind = parsed.mime === 'application/x-www-form-urlencoded' ? 'form' : parsed.mime === 'multipart/form-data' ? 'multipart-form' : parsed.mime === 'application/json' ? 'json' : 'unknown'
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    const status = /^\/status\/(\d{3})/.exec(url)
    const body: Echo = {
      headers: req.headers as Record<string, string>,
      uri_args: parseQuery(q === -1 ? undefined : url.slice(q + 1)),
      post_data: { text: raw.toString('utf8'), kind, params: parsed.body as Record<string, unknown> | undefined, error: parsed.error },
      url: `http://${req.headers.host ?? ''}${url}`,
      vars: { request_uri: url, uri: q === -1 ? url : url.slice(0, q), request_method: req.method ?? '', host: req.headers.host ?? '' },
    }
    const text = JSON.stringify(body)
    res.writeHead(status === null ? 200 : Number(status[1]), { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
    res.end(text)
  })
}

export function startMockUpstream (t: Test): Promise<Upstream> {
  return startUpstream(t, handler)
}
