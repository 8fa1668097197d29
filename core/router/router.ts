// The route matcher, with Kong's traditional_compatible semantics (kong/router/transform.lua,
// atc-router). Routes are compiled once per config version into matchers (one per path, as
// Kong splits routes per path) ranked by Kong's priority; a request only tests the matchers
// that its host and path can select, in rank order, and the first full match wins.

import type { Route, Service } from '../store/index.js'
import { toBytes } from './normalize.js'

export interface RouteRequest {
  method: string
  /** Host without port, lower-cased; '' when absent. */
  host: string
  /** Port from the Host header, else the listener's. */
  port: number
  /** Normalized path (see normalize.ts), as a byte string. */
  path: string
  /** Lower-cased header names to values; read only when a route matches on headers. */
  headers: () => Record<string, string | string[] | undefined>
  /** TLS: the handshake's server name ('' for none); undefined for plain HTTP. */
  sni?: string
}

export interface RouteMatch {
  route: Route
  service: Service | null
  /** What the route's path matched: a prefix, or the text a regex matched; '/' without paths. */
  matchedPath: string
  /** Whether the route matched through one of its paths. */
  byPath: boolean
  /** Named captures of a regex path. */
  captures?: Record<string, string>
}

interface HostRule { exact?: string, suffix?: string, prefix?: string, port?: number }
interface HeaderRule { name: string, values: string[], patterns: RegExp[] }

interface Matcher {
  rank: number
  route: Route
  service: Service | null
  methods: Set<string> | undefined
  hosts: HostRule[] | undefined
  headers: HeaderRule[] | undefined
  /** The route's SNIs, without a final dot; only TLS requests are held to them. */
  snis: Set<string> | undefined
  prefix: string | undefined
  regex: RegExp | undefined
  /** Text every path matching `regex` starts with. */
  literal: string | undefined
}

/**
 * A radix tree of prefixes: a lookup walks the request path once and picks up the
 * matchers of every stored prefix along the way, whatever the number of routes.
 */
class PrefixTree {
  matchers: Matcher[] | undefined
  /** Made on the first child: most nodes are leaves, and an empty Map per leaf added up
   * to about a kilobyte per route with 10,000 routes. */
  edges: Map<number, { label: string, node: PrefixTree }> | undefined

  insert (key: string, m: Matcher): void {
    let node: PrefixTree = this
    let rest = key
    for (;;) {
      if (rest === '') { (node.matchers ??= []).push(m); return }
      const edge = node.edges?.get(rest.charCodeAt(0))
      if (edge === undefined) {
        const leaf = new PrefixTree()
        leaf.matchers = [m]
        ;(node.edges ??= new Map()).set(rest.charCodeAt(0), { label: rest, node: leaf })
        return
      }
      let common = 0
      const max = Math.min(edge.label.length, rest.length)
      while (common < max && edge.label.charCodeAt(common) === rest.charCodeAt(common)) common++
      if (common < edge.label.length) {
        // Split the edge at the shared part.
        const mid = new PrefixTree()
        mid.edges = new Map([[edge.label.charCodeAt(common), { label: edge.label.slice(common), node: edge.node }]])
        edge.label = edge.label.slice(0, common)
        edge.node = mid
      }
      node = edge.node
      rest = rest.slice(common)
    }
  }

  collect (path: string, out: Matcher[]): void {
    let node: PrefixTree = this
    let pos = 0
    for (;;) {
      if (node.matchers !== undefined) for (const m of node.matchers) out.push(m)
      if (pos >= path.length || node.edges === undefined) return
      const edge = node.edges.get(path.charCodeAt(pos))
      if (edge === undefined || !path.startsWith(edge.label, pos)) return
      pos += edge.label.length
      node = edge.node
    }
  }
}

/** Matchers that share a host selector, indexed by path. */
class Bucket {
  readonly tree = new PrefixTree()
  readonly regexes: Matcher[] = []
  readonly pathless: Matcher[] = []

  add (m: Matcher): void {
    // A regex with a literal start is filed under it like a prefix: only paths starting
    // with that text can match, so other requests never run it.
    const key = m.prefix ?? m.literal
    if (key !== undefined && key !== '') {
      this.tree.insert(key, m)
    } else if (m.regex !== undefined) {
      this.regexes.push(m)
    } else {
      this.pathless.push(m)
    }
  }

