// `_format_version` 1.1 and 2.1 files, migrated on load as Kong does
// (kong/db/declarative/migrations/route_path.lua): before 3.0 a route path was a regex
// whenever it held a regex character, and 3.0 marks regexes with a leading `~`. So a path
// made only of plain URL characters is normalised like a request path, and any other gets
// the `~`, its percent-escapes decoded except reserved characters (kept, upper-cased) and
// regex metacharacters (escaped). Only top-level routes and routes nested in top-level
// services are migrated, as in Kong.

import { normalizePath } from '../store/checks.js'
import { isRecord } from '../store/schema.js'

const PLAIN = /^[a-zA-Z0-9.\-_~/%]*$/
const RESERVED = new Set("!#$&'()*+,/:;=?@[]")
const REGEX_META = new Set('.^$*+?()[]{}|\\')


/** A plain path, normalised; `//` collapse as Kong's migration normalises them. */
function migratePlain (path: string): string {
  // Kong's normalize leaves a path without its leading / as it is, for the route's own check to refuse.
  if (!path.startsWith('/')) return path
  return normalizePath(path.replace(/\/{2,}/g, '/'))
}

/** A regex path: `~` prepended, escapes decoded where that keeps the regex's meaning. */
function migrateRegex (path: string): string {
  let out = ''
  let bytes: number[] = []
  const flush = (): void => {
    if (bytes.length > 0) out += Buffer.from(bytes).toString('utf8')
    bytes = []
  }
  for (let i = 0; i < path.length; i++) {
    const m = /^%([0-9A-Fa-f]{2})/.exec(path.slice(i, i + 3))
    if (m === null) { flush(); out += path[i]; continue }
    const byte = parseInt(m[1]!, 16)
    i += 2
    if (byte >= 0x80) { bytes.push(byte); continue }
    flush()
    const ch = String.fromCharCode(byte)
    if (RESERVED.has(ch)) out += `%${m[1]!.toUpperCase()}`
    else if (REGEX_META.has(ch)) out += `\\${ch}`
    else out += ch
  }
  flush()
  return `~${out}`
}

export function migratePath (path: string): string {
  return PLAIN.test(path) ? migratePlain(path) : migrateRegex(path)
}

function migrateRoute (route: unknown): unknown {
  if (!isRecord(route) || !Array.isArray(route.paths)) return route
  return { ...route, paths: route.paths.map((p) => typeof p === 'string' ? migratePath(p) : p) }
}

/** The document with its route paths in 3.0 form and `_format_version` "3.0"; the input is not changed. */
export function migrateTo30 (doc: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...doc, _format_version: '3.0' }
  if (Array.isArray(doc.routes)) out.routes = doc.routes.map(migrateRoute)
  if (Array.isArray(doc.services)) {
    out.services = doc.services.map((s) => isRecord(s) && Array.isArray(s.routes) ? { ...s, routes: s.routes.map(migrateRoute) } : s)
  }
  return out
}
