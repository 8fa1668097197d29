// Request paths are matched in the form Kong matches them (kong/router/utils.lua): unreserved
// percent-escapes decoded, reserved ones kept (hex upper-cased), dot segments removed and
// repeated slashes merged. Work happens on byte strings (one char per byte, as node hands
// us the request target) so a route path is compared byte for byte, like in Kong.

const RESERVED = new Set("!*'();:@&=+$,/?%#[]".split('').map((c) => c.charCodeAt(0)))

function hex (c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  if (c >= 65 && c <= 70) return c - 55
  if (c >= 97 && c <= 102) return c - 87
  return -1
}

/** Percent-decodes everything but reserved characters. */
export function decodeUnreserved (path: string): string {
  if (!path.includes('%')) return path
  let out = ''
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i)
    if (c === 37 && i + 2 < path.length) {
      const hi = hex(path.charCodeAt(i + 1))
      const lo = hex(path.charCodeAt(i + 2))
      if (hi >= 0 && lo >= 0) {
        const byte = hi * 16 + lo
        out += RESERVED.has(byte) ? `%${path[i + 1] as string}${path[i + 2] as string}`.toUpperCase() : String.fromCharCode(byte)
        i += 2
        continue
      }
    }
    out += path[i]
  }
  return out
}

/** RFC 3986 5.2.4 dot-segment removal, after merging repeated slashes. */
export function removeDotSegments (path: string): string {
  const merged = path.includes('//') ? path.replace(/\/{2,}/g, '/') : path
  if (!merged.includes('.')) return merged
  const input = merged.split('/')
  const out: string[] = []
  for (let i = 0; i < input.length; i++) {
    const seg = input[i] as string
    const last = i === input.length - 1
    if (seg === '.') { if (last) out.push(''); continue }
    if (seg === '..') {
      if (out.length > 1) out.pop()
      if (last) out.push('')
      continue
    }
    out.push(seg)
  }
  const joined = out.join('/')
  return joined.startsWith('/') ? joined : `/${joined}`
}

/** The path the router matches: decoded, dot segments removed, slashes merged. */
export function normalizePath (rawPath: string): string {
  return removeDotSegments(decodeUnreserved(rawPath))
}

/** A UTF-8 string as a byte string (one char per byte), the form request targets come in. */
export function toBytes (s: string): string {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(s) ? s : Buffer.from(s, 'utf8').toString('latin1')
}

const KEEP = /[^!#$&'()*+,/:;=?@[\]A-Za-z0-9\-_.~%]/g

// The characters KEEP lets through, as a table: most paths need no escaping, and a scan
// tells so for less than a regex replace costs.
const KEPT = new Uint8Array(128)
for (const c of "!#$&'()*+,/:;=?@[]ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~%") KEPT[c.charCodeAt(0)] = 1

/** Percent-encodes what may not go into an upstream request path (Kong: `escape_uri`). */
export function encodeUpstreamPath (path: string): string {
  let clean = true
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i)
    if (c >= 128 || KEPT[c] === 0) { clean = false; break }
  }
  if (clean) return path
  return path.replace(KEEP, (ch) => {
    const code = ch.charCodeAt(0)
    if (code <= 0xff) return `%${code.toString(16).toUpperCase().padStart(2, '0')}`
    return [...Buffer.from(ch, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('')
  })
}
