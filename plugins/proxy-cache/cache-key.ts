// Kong's cache key (kong/plugins/proxy-cache/cache_key.lua, 3.1+): the SHA-256, in
// lower-case hex, of `prefix|method|request line|args|headers`. Kept to the byte, so a key
// a client saw from Kong's X-Cache-Key names the same request here.

import { createHash } from 'node:crypto'

type Args = Record<string, string | true | Array<string | true> | undefined>

/** `consumer:route` for an authenticated request, `route` otherwise, `default` without a route. */
export function prefixOf (consumerId: string | undefined, routeId: string | undefined): string {
  if (consumerId !== undefined && routeId !== undefined) return `${consumerId}:${routeId}`
  if (routeId !== undefined) return routeId
  return 'default'
}

/**
 * `name=value` for each of `names` present in `args`, in that order, joined with ':'. A
 * repeated name's values are sorted and joined with ','; a bare flag is its name alone.
 */
function keyFrom (args: Args, names: readonly string[], lookup: (name: string) => string = (n) => n): string {
  const parts: string[] = []
  for (const name of names) {
    const v = args[lookup(name)]
    if (v === undefined) continue
    if (Array.isArray(v)) parts.push(`${name}=${v.map(String).sort().join(',')}`)
    else if (v === true) parts.push(name)
    else parts.push(`${name}=${v}`)
  }
  return parts.join(':')
}

/** The query component: the vary_query_params, or every argument sorted by name. */
export function paramsKey (query: Args, varyQueryParams: readonly string[] | null): string {
  if (varyQueryParams === null || varyQueryParams.length === 0) return keyFrom(query, Object.keys(query).sort())
  return keyFrom(query, varyQueryParams)
}

/**
 * The header component: the vary_headers (named as configured, found case-insensitively,
 * '_' standing for '-' as ngx.req.get_headers looks them up), or nothing.
 */
export function headersKey (headers: Args, varyHeaders: readonly string[] | null): string {
  if (varyHeaders === null || varyHeaders.length === 0) return ''
  return keyFrom(headers, varyHeaders, (n) => n.toLowerCase().replace(/_/g, '-'))
}

/**
 * nginx's `$request` with everything from '?' on removed: `GET /path HTTP/1.1` without a
 * query, `GET /path` with one (Kong's regex takes the protocol with the query).
 */
export function requestLine (method: string, pathWithQuery: string, httpVersion: number): string {
  const q = pathWithQuery.indexOf('?')
  if (q !== -1) return `${method} ${pathWithQuery.slice(0, q)}`
  return `${method} ${pathWithQuery} HTTP/${httpVersion.toFixed(1)}`
}

// The same requests come again (that is what a cache is for): their digests are kept, a
// bounded number, instead of hashing the same text on every hit.
const digests = new Map<string, string>()
const DIGESTS_MAX = 10_000

export function buildCacheKey (prefix: string, method: string, uri: string, paramsDigest: string, headersDigest: string): string {
  const text = `${prefix}|${method}|${uri}|${paramsDigest}|${headersDigest}`
  let key = digests.get(text)
  if (key === undefined) {
    key = createHash('sha256').update(text).digest('hex')
    if (digests.size >= DIGESTS_MAX) digests.clear()
    digests.set(text, key)
  }
  return key
}
