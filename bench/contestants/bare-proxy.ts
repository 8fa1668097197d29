// The Node floor: node:http in front of an undici Pool, streaming the upstream body
// straight into the response (pool.stream), no routing, no plugins. With a certificate and
// key, the same over TLS (node:https; the upstream stays plain HTTP): `bare-tls`.
// Usage: bare-proxy.ts PORT UPSTREAM_PORT [CERT_FILE KEY_FILE]
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import { Pool } from 'undici'

const [port, upstreamPort] = process.argv.slice(2, 4).map(Number)
const [cert, key] = process.argv.slice(4, 6)
const pool = new Pool(`http://127.0.0.1:${upstreamPort as number}`, { connections: 128, pipelining: 1 })
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer'])

function proxy (req: IncomingMessage, res: ServerResponse): void {
  const headers: Record<string, string | string[]> = {}
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP.has(k) && k !== 'host') headers[k] = v
  pool.stream({ method: req.method as 'GET', path: req.url ?? '/', headers, body: req.method === 'GET' || req.method === 'HEAD' ? null : req }, ({ statusCode, headers: h }) => {
    const out: Record<string, string | string[]> = {}
    for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP.has(k)) out[k] = v
    res.writeHead(statusCode, out)
    return res
  }).catch(() => { if (!res.headersSent) { res.writeHead(502); res.end() } else res.destroy() })
}

const server = cert === undefined || key === undefined ? createServer(proxy) : createTlsServer({ cert: readFileSync(cert), key: readFileSync(key) }, proxy)
server.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'))
// A clean exit on SIGTERM writes the --cpu-prof file (npm run bench -- --profile).
process.on('SIGTERM', () => process.exit(0))
