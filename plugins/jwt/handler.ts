// jwt's access phase, in the order of kong/plugins/jwt/handler.lua. Token parsing and the
// registered-claim checks follow kong/plugins/jwt/jwt_parser.lua; the signature itself is
// verified by jose. Internal steps return a failure instead of answering; only the phase
// entry point turns it into a response.

import { createPublicKey, type KeyObject } from 'node:crypto'
import { compactVerify } from 'jose'
import type { Consumer, Entity, Kong } from '@tollgate/sdk'
import { ALGORITHMS, type Algorithm } from './entities.js'
import type { JwtConfig } from './schema.js'

interface Failure { status: number, message?: string, errors?: Record<string, string | string[]> }

/** Sets the consumer and its identity headers upstream (Kong's jwt set_consumer). */
function setConsumer (kong: Kong, consumer: Consumer, credential: Entity | undefined, token: string | undefined): void {
  kong.client.authenticate(consumer, credential)
  const set = (name: string, value: unknown): void => {
    if (typeof value !== 'string') kong.service.request.clearHeader(name)
    else kong.service.request.setHeader(name, value)
  }
  set('X-Consumer-ID', consumer.id)
  set('X-Consumer-Custom-ID', consumer.custom_id)
  set('X-Consumer-Username', consumer.username)
  // jwt identifies the credential by its key, not its id (Kong's handler does the same).
  set('X-Credential-Identifier', credential?.key)
  if (credential !== undefined) kong.service.request.clearHeader('X-Anonymous-Consumer')
  else kong.service.request.setHeader('X-Anonymous-Consumer', 'true')
  kong.ctx.shared.authenticated_jwt_token = token
}

