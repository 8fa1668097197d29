// Peer: fastify with @fastify/http-proxy (no authentication). Usage: fastify-proxy.ts PORT UPSTREAM_PORT
import proxy from '@fastify/http-proxy'
import Fastify from 'fastify'

const [port, upstreamPort] = process.argv.slice(2).map(Number)
const app = Fastify({ logger: false })
await app.register(proxy, { upstream: `http://127.0.0.1:${upstreamPort as number}`, prefix: '/', http2: false })
await app.listen({ host: '127.0.0.1', port })
process.stdout.write('ready\n')
// A clean exit on SIGTERM writes the --cpu-prof file (npm run bench -- --profile).
process.on('SIGTERM', () => process.exit(0))
