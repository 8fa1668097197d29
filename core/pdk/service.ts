// kong.service: the upstream connection of the current request (Kong's kong/pdk/service.lua).
// The TLS setters are Kong 3.2's set_tls_verify, set_tls_verify_depth,
// set_tls_verify_store and set_tls_cert_key, taking PEM text where Kong takes parsed
// OpenSSL objects; each changes only this request's connection (proxy/upstream-tls.ts).
// Kong's set_upstream and set_target are not here yet.

import { X509Certificate, createPrivateKey } from 'node:crypto'
import type { RequestContext, TlsOverrides } from '../runtime/context.js'
import { check } from './private/checks.js'
import { PHASES } from './private/phases.js'
import { KongServiceRequest } from './service-request.js'
import { KongServiceResponse } from './service-response.js'

const P = PHASES.service

const PEM_CERT = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g

// PEM text already parsed: plugins tend to pass the same certificate on every request.
const PARSED = new Set<string>()
const PARSED_MAX = 256

function remember (pem: string): void {
  if (PARSED.size >= PARSED_MAX) PARSED.clear()
  PARSED.add(pem)
}

/** The certificates of a PEM text; throws, blaming `fn`, when there are none or one does not parse. */
function certificates (pem: unknown, fn: string, what: string): string[] {
  if (typeof pem !== 'string') throw new TypeError(`${fn}: ${what} must be a PEM string`)
  const blocks = pem.match(PEM_CERT) ?? []
  if (blocks.length === 0) throw new TypeError(`${fn}: ${what} holds no PEM certificate`)
  if (!PARSED.has(pem)) {
    for (const b of blocks) {
      try { new X509Certificate(b) } catch (err) { throw new TypeError(`${fn}: invalid certificate in ${what}: ${(err as Error).message}`) } // eslint-disable-line no-new
    }
    remember(pem)
  }
  return blocks
}

export class KongService {
  readonly #ctx: RequestContext
  #request?: KongServiceRequest
  #response?: KongServiceResponse
  constructor (ctx: RequestContext) { this.#ctx = ctx }

  get request (): KongServiceRequest { return (this.#request ??= new KongServiceRequest(this.#ctx)) }
  get response (): KongServiceResponse { return (this.#response ??= new KongServiceResponse(this.#ctx)) }

  #overrides (): TlsOverrides { return (this.#ctx.upstreamTls ??= {}) }

  /**
   * Whether this request's https connection verifies the upstream's certificate chain and
   * name, whatever the service's tls_verify says. With no trusted CAs set (the service's
   * ca_certificates or setTlsVerifyStore), node's default roots are trusted.
   * @phases rewrite, access
   */
  setTlsVerify (on: boolean): void {
    check(this.#ctx, P.setTlsVerify)
    if (typeof on !== 'boolean') throw new TypeError('kong.service.setTlsVerify: argument must be a boolean')
    this.#overrides().verify = on
  }

  /**
   * The most intermediate certificates the verified chain may have, for this request
   * (verification must be on: the service's tls_verify, or setTlsVerify).
   * @phases rewrite, access
   */
  setTlsVerifyDepth (depth: number): void {
    check(this.#ctx, P.setTlsVerifyDepth)
    if (typeof depth !== 'number' || !Number.isInteger(depth) || depth < 0) throw new TypeError('kong.service.setTlsVerifyDepth: argument must be a non-negative integer')
    this.#overrides().depth = depth
  }

  /**
   * The CA certificates (PEM text, one or several blocks, or a list of them) trusted when
   * verifying this request's upstream, instead of the service's ca_certificates.
   * @phases rewrite, access
   */
  setTlsVerifyStore (cas: string | string[]): void {
    check(this.#ctx, P.setTlsVerifyStore)
    const fn = 'kong.service.setTlsVerifyStore'
    const list = Array.isArray(cas) ? cas : [cas]
    this.#overrides().store = list.flatMap((pem) => certificates(pem, fn, 'argument'))
  }

  /**
   * The client certificate (PEM, the certificate then its chain) and private key (PEM)
   * presented to the upstream for this request, instead of the service's or upstream's
   * client_certificate.
   * @phases rewrite, access
   */
  setTlsCertKey (chain: string, key: string): void {
    check(this.#ctx, P.setTlsCertKey)
    const fn = 'kong.service.setTlsCertKey'
    const first = certificates(chain, fn, 'chain')[0] as string
    if (typeof key !== 'string') throw new TypeError(`${fn}: key must be a PEM string`)
    const pair = `${first}\0${key}`
    if (!PARSED.has(pair)) {
      let ok: boolean
      try { ok = new X509Certificate(first).checkPrivateKey(createPrivateKey(key)) } catch (err) { throw new TypeError(`${fn}: invalid key: ${(err as Error).message}`) }
      if (!ok) throw new TypeError(`${fn}: the key is not the certificate's`)
      remember(pair)
    }
    this.#overrides().cert = { chain, key }
  }
}
