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

/** Kong's check_hostname (kong/tools/utils.lua): letters, digits, `-`, `.`, `_`; no empty or dash-ended label. */
function kongHostnameError (name: string): boolean {
  if (!/^[A-Za-z0-9\-._]+$/.test(name)) return true
  const labels = name.split('.')
  return labels.some((l, i) => l.endsWith('-') || (l === '' && i !== labels.length - 1))
}

/**
 * Kong's `sni` typedef (routes' `snis`) and, with `wildcard`, its `wildcard_host` (the
 * `name` of snis): a host name, never an IP address, never with a port. A wildcard_host
 * may hold one `*`, as its first or last character; Kong checks the rest with `wildcard`
 * in its place, and so names that in its messages. Kong 3.2's routes take no wildcard SNI.
 */
export function checkSni (host: string, wildcard = false): string | undefined {
  let name = host
  if (wildcard) {
    const idx = host.indexOf('*')
    if (idx !== -1) {
      if (idx !== 0 && idx !== host.length - 1) return 'wildcard must be leftmost or rightmost character'
      if (host.split('*').length > 2) return 'only one wildcard must be specified'
      name = host.replace('*', 'wildcard')
    }
  }
  // Kong's hostname_type: more than one colon is IPv6, digits and dots (and a colon) IPv4.
  if ((name.match(/:/g) ?? []).length > 1) {
    const bare = /^\[(.*)\](?::\d+)?$/.exec(name)?.[1] ?? name
    return isIP(bare) === 6 ? 'must not be an IP' : `invalid value: ${name}`
  }
  if (/^[\d.]+$/.test(name.replace(':', ''))) {
    const m = /^(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})(?::(\d+))?$/.exec(name)
    if (m === null || m[1]!.split('.').some((o) => Number(o) > 255)) return `invalid value: ${name}`
    return 'must not be an IP'
  }
  const port = /:(\d+)$/.exec(name)
  const bare = port === null ? name : name.slice(0, -(port[0].length))
  if (kongHostnameError(bare)) return `invalid value: ${name}`
  return port === null ? undefined : 'must not have a port'
}
