// Helpers for the ports of Kong's declarative-configuration specs (test/declarative/).
import { createHash } from 'node:crypto'
import type { Test } from 'tap'
import { DeclarativeError } from '../../core/declarative/errors.js'
import { parseDeclarative } from '../../core/declarative/parse.js'
import type { DeclarativeConfig } from '../../core/declarative/types.js'
import { PluginRegistry } from '../../core/runtime/registry.js'
import type { LmdbStore } from '../../core/store/index.js'
import { bundledPlugins } from '../../plugins/index.js'
import { tempStore } from './store.js'

/** The bundled plugins (key-auth, rate-limiting, proxy-cache), as `plugins = bundled` loads them. */
export const bundled = new PluginRegistry()
for (const p of bundledPlugins) bundled.register(p)

/** An empty store knowing every bundled entity (keyauth_credentials included). */
export function declarativeStore (t: Test): LmdbStore {
  return tempStore(t, { plugins: bundled, entities: bundled.entities() })
}

/** RFC 4122 version 5 (SHA-1, name-based) UUID of `name` in `namespace`. */
export function uuidv5 (namespace: string, name: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex')
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest()
  hash[6] = (hash[6]! & 0x0f) | 0x50
  hash[8] = (hash[8]! & 0x3f) | 0x80
  const hex = hash.subarray(0, 16).toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/**
 * The id Kong derives for an entity without one (kong/db/schema/others/declarative_config.lua
 * generate_uuid): uuid v5 of `key` in the namespace uuid v5(<Kong's namespace>, <entity>).
 */
export function kongId (entity: string, key: string): string {
  return uuidv5(uuidv5('fd02801f-0957-4a15-a55a-c8d9606f30b5', entity), key)
}

/** Drops the common leading indentation and the first and last blank lines (Kong's helpers.unindent). */
export function unindent (text: string): string {
  const lines = text.replace(/^\s*\n/, '').replace(/\n\s*$/, '').split('\n')
  const indents = lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)![0].length)
  const cut = Math.min(...indents)
  return lines.map((l) => l.slice(cut)).join('\n') + '\n'
}

type Input = string | Record<string, unknown>

/** Parses `input`, failing the test (with Kong's error table) when it throws. */
export function parseOk (t: Test, store: LmdbStore, input: Input, opts?: { filename?: string }): DeclarativeConfig | undefined {
  try {
    const config = parseDeclarative(typeof input === 'string' ? unindent(input) : input, store, opts)
    t.pass('parsed')
    return config
  } catch (err) {
    if (!(err instanceof DeclarativeError)) throw err
    t.fail(`expected the configuration to parse, got ${JSON.stringify(err.fields)}`)
    return undefined
  }
}

/** Parses `input` expecting Kong's declarative error; fails the test when it parses. */
export function parseErr (t: Test, store: LmdbStore, input: Input, opts?: { filename?: string }): DeclarativeError | undefined {
  try {
    parseDeclarative(typeof input === 'string' ? unindent(input) : input, store, opts)
  } catch (err) {
    if (!(err instanceof DeclarativeError)) throw err
    t.pass('refused')
    return err
  }
  t.fail('expected a DeclarativeError')
  return undefined
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

function scrub (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(scrub)
  if (value === null || typeof value !== 'object') return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    if (k === 'created_at' || k === 'updated_at') continue
    out[k] = k === 'id' && typeof v === 'string' && UUID_RE.test(v) ? 'UUID' : scrub(v)
  }
  return out
}

function sortKey (e: Record<string, unknown>): string {
  for (const k of ['name', 'username', 'host', 'key', 'target']) {
    if (typeof e[k] === 'string') return e[k] as string
  }
  return JSON.stringify(e)
}

/**
 * Kong's `idempotent` in the flatten specs: each entity list sorted (by name, username,
 * host, ...), every uuid `id` replaced by "UUID", entity types without entries left out.
 * Kong also pins created_at/updated_at to 1234567890; Tollgate's parser leaves them out
 * unless the file gives them (core/declarative/types.ts), so both are dropped here.
 */
export function idempotent (config: DeclarativeConfig | undefined): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {}
  if (config === undefined) return out
  for (const [entity, list] of config.entities) {
    if (list.length === 0) continue
    out[entity] = [...list].sort((a, b) => sortKey(a).localeCompare(sortKey(b))).map(scrub)
  }
  return out
}

/** The flattened entities of one type, by id. */
export function byId (config: DeclarativeConfig | undefined, entity: string): Record<string, Record<string, any>> {
  const out: Record<string, Record<string, any>> = {}
  for (const e of config?.entities.get(entity) ?? []) out[e.id as string] = e
  return out
}
