// jwt's access phase, in the order of kong/plugins/jwt/handler.lua (token parsing and
// checks: parser.ts). Internal steps return a failure instead of answering; only the phase
// entry point turns it into a response.

import { authenticateAnonymous, setConsumer } from '@tollgate/sdk'
import type { Consumer, Entity, Kong } from '@tollgate/sdk'
import type { Algorithm } from './entities.js'
import { base64urlDecode, decodeToken, verifyRegisteredClaims, verifySignature, type Decoded } from './parser.js'
import type { JwtConfig } from './schema.js'

interface Failure { status: number, message?: string, errors?: Record<string, string | string[]> }

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

const BEARER = /\s*[Bb]earer\s+(.+)/

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
    const lower = name.toLowerCase()
    // As with OpenResty's header table, a name with '_' also finds the '-' spelling.
    let v = headers[lower] ?? (lower.includes('_') ? headers[lower.replaceAll('_', '-')] : undefined)
    // A repeated header: its first occurrence only.
    if (Array.isArray(v)) v = v[0]
    if (v === undefined) continue
    const m = BEARER.exec(v)
    if (m?.[1] !== undefined && m[1] !== '') tokens.add(m[1])
  }
  return tokens
}

// Synchronous unless jose has to judge the signature (RS/ES keys, odd HS tokens): an access
// handler that returns a promise sends the whole phase down the runner's asynchronous path,
// a few us a request more for the common HS case.
function doAuthentication (kong: Kong, conf: JwtConfig): Failure | undefined | Promise<Failure | undefined> {
  const tokens = retrieveTokens(kong, conf)
  if (tokens.size === 0) return { status: 401, message: 'Unauthorized' }
  if (tokens.size > 1) return { status: 401, message: 'Multiple tokens provided' }
  const token = tokens.values().next().value as string

  const jwt = decodeToken(token)
  if (typeof jwt === 'string') return { status: 401, message: `Bad token; ${jwt}` }

  const claim = conf.key_claim_name
  // Lua's `claims[k] or header[k]`: a missing or false claim falls back to the header.
  const fromClaims = jwt.claims[claim]
  const secretKey = fromClaims === undefined || fromClaims === null || fromClaims === false ? jwt.header[claim] : fromClaims
  if (secretKey === undefined || secretKey === null || secretKey === false) return { status: 401, message: `No mandatory '${claim}' in claims` }
  if (secretKey === '') return { status: 401, message: `Invalid '${claim}' in claims` }

  const secret = typeof secretKey === 'string' || typeof secretKey === 'number' ? kong.db.find('jwt_secrets', { key: String(secretKey) }) : undefined
  if (secret === undefined) return { status: 401, message: `No credentials found for given '${claim}'` }

  const algorithm = (secret.algorithm ?? 'HS256') as Algorithm
  if (jwt.header.alg !== algorithm) return { status: 401, message: 'Invalid algorithm' }

  let value: string | Buffer | undefined = (algorithm.startsWith('HS') ? secret.secret : secret.rsa_public_key) as string | undefined | null ?? undefined
  if (conf.secret_is_base64 && value !== undefined) value = base64urlDecode(value)
  if (value === undefined) return { status: 401, message: 'Invalid key/secret' }

  const verified = verifySignature(token, algorithm, value)
  const then = (ok: boolean): Failure | undefined => ok ? afterSignature(kong, conf, jwt, secret, claim, secretKey, token) : { status: 401, message: 'Invalid signature' }
  return typeof verified === 'boolean' ? then(verified) : verified.then(then)
}

/** The steps after a good signature: registered claims, maximum expiration, the consumer. */
function afterSignature (kong: Kong, conf: JwtConfig, jwt: Decoded, secret: Entity, claim: string, secretKey: unknown, token: string): Failure | undefined {
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
  // jwt identifies the credential by its key, not its id, and shares the token with later
  // plugins (Kong's jwt set_consumer).
  setConsumer(kong, consumer, secret, secret.key)
  kong.ctx.shared.authenticated_jwt_token = token
  return undefined
}

export function access (kong: Kong, conf: JwtConfig): void | Promise<void> {
  if (!conf.run_on_preflight && kong.request.getMethod() === 'OPTIONS') return
  const anonymous = conf.anonymous != null && conf.anonymous !== '' ? conf.anonymous : undefined
  // Logical OR: an earlier auth plugin already identified the request.
  if (anonymous !== undefined && kong.client.getCredential() !== undefined) return
  const failure = doAuthentication(kong, conf)
  if (failure instanceof Promise) return failure.then((f) => { fail(kong, f, anonymous) })
  fail(kong, failure, anonymous)
}

/** A failed authentication: the anonymous consumer when configured, else the answer. */
function fail (kong: Kong, failure: Failure | undefined, anonymous: string | undefined): void {
  if (failure === undefined) return
  if (anonymous !== undefined) {
    // Kong's set_consumer(anonymous) also sets authenticated_jwt_token to nil; no token was
    // set on this request's way here, so there is nothing to clear.
    authenticateAnonymous(kong, anonymous)
    return
  }
  // Kong answers with exit, not error: the body is exactly { message } or the claim errors.
  kong.response.exit(failure.status, failure.errors ?? { message: failure.message })
}
