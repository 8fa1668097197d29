// key-auth's access phase, in the order of kong/plugins/key-auth/handler.lua (see the
// behaviour notes §1.4). Internal steps return a failure instead of answering; only the
// phase entry point turns it into kong.response.error.

import { authenticateAnonymous, setConsumer } from '@tollgate/sdk'
import type { Consumer, Entity, Kong } from '@tollgate/sdk'
import { hashKey, hashingKeys, isHashedKey } from './hashing.js'
import type { KeyAuthConfig } from './schema.js'

const ERR_DUPLICATE_API_KEY = 'Duplicate API key found'
const ERR_NO_API_KEY = 'No API key found in request'
// The Kong 3.2 docs' message; Kong's source answers 'Unauthorized', and the docs win here.
const ERR_INVALID_AUTH_CRED = 'Invalid authentication credentials'
const ERR_UNEXPECTED = 'An unexpected error occurred'

interface Failure { status: number, message: string, headers?: Record<string, string> }

/** A 401 with Kong's WWW-Authenticate challenge (made only when a request fails). */
function unauthorized (conf: KeyAuthConfig, message: string): Failure {
  return { status: 401, message, headers: { 'WWW-Authenticate': conf.realm == null ? 'Key' : `Key realm="${conf.realm}"` } }
}

// key_names lower-cased once per config, not per request: a new string per lookup (and
// its string-table lookup as a property key) was a measurable part of the request path.
const lowerNames = new WeakMap<readonly string[], string[]>()

function lowered (names: readonly string[]): string[] {
  let lower = lowerNames.get(names)
  if (lower === undefined) lowerNames.set(names, lower = names.map((n) => n.toLowerCase()))
  return lower
}

/** The header's value(s), every one: a repeated key is refused, which kong.request.getHeader (first value only) would hide. */
function lookupHeader (headers: Readonly<Record<string, string | string[]>>, key: string): string | string[] | undefined {
  // As with OpenResty's header table, a name with '_' also finds the '-' spelling.
  return headers[key] ?? (key.includes('_') ? headers[key.replaceAll('_', '-')] : undefined)
}

/**
 * The credential of a presented key. With keyauth_hash_keys = on its hash is looked up
 * first, through the same unique index; then the key itself, for rows stored before
 * hashing was turned on. A stored hash is never a key: presenting one (read from an
 * export or a copy of the database) finds nothing.
 */
function findCredential (kong: Kong, key: string): Entity | undefined {
  if (hashingKeys()) {
    const hashed = kong.db.find('keyauth_credentials', { key: hashKey(key) })
    if (hashed !== undefined) return hashed
  }
  const plain = kong.db.find('keyauth_credentials', { key })
  return plain === undefined || isHashedKey(plain.key) ? undefined : plain
}

function doAuthentication (kong: Kong, conf: KeyAuthConfig): Failure | undefined {
  const headers = kong.request.getHeaders()
  let body: Record<string, unknown> | undefined
  let bodyMime: string | undefined
  let key: string | undefined
  // Parsed once, on first need; unparseable or unsupported bodies count as empty, as in Kong.
  const parsedBody = (): Record<string, unknown> => {
    if (body === undefined) {
      const [parsed, , mime] = kong.request.getBody()
      body = parsed !== undefined && !Array.isArray(parsed) ? parsed : {}
      bodyMime = mime
    }
    return body
  }

  const lowerKeyNames = conf.key_in_header ? lowered(conf.key_names) : conf.key_names
  for (let i = 0; i < conf.key_names.length; i++) {
    const name = conf.key_names[i] as string
    let v: unknown
    if (conf.key_in_header) v = lookupHeader(headers, lowerKeyNames[i] as string)
    if (v === undefined && conf.key_in_query) v = kong.request.getQuery()[name]
    if (v === undefined && conf.key_in_body) v = parsedBody()[name]
    if (Array.isArray(v)) return unauthorized(conf, ERR_DUPLICATE_API_KEY)
    if (typeof v !== 'string') continue
    key = v
    if (conf.hide_credentials) {
      // Kong removes the name from every place it may be sent, not only where it was found.
      kong.service.request.clearHeader(name)
      if (name.includes('_')) kong.service.request.clearHeader(name.replaceAll('_', '-'))
      kong.service.request.clearQueryArg(name)
      if (conf.key_in_body) {
        const b = parsedBody()
        if (bodyMime !== undefined && name in b) {
          delete b[name]
          kong.service.request.setBody(b, bodyMime)
        }
      }
    }
    break // the first string found decides, even an empty one
  }

  if (key === undefined || key === '') return unauthorized(conf, ERR_NO_API_KEY)

  const credential = findCredential(kong, key)
  if (credential === undefined) return unauthorized(conf, ERR_INVALID_AUTH_CRED)
  const consumerRef = credential.consumer as { id: string }
  const consumer = kong.db.get('consumers', consumerRef.id) as Consumer | undefined
  if (consumer === undefined) return { status: 500, message: ERR_UNEXPECTED }
  setConsumer(kong, consumer, credential)
  return undefined
}

/** Kong's logical-OR mode: a failed authentication falls back to the anonymous consumer. */
function logicalOrAuthentication (kong: Kong, conf: KeyAuthConfig, anonymous: string): void {
  // An earlier auth plugin already identified the request: nothing to do.
  if (kong.client.getCredential() !== undefined) return
  const failure = doAuthentication(kong, conf)
  if (failure === undefined) return
  authenticateAnonymous(kong, anonymous)
}

/** Kong's logical-AND mode: a failed authentication answers the request. */
function logicalAndAuthentication (kong: Kong, conf: KeyAuthConfig): void {
  const failure = doAuthentication(kong, conf)
  if (failure !== undefined) kong.response.error(failure.status, failure.message, failure.headers)
}

export function access (kong: Kong, conf: KeyAuthConfig): void {
  if (!conf.run_on_preflight && kong.request.getMethod() === 'OPTIONS') return
  if (conf.anonymous != null && conf.anonymous !== '') logicalOrAuthentication(kong, conf, conf.anonymous)
  else logicalAndAuthentication(kong, conf)
}
