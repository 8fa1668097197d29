// The value a consistent-hashing upstream hashes for a request: Kong's get_value_to_hash
// (kong/runloop/balancer/init.lua, 3.2). `hash_on` first; when it yields nothing,
// `hash_fallback`; when both yield nothing, '' (every such request lands on one address,
// as in Kong). Kong computes it once, on the first attempt, and retries reuse it: so
// should the caller.
//
// Sources, as Kong reads them:
// - consumer: the authenticated consumer's id, else the credential's id;
// - ip: the client address (the connection's, not X-Forwarded-For);
// - header: the header's value; a repeated header's values concatenated without a
//   separator (Kong 3.2's table.concat of get_headers()). node's own `req.headers` joins
//   repeats with ', ' already: pass per-value arrays to match Kong exactly;
// - cookie: the first cookie of that name (names compared without case, as nginx's
//   $cookie_); when absent, a new uuid is the value and the caller must answer with
//   `Set-Cookie: <name>=<uuid>; Path=<hash_on_cookie_path>; Same-Site=Lax; HttpOnly`
//   (Kong's spelling, `Same-Site` included);
// - path: the normalized request path;
// - query_arg: the argument's value; a bare `?a` is 'true'; repeated values are sorted and
//   joined with ',';
// - uri_capture: a named capture of the route's regex path. (Kong looks the configured
//   name up as a string, so numbered groups never match there either.)
// An empty value ('' header, `name=` cookie, `a=` argument) counts as a value, as it does
// in Lua; only an absent one falls back.

import { randomUUID } from 'node:crypto'

export type HashOn = 'none' | 'consumer' | 'ip' | 'header' | 'cookie' | 'path' | 'query_arg' | 'uri_capture'

/** The upstream fields that choose the hash value (Kong's names; null as stored). */
export interface HashSettings {
  hash_on?: HashOn | string | null
  hash_fallback?: HashOn | string | null
  hash_on_header?: string | null
  hash_fallback_header?: string | null
  hash_on_cookie?: string | null
  hash_on_cookie_path?: string | null
  hash_on_query_arg?: string | null
  hash_fallback_query_arg?: string | null
  hash_on_uri_capture?: string | null
  hash_fallback_uri_capture?: string | null
}

/**
 * What a request offers. Only the fields the upstream's settings name are read, so getters
 * (a lazily parsed query) cost nothing for the others.
 */
export interface HashRequest {
  /** Lower-case names; a repeated header as an array. */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>
  readonly clientIp: string
  readonly consumerId?: string | undefined
  readonly credentialId?: string | undefined
  /** Normalized path. */
  readonly path: string
  /** Parsed query: a bare name is `true`, a repeated one an array. */
  readonly query: Readonly<Record<string, string | true | readonly (string | true)[] | undefined>>
  /** Named captures of the matched regex path. */
  readonly uriCaptures?: Readonly<Record<string, string | undefined>> | undefined
}

export interface HashValue {
  value: string
  /** Set when hashing on a cookie the client did not send: the whole Set-Cookie value. */
  setCookie: string | undefined
}

type Source = (req: HashRequest) => string | undefined

const NONE: HashValue = Object.freeze({ value: '', setCookie: undefined }) as HashValue

/**
 * Compiles an upstream's hash settings into a function of the request, once per config:
 * the per-request work is then one or two lookups.
 */
export function compileHashValue (s: HashSettings): (req: HashRequest) => HashValue {
  const on = s.hash_on ?? 'none'
  if (on === 'none') return () => NONE
  if (on === 'cookie') {
    const name = s.hash_on_cookie ?? ''
    const path = s.hash_on_cookie_path ?? '/'
    const read = cookieSource(name)
    return (req) => {
      const v = read(req)
      if (v !== undefined) return { value: v, setCookie: undefined }
      const id = randomUUID()
      return { value: id, setCookie: `${name}=${id}; Path=${path}; Same-Site=Lax; HttpOnly` }
    }
  }
  const first = source(on, s.hash_on_header, s.hash_on_query_arg, s.hash_on_uri_capture)
  const fb = s.hash_fallback ?? 'none'
  const second = fb === 'none' ? undefined : source(fb, s.hash_fallback_header, s.hash_fallback_query_arg, s.hash_fallback_uri_capture)
  return (req) => {
    const v = first(req) ?? second?.(req)
    return v === undefined ? NONE : { value: v, setCookie: undefined }
  }
}

/** One-off form of compileHashValue. */
export function hashValue (s: HashSettings, req: HashRequest): HashValue {
  return compileHashValue(s)(req)
}

function source (on: string, header: string | null | undefined, arg: string | null | undefined, capture: string | null | undefined): Source {
  switch (on) {
    case 'consumer': return (req) => req.consumerId ?? req.credentialId
    case 'ip': return (req) => req.clientIp
    case 'header': {
      // Kong's get_headers() lookup: case-insensitive, '_' standing for '-'.
      const name = (header ?? '').toLowerCase().replace(/_/g, '-')
      return (req) => {
        const v = req.headers[name]
        return typeof v === 'string' || v === undefined ? v : v.join('')
      }
    }
    case 'path': return (req) => req.path
    case 'query_arg': {
      const name = arg ?? ''
      return (req) => {
        const v = req.query[name]
        if (v === undefined) return undefined
        if (!Array.isArray(v)) return String(v)
        return v.map(String).sort().join(',')
      }
    }
    case 'uri_capture': {
      const name = capture ?? ''
      return (req) => req.uriCaptures?.[name]
    }
    // A cookie is not a fallback (Kong's schema forbids it); 'none' ends the search.
    default: return () => undefined
  }
}

function cookieSource (name: string): Source {
  const lower = name.toLowerCase()
  return (req) => {
    const raw = req.headers.cookie
    if (raw === undefined) return undefined
    for (const line of typeof raw === 'string' ? [raw] : raw) {
      for (const part of line.split(';')) {
        const eq = part.indexOf('=')
        if (eq === -1) continue
        if (part.slice(0, eq).trim().toLowerCase() === lower) return part.slice(eq + 1).trim()
      }
    }
    return undefined
  }
}
