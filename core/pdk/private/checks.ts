// The checks every PDK namespace makes on its arguments and on the phase it is called
// in, gathered as Kong gathers them in kong/pdk/private/checks.lua: a namespace module
// holds what its functions do, this one how they refuse.

import type { RequestContext } from '../../runtime/context.js'
import { PhaseError } from '../../runtime/phases.js'
import type { PhaseRule } from './phases.js'

/** Throws Kong's phase error unless the current phase is one `rule` allows (see phases.ts). */
export function check (ctx: RequestContext, rule: PhaseRule): void {
  if ((ctx.phase & rule.mask) === 0) throw new PhaseError(rule.fn, ctx.phase, rule.mask)
}

export function first (v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v
}

export function argString (name: string, value: unknown, fn: string): string {
  if (typeof value !== 'string') throw new TypeError(`${fn}: ${name} must be a string`)
  return value
}

// Plugins pass header names as literals ('X-Consumer-ID') on every request. toLowerCase
// makes a new string each time, and a new string used as a property key is first looked
// up in V8's string table; remembering the lower-case, internalized form skips both.
const LOWER = new Map<string, string>()
const LOWER_MAX = 1024

/** `name` in lower case, the same string object for the same input. */
export function lowerName (name: string): string {
  let lower = LOWER.get(name)
  if (lower === undefined) {
    // A property key is internalized; reading it back gives the table's copy.
    lower = Object.keys({ [name.toLowerCase()]: 0 })[0] as string
    if (LOWER.size >= LOWER_MAX) LOWER.clear()
    LOWER.set(name, lower)
  }
  return lower
}

export function headerName (name: unknown, fn: string): string {
  if (typeof name !== 'string') throw new TypeError(`${fn}: name must be a string`)
  return lowerName(name)
}

// What can go on the wire (RFC 9110 5.1 and 5.5). node refuses anything else only when
// it writes the head, far from the plugin's call and, for a response, after the answer
// has begun; OpenResty escapes CR and LF instead. Refused here, the call throws in the
// plugin's phase, which fails that request like any plugin error.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/
const UNSENDABLE = /[^\t\x20-\x7e\x80-\xff]/

// Names already found to be tokens, by the spelling the plugin used: a plugin setting the
// same few response headers on every request tests each once.
const TOKENS = new Map<unknown, string>()

/** A header name a plugin writes: lower case, and an HTTP token. */
export function headerNameToSet (name: unknown, fn: string): string {
  const known = TOKENS.get(name)
  if (known !== undefined) return known
  const lower = headerName(name, fn)
  if (!TOKEN.test(lower)) throw new TypeError(`${fn}: invalid header name ${JSON.stringify(name)} (not an HTTP token)`)
  if (TOKENS.size >= LOWER_MAX) TOKENS.clear()
  TOKENS.set(name, lower)
  return lower
}

function sendable (v: string, fn: string): string {
  if (UNSENDABLE.test(v)) throw new TypeError(`${fn}: invalid header value ${JSON.stringify(v.slice(0, 60))} (control characters such as CR and LF cannot be sent)`)
  return v
}

export function headerValue (value: unknown, fn: string): string | string[] {
  if (typeof value === 'string') return sendable(value, fn)
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
    for (const v of value) sendable(v, fn)
    return value as string[]
  }
  throw new TypeError(`${fn}: invalid header value (a string, number, boolean or array of strings)`)
}