  collect (path: string, out: Matcher[]): void {
    this.tree.collect(path, out)
    for (const m of this.regexes) out.push(m)
    for (const m of this.pathless) out.push(m)
  }
}


const CATEGORIES = ['methods', 'hosts', 'headers', 'paths', 'snis', 'sources', 'destinations'] as const

function nonEmpty (v: unknown): boolean {
  return Array.isArray(v) ? v.length > 0 : v !== null && v !== undefined && typeof v === 'object' && Object.keys(v).length > 0
}

function hostRule (entry: string): HostRule {
  let name = entry.toLowerCase()
  let port: number | undefined
  const m = /^(.*):(\d+)$/.exec(name)
  if (m !== null && !name.endsWith(']')) { name = m[1] as string; port = Number(m[2]) }
  if (name.startsWith('*.')) return { suffix: name.slice(1), port }
  if (name.endsWith('.*')) return { prefix: name.slice(0, -1), port }
  return { exact: name, port }
}

interface Sortable { m: Matcher, key: number[], id: string }

/** Kong's priority, most significant first (see §5.3 of the behaviour notes). */
function priorityKey (route: Route, path: string | undefined): number[] {
  const categories = CATEGORIES.filter((c) => nonEmpty((route as Record<string, unknown>)[c])).length
  const hosts = route.hosts ?? []
  const plainHosts = hosts.every((h) => !h.includes('*')) ? 1 : 0
  const headerCount = Object.keys(route.headers ?? {}).length
  const isRegex = path?.startsWith('~') === true ? 1 : 0
  const regexPriority = isRegex === 1 ? route.regex_priority : 0
  const prefixLength = path !== undefined && isRegex === 0 ? toBytes(path).length : 0
  return [categories, plainHosts, headerCount, isRegex, regexPriority, prefixLength]
}

function compare (a: Sortable, b: Sortable): number {
  for (let i = 0; i < a.key.length; i++) {
    const d = (b.key[i] as number) - (a.key[i] as number)
    if (d !== 0) return d
  }
  // Equal priority: the greater route id first, as atc-router orders (priority, uuid) descending.
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0
}

export class Router {
  readonly #byHost = new Map<string, Bucket>()
  readonly #wildcard = new Bucket()
  readonly #anyHost = new Bucket()
  readonly size: number

  /**
   * @param routes   every route (those of disabled services are skipped here)
   * @param services services by id
   */
  constructor (routes: Iterable<Route>, services: Map<string, Service>) {
    const all: Sortable[] = []
    for (const route of routes) {
      if (!route.protocols.some((p) => p === 'http' || p === 'https')) continue
      const service = route.service === null ? null : services.get(route.service.id) ?? null
      if (service !== null && !service.enabled) continue
      const methods = nonEmpty(route.methods) ? new Set(route.methods) : undefined
      const hosts = nonEmpty(route.hosts) ? (route.hosts as string[]).map(hostRule) : undefined
      const headers = nonEmpty(route.headers)
        ? Object.entries(route.headers as Record<string, string[]>).map(([name, values]) => ({
          name: name.toLowerCase(),
          values: values.filter((v) => !v.startsWith('~*')).map((v) => v.toLowerCase()),
          patterns: values.filter((v) => v.startsWith('~*')).map((v) => new RegExp(v.slice(2))),
        }))
        : undefined
      const snis = nonEmpty(route.snis) ? new Set((route.snis as string[]).map((s) => (s.length > 1 && s.endsWith('.') ? s.slice(0, -1) : s).toLowerCase())) : undefined
      const paths = nonEmpty(route.paths) ? route.paths as string[] : [undefined]
      for (const path of paths) {
        const m: Matcher = {
          rank: 0,
          route,
          service,
          methods,
          hosts,
          headers,
          snis,
          prefix: path !== undefined && !path.startsWith('~') ? toBytes(path) : undefined,
          // Kong anchors regex paths at the start only.
          regex: path?.startsWith('~') === true ? new RegExp(`^(?:${path.slice(1)})`) : undefined,
          literal: path?.startsWith('~') === true ? literalPrefix(path.slice(1)) : undefined,
        }
        all.push({ m, key: priorityKey(route, path), id: route.id })
      }
    }
    all.sort(compare)
    all.forEach((s, i) => { s.m.rank = i })
    for (const { m } of all) {
      if (m.hosts === undefined) this.#anyHost.add(m)
      else if (m.hosts.every((h) => h.exact !== undefined)) {
        for (const h of new Set(m.hosts.map((x) => x.exact as string))) {
          let b = this.#byHost.get(h)
          if (b === undefined) this.#byHost.set(h, b = new Bucket())
          b.add(m)
        }
      } else {
        this.#wildcard.add(m)
      }
    }
    this.size = all.length
  }

