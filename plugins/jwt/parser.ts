// Kong's kong/plugins/jwt/jwt_parser.lua, the parts the handler uses: decoding a token,
// verifying its signature (by jose) and its registered claims.

import { createHmac, createPublicKey, timingSafeEqual, type KeyObject } from 'node:crypto'
import { compactVerify } from 'jose'
import { ALGORITHMS, type Algorithm } from './entities.js'

/** Kong's base64_decode: URL-safe alphabet, padding optional; undefined when it is not base64. */
export function base64urlDecode (s: string): Buffer | undefined {
  if (!/^[A-Za-z0-9\-_+/]*={0,2}$/.test(s)) return undefined
  return Buffer.from(s.replaceAll('-', '+').replaceAll('_', '/'), 'base64')
}

export interface Decoded { header: Record<string, unknown>, claims: Record<string, unknown> }

function isRecord (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** jwt_parser's decode_token: an error message for "Bad token; ..." or the decoded parts. */
export function decodeToken (token: string): Decoded | string {
  const parts = token.split('.')
  if (parts.length < 3) return 'invalid JSON'
  let header: unknown, claims: unknown
  try {
    header = JSON.parse((base64urlDecode(parts[0] as string) ?? Buffer.alloc(0)).toString('utf8'))
    claims = JSON.parse((base64urlDecode(parts[1] as string) ?? Buffer.alloc(0)).toString('utf8'))
  } catch {
    return 'invalid JSON'
  }
  if (!isRecord(header) || !isRecord(claims)) return 'invalid JSON'
  if (typeof header.alg !== 'string' || !(ALGORITHMS as readonly string[]).includes(header.alg)) return 'invalid alg'
  if (base64urlDecode(parts.slice(2).join('.')) === undefined) return 'invalid signature'
  return { header, claims }
}

// Public keys parsed once per PEM, not per request.
const publicKeys = new Map<string, KeyObject | null>()

function publicKey (pem: string): KeyObject | undefined {
  let key = publicKeys.get(pem)
  if (key === undefined) {
    try { key = createPublicKey(pem) } catch { key = null }
    if (publicKeys.size > 1000) publicKeys.clear()
    publicKeys.set(pem, key)
  }
  return key ?? undefined
}

const HMAC_HASH: Partial<Record<Algorithm, string>> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }
const BASE64URL = /^[A-Za-z0-9_-]*$/

/**
 * An HS* signature checked with node:crypto's synchronous HMAC, or undefined when the token
 * is not plainly formed and jose must judge it. jose goes through WebCrypto, which imports
 * the key and runs the HMAC as a thread-pool job for every token: about 250 us of CPU a
 * request in the bench (`tollgate-plugin-jwt`), against a few us here. Only tokens jose
 * would read the same way take this path: three parts of unpadded base64url, a header
 * whose alg is the expected one and with no `crit` or `b64` (which change jose's rules),
 * and a non-empty secret (WebCrypto refuses an empty HMAC key).
 */
function verifyHmac (token: string, alg: Algorithm, key: Buffer): boolean | undefined {
  const hash = HMAC_HASH[alg]
  if (hash === undefined || key.length === 0) return undefined
  const parts = token.split('.')
  if (parts.length !== 3) return undefined
  const [head, payload, sig] = parts as [string, string, string]
  if (!BASE64URL.test(head) || !BASE64URL.test(payload) || !BASE64URL.test(sig)) return undefined
  let header: unknown
  try { header = JSON.parse(Buffer.from(head, 'base64url').toString('utf8')) } catch { return undefined }
  if (!isRecord(header) || header.alg !== alg || 'crit' in header || 'b64' in header) return undefined
  const mac = createHmac(hash, key).update(`${head}.${payload}`).digest()
  const given = Buffer.from(sig, 'base64url')
  return given.length === mac.length && timingSafeEqual(given, mac)
}

/** A boolean straight away when node:crypto could judge (plainly formed HS* tokens), else jose's promise. */
export function verifySignature (token: string, alg: Algorithm, value: string | Buffer): boolean | Promise<boolean> {
  let key: Uint8Array | KeyObject | undefined
  if (alg.startsWith('HS')) {
    const secret = typeof value === 'string' ? Buffer.from(value, 'utf8') : value
    const fast = verifyHmac(token, alg, secret)
    if (fast !== undefined) return fast
    key = secret
  } else {
    key = publicKey(typeof value === 'string' ? value : value.toString('utf8'))
  }
  if (key === undefined) return false
  return compactVerify(token, key, { algorithms: [alg] }).then(() => true, () => false)
}

/** jwt_parser's verify_registered_claims: errors by claim name, or undefined. */
export function verifyRegisteredClaims (claims: Record<string, unknown>, toVerify: readonly string[]): Record<string, string> | undefined {
  const now = Math.floor(Date.now() / 1000)
  const errors: Record<string, string> = {}
  for (const name of toVerify) {
    const v = claims[name]
    if (typeof v !== 'number') errors[name] = 'must be a number'
    else if (name === 'exp' && v <= now) errors[name] = 'token expired'
    else if (name === 'nbf' && v > now) errors[name] = 'token not valid yet'
  }
  return Object.keys(errors).length > 0 ? errors : undefined
}
