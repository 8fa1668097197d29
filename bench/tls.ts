// The TLS bench's pieces (issue #21): the test certificate, nginx's TLS proxy
// configuration, a readiness and resumption check, and the handshake runs. Keep-alive
// throughput over TLS is wrk's ordinary run against an https URL (bench/run.ts); this file
// measures what wrk cannot: connections that each do a full handshake, or a resumed one,
// and one request.

import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { connect, type TLSSocket } from 'node:tls'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const TLS_CERT = join(ROOT, 'test', 'fixtures', 'tls', 'localhost-cert.pem')
export const TLS_KEY = join(ROOT, 'test', 'fixtures', 'tls', 'localhost-key.pem')
const CA = readFileSync(TLS_CERT)

/**
 * nginx as a TLS proxy in front of the bench upstream: one worker, `listen ... ssl http2`,
 * a shared session cache (TLS 1.2 sessions; TLS 1.3 resumes with tickets, on by default),
 * keep-alive connections to the upstream.
 */
export function writeNginxTlsConfig (dir: string, port: number, upstreamPort: number): void {
  writeFileSync(join(dir, 'nginx.conf'), `worker_processes 1; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/logs/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  upstream bench { server 127.0.0.1:${upstreamPort}; keepalive 128; }
  ssl_session_cache shared:SSL:10m;
  ssl_session_timeout 10m;
  server {
    listen 127.0.0.1:${port} ssl http2;
    ssl_certificate ${TLS_CERT};
    ssl_certificate_key ${TLS_KEY};
    # 1.22's default stops at TLSv1.2; the node contestants speak TLSv1.3.
    ssl_protocols TLSv1.2 TLSv1.3;
    location / { proxy_pass http://bench; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
`)
}

/**
 * The request each handshake connection sends: HTTP/1.0 (the server closes after the answer)
 * with the contestant's headers. openssl s_time writes `GET <path> HTTP/1.0\r\n\r\n`, so the
 * headers ride in the path, and the trailing ` HTTP/1.0` lands in a dummy header.
 */
export function handshakePath (path: string, headers: Record<string, string>): string {
  return [`${path} HTTP/1.0`, 'Host: 127.0.0.1', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), 'x-bench:'].join('\r\n')
}

/** One connection: the request s_time sends, over TLS (with `session`: resuming it). */
function once (port: number, path: string, session?: Buffer): Promise<{ status: number, reused: boolean, protocol: string, session?: Buffer }> {
  return new Promise((resolve, reject) => {
    let ticket: Buffer | undefined
    const s: TLSSocket = connect({ host: '127.0.0.1', port, ca: CA, servername: 'localhost', session })
    s.setTimeout(10_000, () => s.destroy(new Error('timed out')))
    // TLS 1.3 tickets arrive after the handshake, with or after the answer.
    s.on('session', (b: Buffer) => { ticket = b })
    let text = ''
    // Read at the handshake's end: once the socket is closed, isSessionReused() says null.
    let reused = false
    let protocol = ''
    s.on('secureConnect', () => { reused = s.isSessionReused(); protocol = s.getProtocol() ?? ''; s.write(`GET ${path} HTTP/1.0\r\n\r\n`) })
    s.on('data', (d: Buffer) => { text += d.toString('latin1') })
    s.on('error', reject)
    s.on('close', () => resolve({ status: Number(/^HTTP\/1\.\d (\d{3})/.exec(text)?.[1] ?? 0), reused, protocol, session: ticket }))
  })
}

/** An https GET's status, trusting the test certificate: the readiness check of a TLS contestant. */
export async function tlsStatus (port: number, path: string): Promise<number> {
  return (await once(port, path)).status
}

/**
 * Whether the contestant answers the handshake request with 200 and resumes a session: a
 * full handshake, then a second connection offering the first one's session (a TLS 1.3
 * ticket). A node client, not s_time: a second opinion on what the runs' 'r' count says.
 */
export async function resumes (port: number, path: string): Promise<{ status: number, resumed: boolean, protocol: string }> {
  const first = await once(port, path)
  if (first.status !== 200 || first.session === undefined) return { status: first.status, resumed: false, protocol: first.protocol }
  const second = await once(port, path, first.session)
  return { status: second.status, resumed: second.reused, protocol: first.protocol }
}

export interface HandshakeRun { rate: number, connections: number, reused: number }

/**
 * `clients` openssl s_time processes in parallel against 127.0.0.1:`port` for `seconds`,
 * each connecting, sending `path` (see handshakePath), reading the answer to the close, one
 * connection after another: `-new` a full handshake each time, `-reuse` resuming the
 * session of its first connection. s_time prints (and flushes) a character a connection,
 * 'r' for a resumed one, '*' for a full handshake; its own summary counts whole seconds
 * and it runs up to a second past `-time`, so the harness counts the characters and stops
 * every client itself at `seconds`: the rate is connections over exactly that time.
 */
export async function handshakes (port: number, path: string, seconds: number, clients: number, reuse: boolean): Promise<HandshakeRun> {
  const t0 = performance.now()
  const outs = await Promise.all(Array.from({ length: clients }, () => new Promise<string>((resolve, reject) => {
    // The test certificate as the only trust anchor: no lookups in the system's CA directory per handshake.
    const args = ['s_time', '-connect', `127.0.0.1:${port}`, reuse ? '-reuse' : '-new', '-time', String(Math.ceil(seconds) + 5), '-www', path, '-CAfile', TLS_CERT, '-no-CApath', '-no-CAstore']
    const child = spawn('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let text = ''
    let errors = ''
    child.stdout.on('data', (d: Buffer) => { text += d.toString('latin1') })
    child.stderr.on('data', (d: Buffer) => { errors += d.toString('latin1') })
    const timer = setTimeout(() => child.kill('SIGKILL'), Math.max(0, seconds * 1000 - (performance.now() - t0)))
    child.on('error', reject)
    child.on('close', (code, signal) => { clearTimeout(timer); signal === 'SIGKILL' ? resolve(text) : reject(new Error(`openssl s_time stopped by itself (${String(code ?? signal)}): ${(errors + text).slice(-500)}`)) })
  })))
  const wall = (performance.now() - t0) / 1000
  let connections = 0
  let reused = 0
  for (const out of outs) {
    // The progress lines: one character a connection (the header lines hold other letters).
    for (const line of out.split('\n')) {
      if (!/^[r*t3]+$/.test(line)) continue
      connections += line.length
      for (const ch of line) if (ch === 'r') reused++
    }
  }
  return { rate: connections / wall, connections, reused }
}