  match (req: RouteRequest): RouteMatch | undefined {
    return this.#find(req)
  }

  #find (req: RouteRequest): RouteMatch | undefined {
    const candidates: Matcher[] = []
    const exact = this.#byHost.get(req.host)
    if (exact !== undefined) exact.collect(req.path, candidates)
    this.#wildcard.collect(req.path, candidates)
    this.#anyHost.collect(req.path, candidates)
    if (candidates.length > 1) candidates.sort((a, b) => a.rank - b.rank)
    let previous: Matcher | undefined
    for (const m of candidates) {
      if (m === previous) continue // a matcher reached through two host entries
      previous = m
      const found = this.#test(m, req)
      if (found !== undefined) return found
    }
    return undefined
  }

  #test (m: Matcher, req: RouteRequest): RouteMatch | undefined {
    if (m.methods !== undefined && !m.methods.has(req.method)) return undefined
    // Kong (router/compat.lua, after #6425): SNIs bind TLS requests only; over plain HTTP
    // the route matches on its other fields.
    if (m.snis !== undefined && req.sni !== undefined && !m.snis.has(req.sni)) return undefined
    if (m.hosts !== undefined && !m.hosts.some((h) => hostMatches(h, req))) return undefined
    if (m.headers !== undefined) {
      const headers = req.headers()
      if (!m.headers.every((h) => headerMatches(h, headers[h.name]))) return undefined
    }
    if (m.prefix !== undefined) {
      return { route: m.route, service: m.service, matchedPath: m.prefix, byPath: true }
    }
    if (m.regex !== undefined) {
      const r = m.regex.exec(req.path)
      if (r === null) return undefined
      return { route: m.route, service: m.service, matchedPath: r[0], byPath: true, captures: r.groups }
    }
    return { route: m.route, service: m.service, matchedPath: '/', byPath: false }
  }
}

/**
 * The literal text a regex must match first: `/items/\\d+` gives `/items/`. Conservative:
 * any alternation gives none, and a quantified last character is left out.
 */
export function literalPrefix (source: string): string {
  if (source.includes('|')) return ''
  let out = ''
  for (let i = 0; i < source.length; i++) {
    const c = source[i] as string
    if (c === '\\') {
      const next = source[i + 1]
      // Escaped punctuation is literal; \d, \w, \b and friends are not.
      if (next !== undefined && /[^A-Za-z0-9]/.test(next)) { out += next; i++; continue }
      break
    }
    if ('.[](){}*+?^$'.includes(c)) {
      if ('*?{'.includes(c)) out = out.slice(0, -1)
      break
    }
    out += c
  }
  return toBytes(out)
}

function hostMatches (h: HostRule, req: RouteRequest): boolean {
  if (h.port !== undefined && h.port !== req.port) return false
  if (h.exact !== undefined) return h.exact === req.host
  if (h.suffix !== undefined) return req.host.endsWith(h.suffix) && req.host.length > h.suffix.length
  return req.host.startsWith(h.prefix as string) && req.host.length > (h.prefix as string).length
}

function headerMatches (rule: HeaderRule, value: string | string[] | undefined): boolean {
  if (value === undefined) return false
  const values = Array.isArray(value) ? value : [value]
  for (const raw of values) {
    const v = raw.toLowerCase()
    if (rule.values.includes(v)) return true
    for (const p of rule.patterns) if (p.test(v)) return true
  }
  return false
}
