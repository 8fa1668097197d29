// Field checks shared by entity schemas. Messages are Kong's (kong/db/schema/typedefs.lua),
// since clients match on them.

import { isIP } from 'node:net'

const LABEL = '[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?'
const HOSTNAME_RE = new RegExp(`^(?:${LABEL})(?:\\.${LABEL})*\\.?$`)

export function checkHost (host: string): string | undefined {
  if (isIP(host) !== 0) return undefined
  if (/^\[[0-9A-Fa-f:.]+\](?::\d+)?$/.test(host)) {
    return /\]:\d+$/.test(host) ? 'must not have a port' : undefined
  }
  if (/^[^:]+:\d+$/.test(host)) return 'must not have a port'
  if (host.length > 253 || !HOSTNAME_RE.test(host)) return `invalid value: ${host}`
  return undefined
}

// RFC 3986 unreserved + sub-delims + ':' '@' '%' '/'
const PATH_CHARS_RE = /^[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/

export function checkPath (path: string): string | undefined {
  if (!path.startsWith('/')) return 'should start with: /'
  if (path.includes('//')) return 'must not have empty segments'
  if (!PATH_CHARS_RE.test(path)) {
    return `invalid path: '${path}' (characters outside of the reserved list of RFC 3986 found)`
  }
  const bad = /%(?![0-9A-Fa-f]{2}).{0,2}/.exec(path)
  if (bad !== null) return `invalid url-encoded value: '${bad[0]}'`
  return undefined
}

/** Kong normalises prefix paths: percent-decodes unreserved characters and resolves dot segments. */
export function normalizePath (path: string): string {
  const decoded = path.replace(/%([0-9A-Fa-f]{2})/g, (m, hex: string) => {
    const ch = String.fromCharCode(parseInt(hex, 16))
    return /[A-Za-z0-9\-._~]/.test(ch) ? ch : m.toUpperCase()
  })
  const out: string[] = []
  const segments = decoded.split('/')
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i] as string
    const last = i === segments.length - 1
    if (s === '.') { if (last) out.push(''); continue }
    if (s === '..') { if (out.length > 1) out.pop(); if (last) out.push(''); continue }
    out.push(s)
  }
  const joined = out.join('/')
  return joined.startsWith('/') ? joined : `/${joined}`
}

/** Host patterns of routes: at most one `*` as the leftmost or rightmost label, optional port. */
export function checkRouteHost (host: string): string | undefined {
  const stars = host.split('*').length - 1
  let name = host
  const port = /^(.*):(\d+)$/.exec(host)
  if (port !== null && !host.startsWith('[')) {
    name = port[1] as string
    const n = Number(port[2])
    if (n < 1 || n > 65535) return 'invalid port number'
  }
  if (stars > 1) return 'invalid wildcard: must have at most one wildcard'
  if (stars === 1) {
    if (!(name.startsWith('*.') || name.endsWith('.*'))) return 'invalid wildcard: must be placed at leftmost or rightmost label'
    name = name.startsWith('*.') ? `x${name.slice(1)}` : `${name.slice(0, -1)}x`
  }
  if (isIP(name) !== 0 || /^\[[0-9A-Fa-f:.]+\]$/.test(name)) return undefined
  if (name.length > 253 || !HOSTNAME_RE.test(name)) return `invalid hostname: ${host}`
  return undefined
}
