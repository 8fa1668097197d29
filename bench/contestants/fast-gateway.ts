// Peer: fast-gateway (restana + fast-proxy-lite), one route, no authentication.
// Usage: fast-gateway.ts PORT UPSTREAM_PORT
import gateway from 'fast-gateway'

const [port, upstreamPort] = process.argv.slice(2).map(Number)
const server = gateway({ routes: [{ prefix: '/bench', pathRegex: '', target: `http://127.0.0.1:${upstreamPort as number}` }] } as never) as { start: (port: number, host?: string) => Promise<unknown> }
await server.start(port as number, '127.0.0.1')
process.stdout.write('ready\n')
// A clean exit on SIGTERM writes the --cpu-prof file (npm run bench -- --profile).
process.on('SIGTERM', () => process.exit(0))
