// TLS and HTTP/2 clients for tests: real handshakes against 127.0.0.1, reporting what a
// client sees (the certificate's names, the protocol ALPN chose, whether a session resumed).

import { readFileSync } from 'node:fs'
import { connect as h2connect } from 'node:http2'
import { request as httpsRequest } from 'node:https'
import { connect as tlsConnect, type ConnectionOptions, type PeerCertificate, type TLSSocket } from 'node:tls'
import { fileURLToPath } from 'node:url'

const DIR = fileURLToPath(new URL('../fixtures/tls/', import.meta.url))

/** A PEM file of test/fixtures/tls (see its README.txt), e.g. `pem('a-rsa-cert')`. */
export function pem (stem: string): string {
  return readFileSync(`${DIR}${stem}.pem`, 'utf8')
}

/** The certificate and key of a fixture pair, as a certificates body: `pair('a-rsa')`. */
export function pair (stem: string): { cert: string, key: string } {
  return { cert: pem(`${stem}-cert`), key: pem(`${stem}-key`) }
}

export interface TlsReply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
  /** The served certificate's subject CN. */
  cn: string
  /** The protocol ALPN chose ('h2', 'http/1.1') or false. */
  alpn: string | false
  reused: boolean
  session: Buffer | undefined
}

export interface TlsRequest {
  /** SNI; omitted (none sent) when undefined. */
  servername?: string
  path?: string
  method?: string
  headers?: Record<string, string>
  session?: Buffer
  tls?: ConnectionOptions
}

const cnOf = (c: PeerCertificate): string => {
  const cn = c?.subject?.CN as unknown
  return Array.isArray(cn) ? String(cn[0]) : String(cn ?? '')
}

/** One HTTP/1.1 request over a new TLS connection. */
export function httpsGet (port: number, opts: TlsRequest = {}): Promise<TlsReply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({
      host: '127.0.0.1',
      port,
      path: opts.path ?? '/',
      method: opts.method ?? 'GET',
      headers: { host: opts.servername ?? 'localhost', ...opts.headers },
      servername: opts.servername ?? '',
      rejectUnauthorized: false,
      agent: false,
      ALPNProtocols: ['http/1.1'],
      session: opts.session,
      ...opts.tls,
    }, (res) => {
      const socket = res.socket as TLSSocket
      const cn = cnOf(socket.getPeerCertificate())
      const alpn = socket.alpnProtocol
      const reused = socket.isSessionReused()
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString(), cn, alpn: alpn ?? false, reused, session: socket.getSession() })
      })
    })
    req.on('error', reject)
    req.end()
  })
}

/** One HTTP/2 request over a new session (ALPN h2). */
export function h2Get (port: number, opts: TlsRequest = {}): Promise<TlsReply> {
  return new Promise((resolve, reject) => {
    const session = h2connect(`https://127.0.0.1:${port}`, { servername: opts.servername ?? '', rejectUnauthorized: false, ...opts.tls })
    session.on('error', reject)
    const stream = session.request({ ':path': opts.path ?? '/', ':method': opts.method ?? 'GET', ':authority': opts.servername ?? 'localhost', ...opts.headers })
    let status = 0
    let headers: Record<string, string | string[] | undefined> = {}
    stream.on('response', (h) => { status = Number(h[':status']); headers = h as typeof headers })
    const chunks: Buffer[] = []
    stream.on('data', (c: Buffer) => chunks.push(c))
    stream.on('error', reject)
    stream.on('end', () => {
      const socket = session.socket as TLSSocket
      const reply = { status, headers, body: Buffer.concat(chunks).toString(), cn: cnOf(socket.getPeerCertificate()), alpn: (session.alpnProtocol ?? false) as string | false, reused: socket.isSessionReused(), session: undefined }
      session.close()
      resolve(reply)
    })
    stream.end()
  })
}

/** A handshake alone: what certificate a name gets, and whether the session resumed. */
export function handshake (port: number, opts: { servername?: string, session?: Buffer, tls?: ConnectionOptions } = {}): Promise<{ cn: string, reused: boolean, session: Buffer | undefined, protocol: string | null }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername: opts.servername, rejectUnauthorized: false, session: opts.session, ...opts.tls })
    let session: Buffer | undefined
    // TLSv1.3 sends its tickets after the handshake.
    socket.on('session', (s: Buffer) => { session = s })
    socket.once('secureConnect', () => {
      const cn = cnOf(socket.getPeerCertificate())
      const reused = socket.isSessionReused()
      const protocol = socket.getProtocol()
      // A moment for the tickets, then a clean close.
      socket.write('GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n')
      socket.resume()
      socket.on('end', () => resolve({ cn, reused, session: session ?? socket.getSession(), protocol }))
    })
    socket.on('error', reject)
  })
}
