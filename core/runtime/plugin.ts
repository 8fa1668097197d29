// What a plugin is: a descriptor with a typed config schema and phase handlers. The SDK's
// definePlugin returns one; core validates it at load time, never per request.

import type { Static, TObject } from 'typebox'
import type { EntityDef } from '../store/entity.js'
import type { Kong, SharedDict } from '../pdk/types.js'
import { SDK_VERSION } from '../meta.js'
import { Phase, type PhaseName } from './phases.js'

/** A phase handler's name on a plugin descriptor. */
export type HandlerName = typeof HANDLERS[number]

/** A phase handler: sync or async; the runner awaits only when a promise comes back. */
export type Handler<C> = (kong: Kong, conf: C) => void | Promise<void>

/**
 * One enabled config of a plugin as its `configure` hook gets it, with the scope it applies
 * to (null where unset). Kong writes the scope onto the config table itself (route_id,
 * service_id, consumer_id, __plugin_id); Tollgate passes it beside the config instead, so
 * `config` stays exactly the schema's type (no names a schema could also declare) and the
 * hook never gets, or changes, the object the request path runs with.
 */
export interface ConfiguredPlugin<C> {
  /** The plugin entity's id. */
  id: string
  route: string | null
  service: string | null
  consumer: string | null
  config: C
}

/** Errors checkConfig reports, as they appear in the plugin entity's `fields`. */
export interface ConfigErrors {
  '@entity'?: string[]
  config?: string | Record<string, string>
}

/** What checkConfig may ask about the node the config is written to. */
export interface CheckEnv {
  /**
   * Whether the node declares the shared dictionary `name` (kong_db_cache, or one of
   * nginx_http_lua_shared_dict): Kong's check that `ngx.shared[name]` exists.
   */
  sharedDictDeclared (name: string): boolean
}

export interface PluginDescriptor<S extends TObject = TObject> {
  name: string
  version: string
  /** Higher runs first (Kong: key-auth 1250, rate-limiting 910). */
  priority: number
  /** Schema of `config`; every field should carry a description and, when optional, a default. */
  schema: S
  rewrite?: Handler<Static<S>>
  access?: Handler<Static<S>>
  headerFilter?: Handler<Static<S>>
  bodyFilter?: Handler<Static<S>>
  log?: Handler<Static<S>>
  /**
   * Handlers with nothing to do under some configs, and when: e.g. a header plugin whose
   * config names no response headers skips headerFilter. Decided once per config, not per
   * request; a skipped handler costs nothing (no call, no worker round trip when isolated,
   * no response buffering for a skipped bodyFilter).
   */
  skipWhen?: { [H in HandlerName]?: (conf: Static<S>) => boolean }
  /**
   * Whether this plugin reads the client request body (it is then buffered before access).
   * A function decides per config, and may look at the request's headers (names lower-case):
   * e.g. read the body only when it comes without a Content-Length.
   */
  readsBody?: boolean | ((conf: Static<S>, request: BodyRequest) => boolean)
  /** The plugin may not be scoped to a consumer (auth plugins: Kong's `no_consumer`). */
  noConsumer?: boolean
  /**
   * Rules across config fields that a schema cannot say: Kong's `entity_checks` of a
   * plugin schema (at_least_one_of, conditional) and a config record's custom_validator.
   * Runs once the config passed its schema (defaults filled in); returns the plugin
   * entity's errors in Kong's shape (`@entity` messages; `config` as one message or per
   * field), or undefined. The Admin API answers them with Kong's 400 schema violation.
   */
  checkConfig?: (conf: Static<S>, env: CheckEnv) => ConfigErrors | undefined
  /** Entities the plugin owns, with Admin API endpoints generated from them. */
  entities?: EntityDef[]
  /** Semver range of the SDK the plugin was written for. */
  sdk?: string
  /**
   * Kong's `configure` phase (runloop/plugins_iterator.lua): called with all enabled configs
   * of this plugin (an empty list when there are none) at start and each time the plugin
   * configuration is rebuilt after a change, in every process (and, for an isolated plugin,
   * every worker thread) that runs its handlers. For plugins that keep state across
   * requests (counters, caches, metric families). When the proxy stops, it gets an empty
   * list once more, to release connections and timers. A throw or rejection is logged; the
   * gateway goes on. Calls for one plugin do not overlap: the next waits for a promise.
   */
  configure?: (configs: ConfiguredPlugin<Static<S>>[]) => void | Promise<void>
  /** Admin API endpoints the plugin serves (Kong: a plugin's api.lua). */
  admin?: AdminRoute[]
}

