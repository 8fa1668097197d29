// An https upstream on 127.0.0.1 made from the certificates in test/fixtures/tls: it answers
// every request with what it saw of the TLS connection (the SNI, the client certificate's
// subject) besides the request line and Host, as JSON.
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { Test } from 'tap'

export { pem } from './tls.js'

/** What the upstream answers. */
export interface TlsEcho {
  url: string
  host: string | undefined
  /** The SNI the gateway sent (false without one). */
  servername: string | false
  /** The client certificate's subject CN, when one was presented. */
  client: string | undefined
}

export interface TlsUpstream {
  port: number
  /** Requests that reached the handler (after the handshake). */
  requests: number
  /** Handshakes the server refused (tlsClientError). */
  refused: number
}

/**
 * `cert` may be a chain (leaf first). With `clientCa` the upstream demands a client
 * certificate signed by it and refuses the handshake otherwise.
 */
export async function startTlsUpstream (t: Test, opts: { cert: string, key: string, clientCa?: string }): Promise<TlsUpstream> {
  const state: TlsUpstream = { port: 0, requests: 0, refused: 0 }
  const server = createServer({
    cert: opts.cert,
    key: opts.key,
    ...(opts.clientCa !== undefined ? { ca: opts.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
  }, (req, res) => {
    state.requests++
    const socket = req.socket as TLSSocket
    const peer = socket.getPeerCertificate()
    const body: TlsEcho = {
      url: req.url ?? '',
      host: req.headers.host,
      servername: (socket as TLSSocket & { servername: string | false }).servername,
      client: peer?.subject?.CN as string | undefined,
    }
    const text = JSON.stringify(body)
    req.resume()
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
    res.end(text)
  })
  server.on('tlsClientError', () => { state.refused++ })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  state.port = (server.address() as AddressInfo).port
  return state
}