/** The value of cookie `name` in the Cookie header(s), as nginx's $cookie_NAME finds it. */
function cookie (header: string | string[] | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  for (const line of Array.isArray(header) ? header : [header]) {
    for (const pair of line.split(/[;,]/)) {
      const eq = pair.indexOf('=')
      if (eq < 0) continue
      if (pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim()
    }
  }
  return undefined
}

const BEARER = /^\s*[Bb]earer\s+(.+)/

/** Every distinct non-empty token in the query, the cookies and the headers (Kong's retrieve_tokens). */
function retrieveTokens (kong: Kong, conf: JwtConfig): Set<string> {
  const tokens = new Set<string>()
  const query = kong.request.getQuery()
  for (const name of conf.uri_param_names) {
    const v = query[name]
    for (const t of Array.isArray(v) ? v : [v]) if (typeof t === 'string' && t !== '') tokens.add(t)
  }
  const headers = kong.request.getHeaders()
  for (const name of conf.cookie_names) {
    const c = cookie(headers.cookie, name)
    if (c !== undefined && c !== '') tokens.add(c)
  }
  for (const name of conf.header_names) {
    let v = headers[name.toLowerCase()]
    // A repeated header: its first occurrence only.
    if (Array.isArray(v)) v = v[0]
    if (v === undefined) continue
    const m = BEARER.exec(v)
    if (m?.[1] !== undefined && m[1] !== '') tokens.add(m[1])
  }
  return tokens
}

/** Kong's base64_decode: URL-safe alphabet, padding optional; undefined when it is not base64. */
function base64urlDecode (s: string): Buffer | undefined {
  if (!/^[A-Za-z0-9\-_+/]*={0,2}$/.test(s)) return undefined
  return Buffer.from(s.replaceAll('-', '+').replaceAll('_', '/'), 'base64')
}

interface Decoded { header: Record<string, unknown>, claims: Record<string, unknown> }

function isRecord (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** jwt_parser's decode_token: an error message for "Bad token; ..." or the decoded parts. */
function decodeToken (token: string): Decoded | string {
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

async function verifySignature (token: string, alg: Algorithm, value: string | Buffer): Promise<boolean> {
  let key: Uint8Array | KeyObject | undefined
  if (alg.startsWith('HS')) key = typeof value === 'string' ? Buffer.from(value, 'utf8') : value
  else key = publicKey(typeof value === 'string' ? value : value.toString('utf8'))
  if (key === undefined) return false
  try {
    await compactVerify(token, key, { algorithms: [alg] })
    return true
  } catch {
    return false
  }
}

/** jwt_parser's verify_registered_claims: errors by claim name, or undefined. */
function verifyRegisteredClaims (claims: Record<string, unknown>, toVerify: readonly string[]): Record<string, string> | undefined {
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

async function doAuthentication (kong: Kong, conf: JwtConfig): Promise<Failure | undefined> {
  const tokens = retrieveTokens(kong, conf)
  if (tokens.size === 0) return { status: 401, message: 'Unauthorized' }
  if (tokens.size > 1) return { status: 401, message: 'Multiple tokens provided' }
  const token = tokens.values().next().value as string

  const jwt = decodeToken(token)
  if (typeof jwt === 'string') return { status: 401, message: `Bad token; ${jwt}` }

  const claim = conf.key_claim_name
  const secretKey = jwt.claims[claim] ?? jwt.header[claim]
  if (secretKey === undefined || secretKey === null || secretKey === false) return { status: 401, message: `No mandatory '${claim}' in claims` }
  if (secretKey === '') return { status: 401, message: `Invalid '${claim}' in claims` }

  const secret = typeof secretKey === 'string' || typeof secretKey === 'number' ? kong.db.find('jwt_secrets', { key: String(secretKey) }) : undefined
  if (secret === undefined) return { status: 401, message: `No credentials found for given '${claim}'` }

  const algorithm = (secret.algorithm ?? 'HS256') as Algorithm
  if (jwt.header.alg !== algorithm) return { status: 401, message: 'Invalid algorithm' }

  let value: string | Buffer | undefined = (algorithm.startsWith('HS') ? secret.secret : secret.rsa_public_key) as string | undefined | null ?? undefined
  if (conf.secret_is_base64 && value !== undefined) value = base64urlDecode(value)
  if (value === undefined) return { status: 401, message: 'Invalid key/secret' }

  if (!await verifySignature(token, algorithm, value)) return { status: 401, message: 'Invalid signature' }

  const errors = verifyRegisteredClaims(jwt.claims, conf.claims_to_verify ?? [])
  if (errors !== undefined) return { status: 401, errors }

  if (conf.maximum_expiration > 0) {
    const exp = jwt.claims.exp
    if (typeof exp !== 'number' || exp - Math.floor(Date.now() / 1000) > conf.maximum_expiration) {
      return { status: 401, errors: { exp: 'exceeds maximum allowed expiration' } }
    }
  }

  const consumer = kong.db.get('consumers', (secret.consumer as { id: string }).id) as Consumer | undefined
  if (consumer === undefined) return { status: 401, message: `Could not find consumer for '${claim}=${String(secretKey)}'` }
  setConsumer(kong, consumer, secret, token)
  return undefined
}

export async function access (kong: Kong, conf: JwtConfig): Promise<void> {
  if (!conf.run_on_preflight && kong.request.getMethod() === 'OPTIONS') return
  const anonymous = conf.anonymous != null && conf.anonymous !== '' ? conf.anonymous : undefined
  // Logical OR: an earlier auth plugin already identified the request.
  if (anonymous !== undefined && kong.client.getCredential() !== undefined) return
  const failure = await doAuthentication(kong, conf)
  if (failure === undefined) return
  if (anonymous !== undefined) {
    const consumer = kong.client.loadConsumer(anonymous, true)
    if (consumer === undefined) {
      kong.response.error(500, `anonymous consumer ${anonymous} is configured but doesn't exist`)
      return
    }
    setConsumer(kong, consumer, undefined, undefined)
    return
  }
  // Kong answers with exit, not error: the body is exactly { message } or the claim errors.
  kong.response.exit(failure.status, failure.errors ?? { message: failure.message })
}
