// cors (kong/plugins/cors/handler.lua): answers preflight requests in access, adds the
// CORS headers to every other answer in header_filter, whoever made it (the upstream,
// another plugin, an error).

import type { Kong } from '@tollgate/sdk'
import { compileOrigin, isFlat, matchOrigin, normalizeOrigin, type Allowed, type Normalized } from './origin.js'
import { METHODS, type CorsConfig } from './schema.js'

const DEFAULT_METHODS = METHODS.join(',')

// Compiled origins per config (a config object lives as long as the config).
const compiled = new WeakMap<readonly string[], Allowed[]>()
// Normalized request origins; bounded like Kong's per-worker LRU.
const normalized = new Map<string, Normalized>()
const NORMALIZED_MAX = 10_000

function normalizeRequestOrigin (origin: string): Normalized {
  let n = normalized.get(origin)
  if (n === undefined) {
    if (normalized.size >= NORMALIZED_MAX) normalized.delete(normalized.keys().next().value as string)
    normalized.set(origin, n = normalizeOrigin(origin))
  }
  return n
}

/** Kong's Vary: Origin: added to the answer's in header_filter, set on a preflight answer. */
function varyOrigin (kong: Kong, headerFilter: boolean): void {
  if (headerFilter) kong.response.addHeader('Vary', 'Origin')
  else kong.response.setHeader('Vary', 'Origin')
}

/** Sets Access-Control-Allow-Origin; true when every origin is allowed ('*'). */
function configureOrigin (kong: Kong, conf: CorsConfig, headerFilter: boolean): boolean {
  const origins = conf.origins ?? []
  if (origins.length === 0 || (origins.length === 1 && origins[0] === '*')) {
    kong.response.setHeader('Access-Control-Allow-Origin', '*')
    return true
  }
  // Always, as it may be part of a cache key (Kong: rs/cors#10).
  varyOrigin(kong, headerFilter)
  // One literal origin: sent whatever the request's.
  if (origins.length === 1 && isFlat(origins[0] as string)) {
    kong.response.setHeader('Access-Control-Allow-Origin', origins[0])
    return false
  }
  const reqOrigin = kong.request.getHeader('Origin')
  if (reqOrigin !== undefined) {
    let allowed = compiled.get(origins)
    if (allowed === undefined) compiled.set(origins, allowed = origins.map(compileOrigin))
    const n = normalizeRequestOrigin(reqOrigin)
    if (matchOrigin(allowed, n)) {
      kong.response.setHeader('Access-Control-Allow-Origin', n.domain)
      return false
    }
  }
  kong.response.clearHeader('Access-Control-Allow-Origin')
  return false
}

function configureCredentials (kong: Kong, conf: CorsConfig, allowAll: boolean, headerFilter: boolean): void {
  if (!conf.credentials) return
  if (!allowAll) {
    kong.response.setHeader('Access-Control-Allow-Credentials', 'true')
    return
  }
  // Access-Control-Allow-Credentials: true may not go with Access-Control-Allow-Origin: *.
  const reqOrigin = kong.request.getHeader('Origin')
  if (reqOrigin !== undefined) {
    varyOrigin(kong, headerFilter)
    kong.response.setHeader('Access-Control-Allow-Origin', reqOrigin)
    kong.response.setHeader('Access-Control-Allow-Credentials', 'true')
  }
}

export function access (kong: Kong, conf: CorsConfig): void {
  if (kong.request.getMethod() !== 'OPTIONS' ||
      kong.request.getHeader('Origin') === undefined ||
      kong.request.getHeader('Access-Control-Request-Method') === undefined) return
  // A preflight: its answer is the upstream's (preflight_continue) or made here, whole.
  kong.ctx.plugin.skipResponseHeaders = true
  if (conf.preflight_continue) return

  const allowAll = configureOrigin(kong, conf, false)
  configureCredentials(kong, conf, allowAll, false)
  if (conf.headers !== null && conf.headers.length > 0) {
    kong.response.setHeader('Access-Control-Allow-Headers', conf.headers.join(','))
  } else {
    const requested = kong.request.getHeader('Access-Control-Request-Headers')
    if (requested !== undefined) kong.response.setHeader('Access-Control-Allow-Headers', requested)
    else kong.response.clearHeader('Access-Control-Allow-Headers')
  }
  kong.response.setHeader('Access-Control-Allow-Methods', conf.methods !== null ? conf.methods.join(',') : DEFAULT_METHODS)
  if (conf.max_age !== null) kong.response.setHeader('Access-Control-Max-Age', String(conf.max_age))
  if (conf.private_network && kong.request.getHeader('Access-Control-Request-Private-Network') === 'true') {
    kong.response.setHeader('Access-Control-Allow-Private-Network', 'true')
  }
  kong.response.exit(200)
}

export function headerFilter (kong: Kong, conf: CorsConfig): void {
  if (kong.ctx.plugin.skipResponseHeaders === true) return
  const allowAll = configureOrigin(kong, conf, true)
  configureCredentials(kong, conf, allowAll, true)
  if (conf.exposed_headers !== null && conf.exposed_headers.length > 0) {
    kong.response.setHeader('Access-Control-Expose-Headers', conf.exposed_headers.join(','))
  }
}
