// TLS towards https upstreams, as Kong sets it per request in balancer_prepare
// (kong/runloop/handler.lua) and balancer.execute (kong/runloop/balancer/init.lua): the
// service's tls_verify, tls_verify_depth, ca_certificates and client_certificate, else the
// upstream's client_certificate, and what plugins set through kong.service.setTls*.
//
// Each distinct combination is a TlsProfile, whose `key` keeps connection pools apart
// (upstream-pools.ts): two services to one address never share a connection made with
// other certificates or another verification. Profiles are read from the store once and
// made again after any committed write, so a certificate changed through the Admin API is
// used by the next new connection; its key changes with its content, so pools made with
// the old one are no longer chosen.

import { createHash } from 'node:crypto'
import type { TLSSocket, PeerCertificate } from 'node:tls'
import { buildConnector } from 'undici'
import type { Logger } from '../log.js'
import type { TlsOverrides } from '../runtime/context.js'
import type { Service } from '../store/index.js'

/** How one pool's connections do TLS. */
export interface TlsProfile {
  /** Equal keys, equal settings: part of the pool key. */
  readonly key: string
  /** Verify the upstream's chain and name (Kong's tls_verify; off unless set). */
  readonly verify: boolean
  /** The most intermediate certificates a verified chain may have (OpenSSL's verify depth). */
  readonly depth: number
  /** PEM CA certificates to trust (empty: none, Kong's behaviour without ca_certificates). */
  readonly ca: readonly string[] | undefined
  /** The client certificate chains (PEM) and their keys, for upstream mTLS. */
  readonly cert: readonly string[] | undefined
  readonly certKey: readonly string[] | undefined
}

/**
 * nginx's proxy_ssl_verify_depth when Kong sets none (tls_verify_depth null): one
 * intermediate certificate between the upstream's and a trusted one.
 */
export const DEFAULT_VERIFY_DEPTH = 1

/** The error code of a failed TLS handshake with an upstream (a verification failure, a refused client certificate). */
export const UPSTREAM_TLS = 'TOLLGATE_UPSTREAM_TLS'

/** A TLS handshake with an upstream failed; `reason` is OpenSSL's or node's words. */
export class UpstreamTlsError extends Error {
  readonly code = UPSTREAM_TLS
  readonly reason: string
  constructor (reason: string, cause?: unknown) {
    super(`upstream TLS handshake failed: ${reason}`, { cause })
    this.name = 'UpstreamTlsError'
    this.reason = reason
  }
}

/** Whether an upstream request failed in TLS: the handshake, or an alert after it (a TLS 1.3 server refusing our client certificate). */
export function isTlsFailure (err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  return code === UPSTREAM_TLS || (typeof code === 'string' && code.startsWith('ERR_SSL_'))
}

// Failures of the connection itself, not of TLS: left as they are, for the retry and
// health rules that already know them.
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME'])

/**
 * Intermediate certificates in the chain node verified: the peer's certificates followed
 * up to the trust anchor, which node appends from the trusted store. Neither end counts,
 * as OpenSSL counts its verify depth.
 */
export function intermediates (leaf: PeerCertificate): number {
  const seen = new Set<string>()
  let cert: PeerCertificate | undefined = leaf
  let links = 0
  while (cert !== undefined && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256)
    const issuer: PeerCertificate | undefined = (cert as PeerCertificate & { issuerCertificate?: PeerCertificate }).issuerCertificate
    if (issuer === undefined || issuer === cert || issuer.fingerprint256 === cert.fingerprint256) break
    links++
    cert = issuer
  }
  return Math.max(0, links - 1)
}

type Connector = buildConnector.connector

/**
 * undici's connector with the profile's TLS options, checking the depth after the
 * handshake (node has no option for it) and naming TLS failures UpstreamTlsError.
 */
export function tlsConnector (profile: TlsProfile, timeout: number): Connector {
  const connect = buildConnector({
    timeout,
    rejectUnauthorized: profile.verify,
    ...(profile.verify && profile.ca !== undefined ? { ca: [...profile.ca] } : {}),
    ...(profile.cert !== undefined ? { cert: [...profile.cert], key: [...(profile.certKey ?? [])] } : {}),
  })
  const connected = (callback: buildConnector.Callback): buildConnector.Callback => (err, socket) => {
    if (err !== null) {
      const code = (err as NodeJS.ErrnoException).code ?? ''
      callback(NETWORK.has(code) ? err : new UpstreamTlsError(code === '' ? err.message : `${err.message} (${code})`, err), null)
      return
    }
    if (profile.verify) {
      const n = intermediates((socket as TLSSocket).getPeerCertificate(true))
      if (n > profile.depth) {
        socket.destroy()
        callback(new UpstreamTlsError(`certificate chain too long: ${n} intermediate certificates, tls_verify_depth ${profile.depth} (CERT_CHAIN_TOO_LONG)`), null)
        return
      }
    }
    callback(null, socket)
  }
  return (options, callback) => {
    // node refuses some settings only when it connects (a key that is not the
    // certificate's, from a plugin's setTlsCertKey): a failure of this attempt, too.
    try {
      connect(options, connected(callback))
    } catch (err) {
      callback(new UpstreamTlsError((err as Error).message, err), null)
    }
  }
}

