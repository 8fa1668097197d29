// The secure contexts TLS listeners serve: Kong's cipher suites, session resumption shared
// by a node's processes, and the certificate chosen per handshake by SNI from the `snis`
// and `certificates` entities (Kong's kong/runloop/certificate.lua order: exact name, then
// `*.rest`, then `first.*`, then the `*` catch-all row, then the listener's default; the
// lookup is store/sni-lookup.ts).

import { X509Certificate, randomBytes } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { constants as osslConstants } from 'node:crypto'
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls'
import type { Config, TlsVersion } from '../config/index.js'
import type { Logger } from '../log.js'
import { makeDirectory } from '../dirs.js'
import { findSni } from '../store/sni-lookup.js'
import type { ConfigReader } from '../store/store.js'
import type { PemPair } from './material.js'

// Mozilla's Server Side TLS v5, as kong/conf_loader/init.lua carries it.
const INTERMEDIATE = [
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
  'DHE-RSA-AES128-GCM-SHA256', 'DHE-RSA-AES256-GCM-SHA384',
]
const OLD = [...INTERMEDIATE,
  'DHE-RSA-CHACHA20-POLY1305', 'ECDHE-ECDSA-AES128-SHA256', 'ECDHE-RSA-AES128-SHA256', 'ECDHE-ECDSA-AES128-SHA',
  'ECDHE-RSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA384', 'ECDHE-RSA-AES256-SHA384', 'ECDHE-ECDSA-AES256-SHA',
  'ECDHE-RSA-AES256-SHA', 'DHE-RSA-AES128-SHA256', 'DHE-RSA-AES256-SHA256', 'AES128-GCM-SHA256', 'AES256-GCM-SHA384',
  'AES128-SHA256', 'AES256-SHA256', 'AES128-SHA', 'AES256-SHA', 'DES-CBC3-SHA',
]
const TLS13 = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256'

interface Suite { min: TlsVersion, max: TlsVersion, ciphers?: string, preferServer: boolean }

function suiteOf (config: Config): Suite {
  switch (config.ssl_cipher_suite) {
    case 'modern': return { min: 'TLSv1.3', max: 'TLSv1.3', preferServer: false }
    case 'intermediate': return { min: 'TLSv1.2', max: 'TLSv1.3', ciphers: `${TLS13}:${INTERMEDIATE.join(':')}`, preferServer: false }
    // TLSv1 and 1.1 with SHA-1 signatures are below OpenSSL 3's default security level;
    // `old` exists for exactly those clients.
    case 'old': return { min: 'TLSv1', max: 'TLSv1.3', ciphers: `${TLS13}:${OLD.join(':')}:@SECLEVEL=0`, preferServer: true }
    case 'custom': {
      const p = config.ssl_protocols
      return { min: p[0] as TlsVersion, max: p[p.length - 1] as TlsVersion, ciphers: config.ssl_ciphers === '' ? undefined : config.ssl_ciphers, preferServer: config.ssl_prefer_server_ciphers }
    }
  }
}

/**
 * The options every context of a node's TLS listeners shares. `ticketKeys` are the same in
 * all of them and in all of the node's processes, so a session ticket issued by one worker
 * (or under one certificate's context) resumes on any other.
 */
export function contextOptions (config: Config, ticketKeys: Buffer): SecureContextOptions {
  const s = suiteOf(config)
  return {
    minVersion: s.min,
    maxVersion: s.max,
    ciphers: s.ciphers,
    honorCipherOrder: s.preferServer,
    dhparam: 'auto',
    sessionTimeout: config.ssl_session_timeout,
    ticketKeys,
    secureOptions: config.ssl_session_tickets ? undefined : osslConstants.SSL_OP_NO_TICKET,
  }
}

const TICKET_FILE = 'ticket.keys'

/**
 * The node's session ticket keys (48 bytes). `fresh`: made anew, as nginx's master does at
 * each start, and written for the node's worker processes to read.
 */
export function ticketKeys (prefix: string, fresh: boolean): Buffer {
  const dir = join(prefix, 'ssl')
  const file = join(dir, TICKET_FILE)
  if (!fresh && existsSync(file)) {
    const keys = readFileSync(file)
    if (keys.length === 48) return keys
  }
  const keys = randomBytes(48)
  makeDirectory(dir, 0o700)
  writeFileSync(`${file}.${process.pid}.tmp`, keys, { mode: 0o600 })
  renameSync(`${file}.${process.pid}.tmp`, file)
  return keys
}

/** One context serving every pair (one per key type: OpenSSL picks by what the client accepts). */
export function contextFor (pairs: PemPair[], options: SecureContextOptions): SecureContext {
  return createSecureContext({ ...options, cert: pairs.map((p) => p.cert), key: pairs.map((p) => p.key) })
}

