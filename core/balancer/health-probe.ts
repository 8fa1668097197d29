// One active health probe: connect to a target, optionally speak TLS and send one GET, and
// say what happened. Kong parity: lua-resty-healthcheck 3.0 (Kong 3.x) `run_single_check`,
// which writes `GET <path> HTTP/1.0` with the configured headers and then `Host`, reads only
// the status line, and closes. Raw sockets rather than node:http so the request is byte for
// byte Kong's (HTTP/1.0, header order) and a probe owns exactly one socket it can destroy.

import { connect as netConnect, isIP, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'

/**
 * What a probe found:
 * - `success`: a `tcp` (or grpc, see below) probe connected;
 * - `status`: the HTTP status line's code, 0 when the line was not `HTTP/x.y nnn`
 *   (Kong reports that as an invalid response, an HTTP failure);
 * - `tcp`: connect refused/reset, TLS handshake failure, or the connection closed before a
 *   status line arrived;
 * - `timeout`: no answer within the probe's time;
 * - `aborted`: the probe was cancelled (the checker is stopping); report nothing.
 */
export type ProbeOutcome =
  | { kind: 'success' }
  | { kind: 'status', status: number }
  | { kind: 'tcp' }
  | { kind: 'timeout' }
  | { kind: 'aborted' }

export type ProbeType = 'tcp' | 'http' | 'https' | 'grpc' | 'grpcs'

export interface ProbeSpec {
  type: ProbeType
  /** IPv4, or IPv6 with or without brackets. */
  ip: string
  port: number
  /** Milliseconds for connect + TLS + response status line. */
  timeoutMs: number
  /** The whole request head (see requestHead); unused for tcp/grpc/grpcs. */
  request: string
  /** TLS server name; undefined sends none. */
  servername?: string | undefined
  verify: boolean
  /** A client certificate (PEM) and its key, presented over TLS. */
  cert?: string
  key?: string
}

/** A running probe: its outcome, and a way to end it early (outcome `aborted`). */
export interface Probe {
  readonly done: Promise<ProbeOutcome>
  abort (): void
}

/** Longest status line read; a longer first line counts as a bad status line (status 0). */
const MAX_STATUS_LINE = 8192

/**
 * Kong's probe request: `GET <path> HTTP/1.0`, then each configured header value as its
 * own `name: value` line (a name with several values repeats), then `Host`. CR and LF in
 * values are dropped so a configured value cannot add lines of its own.
 */
export function requestHead (path: string, host: string, headers: Readonly<Record<string, readonly string[]>> | null | undefined): string {
  let lines = ''
  for (const [name, values] of Object.entries(headers ?? {})) {
    for (const v of values) lines += `${name}: ${v.replace(/[\r\n]/g, '')}\r\n`
  }
  return `GET ${path} HTTP/1.0\r\n${lines}Host: ${host}\r\n\r\n`
}

/**
 * Starts one probe. Never throws and never rejects; the promise settles only after the
 * socket has closed, so awaiting it leaves no handle behind.
 *
 * grpc / grpcs: lua-resty-healthcheck only knows tcp, http and https (Kong fails to create
 * the checker for gRPC types). Tollgate probes them at the transport level instead: grpc
 * is a TCP connect, grpcs a TCP connect plus TLS handshake (with the SNI and verification
 * settings), both a success when they complete. Speaking HTTP/2 and the gRPC health
 * protocol is not attempted.
 */
export function startProbe (spec: ProbeSpec): Probe {
  let outcome: ProbeOutcome | undefined
  let socket: Socket | undefined
  let timer: NodeJS.Timeout | undefined
  let resolve!: (o: ProbeOutcome) => void
  const done = new Promise<ProbeOutcome>((r) => { resolve = r })

  const finish = (o: ProbeOutcome): void => {
    if (outcome !== undefined) return
    outcome = o
    if (timer !== undefined) clearTimeout(timer)
    if (socket === undefined || socket.closed) resolve(o)
    else socket.destroy()
  }

  const host = spec.ip.startsWith('[') ? spec.ip.slice(1, -1) : spec.ip
  const tls = spec.type === 'https' || spec.type === 'grpcs'
  const httpProbe = spec.type === 'http' || spec.type === 'https'
  try {
    socket = tls
      ? tlsConnect({
        host,
        port: spec.port,
        rejectUnauthorized: spec.verify,
        ...(spec.cert !== undefined && spec.key !== undefined ? { cert: spec.cert, key: spec.key } : {}),
        // RFC 6066: no IP literals as server names (Node warns about them too).
        ...(spec.servername !== undefined && spec.servername !== '' && isIP(spec.servername) === 0 ? { servername: spec.servername } : {}),
      })
      : netConnect({ host, port: spec.port })
  } catch {
    finish({ kind: 'tcp' })
    return { done, abort () {} }
  }
  const sock = socket
  sock.on('close', () => { if (timer !== undefined) clearTimeout(timer); resolve(outcome ?? { kind: 'tcp' }) })
  sock.on('error', () => finish({ kind: 'tcp' }))
  sock.on('end', () => finish({ kind: 'tcp' }))

  timer = setTimeout(() => finish({ kind: 'timeout' }), spec.timeoutMs)
  timer.unref()

  sock.once(tls ? 'secureConnect' : 'connect', () => {
    if (!httpProbe) { finish({ kind: 'success' }); return }
    sock.write(spec.request)
  })

  let head = ''
  sock.setEncoding('latin1')
  sock.on('data', (chunk: string) => {
    head += chunk
    const nl = head.indexOf('\n')
    if (nl === -1 && head.length <= MAX_STATUS_LINE) return
    const line = (nl === -1 ? head : head.slice(0, nl)).replace(/\r$/, '')
    const m = /^HTTP\/\d+\.\d+\s+(\d+)/i.exec(line)
    finish({ kind: 'status', status: m === null ? 0 : Number(m[1]) })
  })

  return { done, abort: () => finish({ kind: 'aborted' }) }
}