/** An Admin API method a plugin route may serve (HEAD and OPTIONS are answered for it). */
export type AdminMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

/** An Admin API request as a plugin route sees it: the body is decoded (JSON or form). */
export interface AdminRequest {
  /** Path parameters by name (`:consumer` in the path is `params.consumer`). */
  params: Record<string, string>
  /** Query arguments; a repeated one is an array. */
  query: Record<string, string | string[]>
  body: unknown
  /** Request headers, names lower-case. */
  headers: Record<string, string | string[] | undefined>
}

/**
 * What a plugin route answers: status (default 200), body (an object or array is sent as
 * JSON, a string as text, a Buffer as bytes, undefined as no body) and extra headers.
 */
export interface AdminAnswer {
  status?: number
  body?: unknown
  headers?: Record<string, string>
}

/** A stored config of a plugin as its Admin API routes see it: enabled or not, with its scope. */
export interface PluginConfigRow extends ConfiguredPlugin<Record<string, unknown>> {
  enabled: boolean
}

/**
 * What an Admin API route reaches besides its request: the node's shared dictionaries (the
 * entries every worker's handlers see through kong.shm; a change is seen by all of them)
 * and the plugin's own stored configs. Kong's api.lua reaches the same through ngx.shared
 * and kong.db.plugins.
 */
export interface AdminContext {
  /** The node's shared dictionary `name`, as kong.shm(name) gives it to handlers. */
  shm (name: string): SharedDict
  /** Every stored config of this plugin, enabled or not, in the store's order. */
  configs (): PluginConfigRow[]
  /** What the node knows of itself, for metrics and status plugins. */
  node: AdminNode
}

/** Connection and request counts of the node's proxy, every worker process summed (Kong's kong.nginx.get_statistics). */
export interface NodeStatistics {
  connectionsAccepted: number
  connectionsHandled: number
  connectionsActive: number
  connectionsReading: number
  connectionsWriting: number
  connectionsWaiting: number
  totalRequests: number
}

/** One address of an upstream's target as this node's balancer sees it (Kong's upstream health, per address). */
export interface AddressHealthRow {
  /** The upstream's name. */
  upstream: string
  /** The target as stored, `host:port`. */
  target: string
  /** `ip:port`; empty when the target's name resolved to nothing (dns_error). */
  address: string
  health: 'healthy' | 'unhealthy' | 'healthchecks_off' | 'dns_error'
}

/**
 * The node as Admin API routes may read it: Kong's kong.node (get_id, get_memory_stats),
 * kong.nginx.get_statistics and the balancer's health, as prometheus's exporter reads them.
 */
export interface AdminNode {
  readonly id: string
  readonly version: string
  statistics (): NodeStatistics
  /** Whether the node's database answers: the shared database with database = postgres; always true for lmdb and off. */
  databaseReachable (): boolean
  /** Every address of every upstream's targets, upstreams in name order. */
  upstreamHealth (): AddressHealthRow[]
  /**
   * Declared shared dictionaries with their capacity and the bytes their entries take, and
   * each proxy process's JavaScript heap in use (Kong: Lua VM bytes per worker).
   */
  memory (): { sharedDicts: Array<{ name: string, capacity: number, allocated: number }>, workers: Array<{ pid: number, heapUsed: number }> }
}

