// The upstream proxy-cache's tests talk to: the endpoints of Kong's mock upstream that
// spec/03-plugins/31-proxy-cache uses (/get, /cache/N, /response-headers, /status/N, /xml,
// /stream/N, /post), each answer numbered, and a count of the requests it got, so a test
// can tell a hit (no upstream call) from a miss.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Test } from 'tap'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../../helpers/gateway.js'

export interface CountingUpstream extends Upstream {
  /** Requests received, in all. */
  calls: () => number
  /** Lets the held /hold responses finish. */
  release: () => void
}

export async function startCountingUpstream (t: Test): Promise<CountingUpstream> {
  let calls = 0
  const held: ServerResponse[] = []
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      calls++
      const url = new URL(req.url ?? '/', 'http://upstream')
      const json = (status: number, headers: Record<string, string | string[]> = {}): void => {
        const body = JSON.stringify({ n: calls, method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() })
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers })
        res.end(body)
      }
      const p = url.pathname
      let m: RegExpExecArray | null
      if ((m = /^\/cache\/(\d+)$/.exec(p)) !== null) return json(200, { 'cache-control': `public, max-age=${m[1] as string}` })
      if ((m = /^\/status\/(\d{3})$/.exec(p)) !== null) return json(Number(m[1]))
      if ((m = /^\/sized\/(\d+)$/.exec(p)) !== null) {
        // As /big/, with a Content-Length (/big/ answers chunked).
        const body = `${String(calls).padEnd(8)}${'x'.repeat(Number(m[1]))}`
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) })
        res.end(body)
        return
      }
      if ((m = /^\/big\/(\d+)$/.exec(p)) !== null) {
        const body = `${String(calls).padEnd(8)}${'x'.repeat(Number(m[1]))}`
        res.writeHead(200, { 'content-type': 'text/plain' })
        res.end(body)
        return
      }
      if ((m = /^\/stream\/(\d+)$/.exec(p)) !== null) {
        res.writeHead(200, { 'content-type': 'application/json' }) // chunked: no length
        for (let i = 0; i < Number(m[1]); i++) res.write(`${JSON.stringify({ id: i, n: calls })}\n`)
        res.end()
        return
      }
      if (p === '/response-headers') {
        const headers: Record<string, string> = {}
        for (const [k, v] of url.searchParams) headers[k] = v
        return json(200, headers)
      }
      if (p === '/xml') {
        res.writeHead(200, { 'content-type': 'application/xml' })
        res.end('<xml/>')
        return
      }
      if (p === '/hold') {
        // A first chunk now, the rest when released: shows whether the gateway streams.
        res.writeHead(Number(url.searchParams.get('status') ?? 200), { 'content-type': url.searchParams.get('type') ?? 'application/json' })
        res.write('first,')
        held.push(res)
        return
      }
      json(200)
    })
  }
  const up = await startUpstream(t, handler)
  const release = (): void => { for (const r of held.splice(0)) r.end('last') }
  t.teardown(release)
  return { ...up, calls: () => calls, release }
}

export interface Answer { status: number, headers: Record<string, string>, text: string, json: any }

/** A request through the gateway; `host` picks the route. */
export async function send (proxy: string, path: string, host: string, headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<Answer> {
  const res = await request(`${proxy}${path}`, { method: method as 'GET', headers: { host, ...headers }, body })
  const text = await res.body.text()
  let json: unknown
  try { json = JSON.parse(text) } catch { json = undefined }
  return { status: res.statusCode, headers: res.headers as Record<string, string>, text, json }
}
