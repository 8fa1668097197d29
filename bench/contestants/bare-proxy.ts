// The Node floor: node:http in front of an undici Pool, streaming the upstream body
// straight into the response (pool.stream), no routing, no plugins.
// Usage: bare-proxy.ts PORT UPSTREAM_PORT
import { createServer } from 'node:http'
import { Pool } from 'undici'

const [port, upstreamPort] = process.argv.slice(2).map(Number)
const pool = new Pool(`http://127.0.0.1:${upstreamPort as number}`, { connections: 128, pipelining: 1 })
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer'])

createServer((req, res) => {
  const headers: Record<string, string | string[]> = {}
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP.has(k) && k !== 'host') headers[k] = v
  pool.stream({ method: req.method as 'GET', path: req.url ?? '/', headers, body: req.method === 'GET' || req.method === 'HEAD' ? null : req }, ({ statusCode, headers: h }) => {
    const out: Record<string, string | string[]> = {}
    for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP.has(k)) out[k] = v
    res.writeHead(statusCode, out)
    return res
  }).catch(() => { if (!res.headersSent) { res.writeHead(502); res.end() } else res.destroy() })
}).listen(port, '127.0.0.1', () => process.stdout.write('ready\n'))
// A clean exit on SIGTERM writes the --cpu-prof file (npm run bench -- --profile).
process.on('SIGTERM', () => process.exit(0))
