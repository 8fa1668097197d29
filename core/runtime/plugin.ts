// What a plugin is: a descriptor with a typed config schema and phase handlers. The SDK's
// definePlugin returns one; core validates it at load time, never per request.

import type { Static, TObject } from 'typebox'
import type { EntityDef } from '../store/entity.js'
import type { Kong } from '../pdk/types.js'
import { SDK_VERSION } from '../meta.js'
import { Phase, type PhaseName } from './phases.js'

/** A phase handler's name on a plugin descriptor. */
export type HandlerName = typeof HANDLERS[number]

/** A phase handler: sync or async; the runner awaits only when a promise comes back. */
export type Handler<C> = (kong: Kong, conf: C) => void | Promise<void>

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
  /** Whether this plugin reads the client request body (it is then buffered before access). */
  readsBody?: boolean | ((conf: Static<S>) => boolean)
  /** The plugin may not be scoped to a consumer (auth plugins: Kong's `no_consumer`). */
  noConsumer?: boolean
  /** Entities the plugin owns, with Admin API endpoints generated from them. */
  entities?: EntityDef[]
  /** Semver range of the SDK the plugin was written for. */
  sdk?: string
}

export type AnyPlugin = PluginDescriptor<any> // eslint-disable-line @typescript-eslint/no-explicit-any

/** Whether the plugin reads the client body under `conf` (its readsBody). */
export function readsBody (plugin: AnyPlugin, conf: Record<string, unknown>): boolean {
  const reads = plugin.readsBody
  return reads === true || (typeof reads === 'function' && reads(conf as never))
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
  if (!HANDLERS.some((h) => typeof d[h] === 'function')) problems.push(`it implements no phase (${HANDLERS.join(', ')})`)
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
