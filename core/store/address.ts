// Hosts and addresses read the way Kong reads them (kong/tools/utils.lua: hostname_type,
// normalize_ipv4, normalize_ipv6, check_hostname, normalize_ip, format_host). Upstream
// names, targets, an upstream's host_header and health-check SNI are checked with these
// rules, and targets are stored in the form format_host writes, so the messages and the
// stored strings are Kong's. Kong parity includes its quirks, on purpose: a name made of
// digits and dots is read as an IPv4 address (so `123` is no valid host), a label may start
// with `-` but not end with one, and IPv6 addresses are written fully expanded
// (`[::1]:80` is stored as `[0000:0000:0000:0000:0000:0000:0000:0001]:80`).

export interface Address {
  type: 'ipv4' | 'ipv6' | 'name'
  /** Normalised: IPv4 without leading zeros, IPv6 expanded and lower case, names as given. */
  host: string
  port?: number
}

const MAX_PORT = 65535

/** Kong decides the kind by exclusion, not validity: two colons or more is IPv6, digits and dots IPv4. */
function kindOf (s: string): Address['type'] {
  const rest = s.replaceAll(':', '')
  if (s.length - rest.length > 1) return 'ipv6'
  return /^[0-9.]+$/.test(rest) ? 'ipv4' : 'name'
}

function ipv4 (s: string): Address | string {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?::(\d+))?$/.exec(s)
  if (m === null) return `invalid ipv4 address: ${s}`
  const octets = m.slice(1, 5).map(Number)
  if (octets.some((o) => o > 255)) return `invalid ipv4 address: ${s}`
  const port = m[5] === undefined ? undefined : Number(m[5])
  if (port !== undefined && port > MAX_PORT) return 'invalid port number'
  return { type: 'ipv4', host: octets.join('.'), port }
}

function ipv6 (s: string): Address | string {
  let addr = s
  let port: number | undefined
  const bracketed = /^\[([^[\]]*)\](.*)$/s.exec(s)
  if (bracketed !== null) {
    addr = bracketed[1] as string
    const rest = bracketed[2] as string
    if (rest !== '') {
      // `[::1]:` has an empty port: Kong fails on it (a Lua error); here it is no address.
      const p = /^:(\d+)$/.exec(rest)
      if (p === null) return 'invalid ipv6 address'
      port = Number(p[1])
      if (port > MAX_PORT) return 'invalid port number'
    }
  }
  if (addr.startsWith(':')) addr = `0${addr}`
  if (addr.endsWith(':')) addr = `${addr}0`
  const gap = addr.indexOf('::')
  if (gap !== -1) {
    // One `::` stands for as many zero groups as make eight (Kong: zero when there are
    // already eight, so `1:2:3:4:5:6:7::8` passes); a second `::` leaves an empty group.
    const colons = addr.split(':').length - 1
    addr = `${addr.slice(0, gap)}:${'0:'.repeat(Math.max(0, 8 - colons))}${addr.slice(gap + 2)}`
  }
  const groups = addr.split(':')
  if (groups.length !== 8 || !groups.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g))) return `invalid ipv6 address: ${s}`
  return { type: 'ipv6', host: groups.map((g) => g.padStart(4, '0')).join(':').toLowerCase(), port }
}

function hostname (s: string): Address | string {
  let name = s
  let port: number | undefined
  const p = /:(\d+)$/.exec(s)
  if (p !== null) {
    name = s.slice(0, p.index)
    port = Number(p[1])
    if (port > MAX_PORT) return 'invalid port number'
  }
  if (!/^[0-9A-Za-z._-]+$/.test(name)) return `invalid hostname: ${s}`
  const labels = name.split('.')
  // Only the last label may be empty (a trailing dot); none may end with a dash.
  if (labels.some((l, i) => l.endsWith('-') || (l === '' && i !== labels.length - 1))) return `invalid hostname: ${s}`
  return { type: 'name', host: name, port }
}

/** Kong's normalize_ip: the address, or Kong's message for why it is none. */
export function parseAddress (s: string): Address | string {
  const kind = kindOf(s)
  return kind === 'ipv4' ? ipv4(s) : kind === 'ipv6' ? ipv6(s) : hostname(s)
}

/** Kong's format_host: `host:port`, IPv6 in brackets; `port` stands in when the address has none. */
export function formatAddress (a: Address, port?: number): string {
  const host = a.type === 'ipv6' ? `[${a.host}]` : a.host
  const p = a.port ?? port
  return p === undefined ? host : `${host}:${p}`
}

/** How Kong names a value in a message: quoted when it is valid UTF-8 (a JS string without lone surrogates). */
function quoted (what: string, value: string): string {
  return value.isWellFormed() ? `${what} ('${value}')` : what
}

/** An upstream's name: a hostname, no IP, no port (kong/db/schema/entities/upstreams.lua). */
export function checkUpstreamName (name: string): string | undefined {
  const a = parseAddress(name)
  if (typeof a === 'string') return `${quoted('Invalid name', name)}; must be a valid hostname`
  if (a.type !== 'name') return `${quoted('Invalid name', name)}; no ip addresses allowed`
  if (a.port !== undefined) return `${quoted('Invalid name', name)}; no port allowed`
  return undefined
}

/** A target's host[:port], as the schema checks it (kong/db/schema/entities/targets.lua). */
export function checkTarget (target: string): string | undefined {
  return typeof parseAddress(target) === 'string' ? `${quoted('Invalid target', target)}; not a valid hostname or ip address` : undefined
}

/** Kong's typedefs.host_with_optional_port: normalize_ip's own message. */
export function checkHostWithOptionalPort (host: string): string | undefined {
  const a = parseAddress(host)
  return typeof a === 'string' ? a : undefined
}

/** Kong's typedefs.sni: a hostname without a port. */
export function checkSni (host: string): string | undefined {
  const a = parseAddress(host)
  // An out-of-range port makes Kong fail on a nil (a 500); the intent is plain.
  if (a === 'invalid port number') return 'must not have a port'
  if (typeof a === 'string') return `invalid value: ${host}`
  if (a.type !== 'name') return 'must not be an IP'
  if (a.port !== undefined) return 'must not have a port'
  return undefined
}

const TOKEN_RE = /^[A-Za-z0-9_-]+$/

/** Kong's utils.validate_header_name. */
export function checkHeaderName (name: string): string | undefined {
  return TOKEN_RE.test(name) ? undefined : `bad header name '${name}', allowed characters are A-Z, a-z, 0-9, '_', and '-'`
}

/** Kong's utils.validate_cookie_name. */
export function checkCookieName (name: string): string | undefined {
  return TOKEN_RE.test(name) ? undefined : `bad cookie name '${name}', allowed characters are A-Z, a-z, 0-9, '_', and '-'`
}