/** The upstream's Host without its port: the SNI and the name verified (Kong: proxy_ssl_name $upstream_host). */
export function serverName (host: string | string[] | undefined): string {
  const h = Array.isArray(host) ? host[0] ?? '' : host ?? ''
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1)
  const colon = h.lastIndexOf(':')
  return (colon === -1 ? h : h.slice(0, colon)).toLowerCase()
}

/** Reads certificate rows (runtime/entity-cache.ts). */
export interface CertificateRows {
  get (entity: string, id: string): Record<string, unknown> | undefined
}

const digest = (parts: readonly string[]): string => createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 32)

/** The request's TLS profile, made once per service, upstream certificate and overrides, until the next write. */
export class UpstreamTls {
  readonly #rows: CertificateRows | undefined
  readonly #log: Logger | undefined
  #byService = new WeakMap<Service, Map<string, TlsProfile>>()
  #derived = new Map<string, TlsProfile>()

  /** `rows` absent: no certificate can be found (tests of the proxy alone). */
  constructor (rows?: CertificateRows, log?: Logger, onChange?: (listener: () => void) => unknown) {
    this.#rows = rows
    this.#log = log
    onChange?.(() => this.clear())
  }

  /** Forgets every profile, for a write made elsewhere. */
  clear (): void {
    this.#byService = new WeakMap()
    this.#derived = new Map()
  }

  /**
   * The profile for a request to `service`; `upstreamCertificate` is the balanced
   * upstream's client_certificate id, used when the service has none (Kong's
   * balancer.execute), and `overrides` what plugins set for this request.
   */
  profile (service: Service, upstreamCertificate: string | undefined, overrides: TlsOverrides | undefined): TlsProfile {
    let byCert = this.#byService.get(service)
    if (byCert === undefined) this.#byService.set(service, byCert = new Map())
    const certId = service.client_certificate?.id ?? upstreamCertificate
    const slot = certId ?? ''
    let base = byCert.get(slot)
    if (base === undefined) byCert.set(slot, base = this.#make(service, certId))
    return overrides === undefined ? base : this.#override(base, overrides)
  }

  #make (service: Service, certId: string | undefined): TlsProfile {
    const verify = service.tls_verify === true
    const depth = service.tls_verify_depth ?? DEFAULT_VERIFY_DEPTH
    // Kong 3.2's docs (services' ca_certificates, kong.service.set_tls_verify): with no CA
    // rows, nginx has no trusted CA for upstreams, and verification always fails. The same
    // here: an empty trust list, not node's built-in roots.
    let ca: string[] | undefined = verify ? [] : undefined
    if (service.ca_certificates != null) {
      // Kong: a missing row leaves the store unset, and verification fails for want of a
      // trusted CA; the rows found are trusted here, and with none nothing is.
      ca = []
      for (const id of service.ca_certificates) {
        const row = this.#rows?.get('ca_certificates', id)
        if (typeof row?.cert === 'string') ca.push(row.cert)
        else this.#log?.error({ service: service.id, ca_certificate: id }, `CA Certificate '${id}' does not exist: not trusted for upstream TLS`)
      }
    }
    let cert: string[] | undefined
    let certKey: string[] | undefined
    if (certId !== undefined) {
      const row = this.#rows?.get('certificates', certId)
      if (row === undefined) {
        this.#log?.error({ service: service.id, certificate: certId }, 'unable to fetch upstream client TLS certificate: not found')
      } else {
        cert = [row.cert as string]
        certKey = [row.key as string]
        if (typeof row.cert_alt === 'string' && typeof row.key_alt === 'string') { cert.push(row.cert_alt); certKey.push(row.key_alt) }
      }
    }
    return profileOf(verify, depth, ca, cert, certKey)
  }

  #override (base: TlsProfile, o: TlsOverrides): TlsProfile {
    const verify = o.verify ?? base.verify
    const depth = o.depth ?? base.depth
    const ca = o.store ?? base.ca
    const cert = o.cert === undefined ? base.cert : [o.cert.chain]
    const certKey = o.cert === undefined ? base.certKey : [o.cert.key]
    const made = profileOf(verify, depth, ca, cert, certKey)
    // Kept so that the pool lookup finds the same object again; bounded, as plugins may
    // set a different certificate on every request.
    const known = this.#derived.get(made.key)
    if (known !== undefined) return known
    if (this.#derived.size >= 1000) this.#derived.clear()
    this.#derived.set(made.key, made)
    return made
  }
}

/** No verification, no client certificate: Kong's default (nginx's proxy_ssl_verify off). */
export const NO_VERIFY: TlsProfile = profileOf(false, DEFAULT_VERIFY_DEPTH, undefined, undefined, undefined)

function profileOf (verify: boolean, depth: number, ca: readonly string[] | undefined, cert: readonly string[] | undefined, certKey: readonly string[] | undefined): TlsProfile {
  const parts = [verify ? `verify:${depth}:${ca === undefined ? 'default' : digest(ca)}` : 'noverify']
  if (cert !== undefined) parts.push(`cert:${digest([...cert, ...(certKey ?? [])])}`)
  return { key: parts.join('|'), verify, depth, ca, cert, certKey }
}
