// The proxy listener. Until the router lands (issue #4) every request is answered the way
// Kong answers a request no route matches: 404 with Kong's error body and headers.

import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { SERVER_TOKEN } from '../meta.js'

export interface ProxyStats {
  connectionsAccepted: number
  connectionsActive: number
  totalRequests: number
}

export interface ProxyServer {
  server: Server
  stats: ProxyStats
}

function requestId (): string {
  return randomBytes(16).toString('hex')
}

export function newProxyStats (): ProxyStats {
  return { connectionsAccepted: 0, connectionsActive: 0, totalRequests: 0 }
}

/** A proxy listener; listeners of one process share `stats`. */
export function createProxyServer (stats: ProxyStats = newProxyStats()): ProxyServer {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now()
    stats.totalRequests++
    const id = requestId()
    const body = JSON.stringify({ message: 'no Route matched with those values', request_id: id })
    res.writeHead(404, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      Server: SERVER_TOKEN,
      'X-Kong-Request-Id': id,
      'X-Kong-Response-Latency': Math.round(performance.now() - started),
    })
    res.end(req.method === 'HEAD' ? undefined : body)
  })
  server.on('connection', (socket) => {
    stats.connectionsAccepted++
    stats.connectionsActive++
    socket.once('close', () => { stats.connectionsActive-- })
  })
  return { server, stats }
}
