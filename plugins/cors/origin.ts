// Origins as Kong's cors plugin compares them (kong/plugins/cors/handler.lua): an origin is
// normalized to scheme://host[:port] without the scheme's default port; a configured entry
// with a character outside [A-Za-z0-9.:/-] is a regex, anchored at both ends, matched
// against the request origin's host when the entry has no ':', else against the whole
// normalized origin.

export interface Normalized { domain: string, host: string }

export type Allowed = { regex: RegExp, byHost: boolean } | { domain: string, byHost: boolean }

/** Like socket.url's parse as Kong uses it: no `//authority` means no host, and the value is kept whole. */
export function normalizeOrigin (origin: string): Normalized {
  const m = /^(?:([A-Za-z0-9][A-Za-z0-9+.-]*):)?\/\/([^/?#]*)/.exec(origin)
  if (m === null) return { domain: origin, host: origin }
  const scheme = m[1]
  let authority = m[2] as string
  const at = authority.lastIndexOf('@')
  if (at !== -1) authority = authority.slice(at + 1)
  let host = authority
  let port: string | undefined
  const colon = authority.lastIndexOf(':')
  if (colon !== -1 && !authority.slice(colon).includes(']')) {
    host = authority.slice(0, colon)
    port = authority.slice(colon + 1)
  }
  if ((scheme === 'http' && port === '80') || (scheme === 'https' && port === '443')) port = undefined
  return { domain: `${scheme !== undefined ? `${scheme}://` : ''}${host}${port !== undefined ? `:${port}` : ''}`, host }
}

/** Whether a configured origin is taken literally (Kong: only [A-Za-z0-9.:/-]). */
export const isFlat = (entry: string): boolean => /^[A-Za-z0-9.:/-]+$/.test(entry)

export function compileOrigin (entry: string): Allowed {
  const byHost = !entry.includes(':')
  if (isFlat(entry)) return { domain: normalizeOrigin(entry).domain, byHost }
  // Kong 0.x did not anchor regexes; Kong anchors them, keeping an explicit ^ or $.
  let source = entry.endsWith('$') ? entry : `${entry}$`
  if (source.startsWith('^')) source = source.slice(1)
  return { regex: new RegExp(`^(?:${source})`), byHost }
}

/** Whether one of `allowed` matches the normalized request origin. */
export function matchOrigin (allowed: readonly Allowed[], origin: Normalized): boolean {
  return allowed.some((a) => 'regex' in a ? a.regex.test(a.byHost ? origin.host : origin.domain) : a.domain === origin.domain)
}