export type KeyKind = 'rsa' | 'other'

export function keyKind (cert: string): KeyKind {
  return new X509Certificate(cert).publicKey.asymmetricKeyType === 'rsa' ? 'rsa' : 'other'
}

/**
 * Why a listener with SNI selection serves one certificate type by default. node installs
 * an SNI-chosen context by copying its *one* current certificate into the connection,
 * over the slot of that key type; the default context's other slots stay. With an RSA
 * and an ECDSA default, an RSA-only row would leave the default ECDSA certificate beside
 * it, and TLSv1.3 clients, preferring ECDSA, would get the default instead of the row.
 * So the default context holds one type (RSA when there is one, as every client accepts
 * it); each row installs its certificate of that type when it has one, so it replaces the
 * default's; the other default pair is installed for names no row matches.
 */
export interface SniDefaults {
  /** The server's own context's pair: what clients sending no SNI get. */
  base: PemPair
  /** The key type of `base`, which rows' certificates replace. */
  kind: KeyKind
  /** The other default pairs, installed beside `base` for names no row matches. */
  others: PemPair[]
}

export function sniDefaults (pairs: PemPair[]): SniDefaults {
  const base = pairs.find((p) => keyKind(p.cert) === 'rsa') ?? pairs[0] as PemPair
  return { base, kind: keyKind(base.cert), others: pairs.filter((p) => p !== base) }
}

const NAME_CACHE = 10_000

/**
 * Chooses a handshake's certificate by SNI. Lookups and contexts are cached until the store
 * changes, so a certificate written through the Admin API serves the next handshake, in
 * every process (each follows the store's changes).
 */
export class CertificateSelector {
  readonly #store: ConfigReader
  readonly #options: SecureContextOptions
  readonly #log: Logger
  /** SNI -> context; null: the listener's default. */
  readonly #byName = new Map<string, SecureContext | null>()
  /** certificate id -> context. */
  readonly #byCert = new Map<string, SecureContext>()
  readonly #off: () => void

  readonly #kind: KeyKind
  /** For names no row matches: the default's other types, beside the base; null when none. */
  readonly #miss: SecureContext | null

  constructor (store: ConfigReader, options: SecureContextOptions, defaults: SniDefaults, log: Logger) {
    this.#store = store
    this.#options = options
    this.#log = log
    this.#kind = defaults.kind
    this.#miss = defaults.others.length === 0 ? null : contextFor(defaults.others.slice(-1), options)
    this.#off = store.onChange(() => this.clear())
  }

  /**
   * Forgets every choice. Called on this process's own writes (onChange) and by the proxy's
   * invalidate(), which is how a cluster worker hears of the primary's writes.
   */
  clear (): void { this.#byName.clear(); this.#byCert.clear() }

  /** node's SNICallback: an undefined context means the server's default. */
  readonly SNICallback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void): void => {
    let ctx: SecureContext | null
    try {
      ctx = this.select(servername)
    } catch (err) {
      // Kong ends the handshake when a row cannot be served; so does this.
      this.#log.error({ err, sni: servername }, 'could not select a certificate')
      cb(err as Error)
      return
    }
    cb(null, ctx ?? undefined)
  }

  /** The context for `servername`, or null for the listener's own (base) context. */
  select (servername: string): SecureContext | null {
    let name = servername.toLowerCase()
    if (name.endsWith('.')) name = name.slice(0, -1)
    const cached = this.#byName.get(name)
    if (cached !== undefined) return cached
    const row = findSni(this.#store, name)
    const ctx = row === undefined ? this.#miss : this.#context(row.certificate as { id: string } | null, name)
    if (this.#byName.size >= NAME_CACHE) this.#byName.clear() // names are the client's to choose
    this.#byName.set(name, ctx)
    return ctx
  }

  close (): void { this.#off() }

  #context (ref: { id: string } | null, name: string): SecureContext | null {
    if (ref === null) return null
    const known = this.#byCert.get(ref.id)
    if (known !== undefined) return known
    const cert = this.#store.get('certificates', ref.id)
    if (cert === undefined) throw new Error(`no SSL certificate configured for sni: ${name}`)
    const pairs: PemPair[] = [{ cert: cert.cert as string, key: cert.key as string }]
    if (typeof cert.cert_alt === 'string' && typeof cert.key_alt === 'string') pairs.push({ cert: cert.cert_alt, key: cert.key_alt })
    // The pair of the default's type when the row has one (see SniDefaults): it replaces the
    // default's certificate, so no client is served the default for this name.
    const pick = pairs.find((p) => keyKind(p.cert) === this.#kind) ?? pairs[0] as PemPair
    const ctx = contextFor([pick], this.#options)
    this.#byCert.set(ref.id, ctx)
    return ctx
  }
}