export interface AdminRoute {
  method: AdminMethod
  /** fastify path syntax, e.g. '/rate-limiting/usage/:consumer'; may not be a path the core API or another plugin serves. */
  path: string
  /** For the OpenAPI document. */
  summary?: string
  /**
   * Also served on the Status API (`status_listen`), as Kong serves a plugin's
   * status_api.lua there: only for GET routes that reveal nothing sensitive.
   */
  statusApi?: boolean
  handler: (req: AdminRequest, ctx: AdminContext) => AdminAnswer | Promise<AdminAnswer>
}

export type AnyPlugin = PluginDescriptor<any> // eslint-disable-line @typescript-eslint/no-explicit-any

/** What a readsBody predicate sees of the request, before its body is read. */
export interface BodyRequest {
  /** Header values by lower-case name; a repeated header is an array. */
  readonly headers: Readonly<Record<string, string | string[]>>
}

/** Whether the plugin reads the client body under `conf` for this request (its readsBody). */
export function readsBody (plugin: AnyPlugin, conf: Record<string, unknown>, request: BodyRequest): boolean {
  const reads = plugin.readsBody
  return reads === true || (typeof reads === 'function' && reads(conf as never, request))
}

/** Whether `conf` leaves `handler` nothing to do (its skipWhen). A predicate that throws skips nothing. */
export function skips (plugin: AnyPlugin, conf: Record<string, unknown>, handler: HandlerName): boolean {
  const when = plugin.skipWhen?.[handler]
  if (when === undefined) return false
  try {
    return when(conf as never) === true
  } catch {
    return false
  }
}

const NAME_RE = /^[a-z0-9][a-z0-9_-]*$/
const ADMIN_METHODS: readonly string[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] satisfies AdminMethod[]

function adminProblems (admin: unknown): string[] {
  if (!Array.isArray(admin)) return ["'admin' must be a list of { method, path, handler } routes"]
  const problems: string[] = []
  const seen = new Set<string>()
  admin.forEach((r: unknown, i) => {
    const at = `'admin[${i}]'`
    if (typeof r !== 'object' || r === null) { problems.push(`${at} must be a { method, path, handler } object`); return }
    const { method, path, handler, summary } = r as Record<string, unknown>
    if (typeof method !== 'string' || !ADMIN_METHODS.includes(method)) problems.push(`${at}.method must be one of ${ADMIN_METHODS.join(', ')}`)
    if (typeof path !== 'string' || !path.startsWith('/') || path.length < 2) problems.push(`${at}.path must be a path starting with '/', such as '/my-plugin/:id'`)
    if (typeof handler !== 'function') problems.push(`${at}.handler must be a function`)
    if (summary !== undefined && typeof summary !== 'string') problems.push(`${at}.summary must be a string`)
    const statusApi = (r as Record<string, unknown>).statusApi
    if (statusApi !== undefined && typeof statusApi !== 'boolean') problems.push(`${at}.statusApi must be a boolean`)
    if (statusApi === true && method !== 'GET') problems.push(`${at}.statusApi is for GET routes only: the Status API is read-only`)
    const route = `${String(method)} ${String(path)}`
    if (seen.has(route)) problems.push(`'admin' lists ${route} twice`)
    seen.add(route)
  })
  return problems
}

/** Semver ranges of the common forms: `*`, `x.y.z`, `^x.y.z`, `~x.y.z`, `>=x.y.z`. */
export function satisfies (version: string, range: string): boolean {
  const parse = (v: string): number[] | undefined => {
    const m = /^(\d+)\.(\d+)\.(\d+)/.exec(v.trim())
    return m === null ? undefined : [Number(m[1]), Number(m[2]), Number(m[3])]
  }
  const r = range.trim()
  if (r === '*' || r === '') return true
  const v = parse(version)
  const op = /^(\^|~|>=)?\s*(.*)$/.exec(r) as RegExpExecArray
  const base = parse(op[2] as string)
  if (v === undefined || base === undefined) return false
  const cmp = v[0]! - base[0]! || v[1]! - base[1]! || v[2]! - base[2]!
  switch (op[1]) {
    case '>=': return cmp >= 0
    case '~': return cmp >= 0 && v[0] === base[0] && v[1] === base[1]
    case '^':
      if (cmp < 0) return false
      if (base[0] !== 0) return v[0] === base[0]
      if (base[1] !== 0) return v[0] === 0 && v[1] === base[1]
      return v[0] === 0 && v[1] === 0 && v[2] === base[2]
    default: return cmp === 0
  }
}
export const HANDLERS = ['rewrite', 'access', 'headerFilter', 'bodyFilter', 'log'] as const

/** The phase each handler runs in. */
export const HANDLER_PHASE: Readonly<Record<HandlerName, PhaseName>> = {
  rewrite: 'rewrite', access: 'access', headerFilter: 'header_filter', bodyFilter: 'body_filter', log: 'log',
}

/** Each handler's phase as its Phase bit (what ctx.phase holds while it runs). */
export const HANDLER_BIT = Object.fromEntries(HANDLERS.map((h) => [h, Phase[HANDLER_PHASE[h]]])) as Readonly<Record<HandlerName, number>>

/** Checks a descriptor at load time; returns what is wrong, or an empty list. */
export function descriptorProblems (p: unknown): string[] {
  if (typeof p !== 'object' || p === null) return ['the module does not export a plugin descriptor object']
  const d = p as Record<string, unknown>
  const problems: string[] = []
  if (typeof d.name !== 'string' || !NAME_RE.test(d.name)) problems.push("'name' must be lower-case letters, digits, '-' or '_'")
  if (typeof d.version !== 'string' || !/^\d+\.\d+\.\d+/.test(d.version)) problems.push("'version' must be a semver string such as 1.0.0")
  if (typeof d.priority !== 'number' || !Number.isInteger(d.priority)) problems.push("'priority' must be an integer")
  const schema = d.schema as Record<string, unknown> | undefined
  if (typeof schema !== 'object' || schema === null || schema.type !== 'object') problems.push("'schema' must be a typebox Type.Object(...) schema")
  for (const h of HANDLERS) if (d[h] !== undefined && typeof d[h] !== 'function') problems.push(`'${h}' must be a function`)
  if (!HANDLERS.some((h) => typeof d[h] === 'function') && typeof d.configure !== 'function' && d.admin === undefined) {
    problems.push(`it implements no phase (${HANDLERS.join(', ')}), no configure and no admin routes`)
  }
  if (d.configure !== undefined && typeof d.configure !== 'function') problems.push("'configure' must be a function")
  if (d.checkConfig !== undefined && typeof d.checkConfig !== 'function') problems.push("'checkConfig' must be a function")
  if (d.admin !== undefined) problems.push(...adminProblems(d.admin))
  if (d.skipWhen !== undefined) {
    if (typeof d.skipWhen !== 'object' || d.skipWhen === null) problems.push("'skipWhen' must be an object of handler names to functions")
    else {
      for (const [h, f] of Object.entries(d.skipWhen)) {
        if (!(HANDLERS as readonly string[]).includes(h)) problems.push(`'skipWhen' names '${h}', which is not a handler (${HANDLERS.join(', ')})`)
        else if (typeof f !== 'function') problems.push(`'skipWhen.${h}' must be a function`)
      }
    }
  }
  if (d.readsBody !== undefined && typeof d.readsBody !== 'boolean' && typeof d.readsBody !== 'function') problems.push("'readsBody' must be a boolean or a function")
  if (d.sdk !== undefined && (typeof d.sdk !== 'string' || !satisfies(SDK_VERSION, d.sdk))) {
    problems.push(`it was written for SDK ${String(d.sdk)}, and this Tollgate has SDK ${SDK_VERSION}`)
  }
  return problems
}
