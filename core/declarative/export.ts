// Kong's export format (kong/db/declarative/export.lua), written by `tollgate config
// db_export` and answered by `GET /config`: `_format_version: "3.0"`, `_transform: false`,
// then one flat list per entity type, parents before children, every field of every row
// (nulls and timestamps included) and each foreign key as the bare id of the row it names.
// Nothing is nested and nothing is referred to by name, so the file loads back as it is.
//
// Rows are read from the store one at a time and written one at a time, so a large
// config (100,000 consumers) never exists twice in memory as text.

import type { EntityInfo } from '../store/entity.js'
import type { ConfigReader, Entity, EntityStore } from '../store/store.js'
import { fieldsOf } from '../store/schema.js'

export const EXPORT_FORMAT_VERSION = '3.0'

/** What `exportDeclarative` writes, as an object: entity types without rows are left out. */
export interface ExportedConfig {
  _format_version: typeof EXPORT_FORMAT_VERSION
  _transform: false
  [entity: string]: unknown
}

type Store = Pick<EntityStore, 'entities'> & Pick<ConfigReader, 'each'>

/**
 * The store's entity types in dependency order: each after every type it references
 * (Kong's schema_topological_sort), ties kept in definition order (core first, then
 * plugin-owned). References to entities the store does not have are not dependencies.
 */
export function entityOrder (entities: readonly EntityInfo[]): EntityInfo[] {
  const byName = new Map(entities.map((e) => [e.name, e]))
  const done = new Set<string>()
  const visiting = new Set<string>()
  const out: EntityInfo[] = []
  const visit = (info: EntityInfo): void => {
    if (done.has(info.name)) return
    if (visiting.has(info.name)) throw new Error(`entity '${info.name}' is part of a reference cycle`)
    visiting.add(info.name)
    for (const f of [...info.foreign, ...info.idLists]) {
      const parent = byName.get(f.reference)
      if (parent !== undefined && parent !== info) visit(parent)
    }
    visiting.delete(info.name)
    done.add(info.name)
    out.push(info)
  }
  for (const info of entities) visit(info)
  return out
}

/**
 * One row as Kong exports it: the schema's fields in declaration order, absent ones as
 * null, foreign keys as id strings. A row of a TTL entity carries `ttl` as the unix time
 * it expires at, or null: Kong's export selects the expiry itself (not the seconds left),
 * which is what its DB-less loader reads back (kong/db/strategies/off process_ttl_field).
 */
export function exportRow (info: EntityInfo, row: Entity, now: number): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const foreign = new Set(info.foreign.map((f) => f.field))
  for (const [field] of fieldsOf(info.def.schema)) {
    const value = row[field]
    if (value === undefined || value === null) out[field] = null
    else if (foreign.has(field)) out[field] = (value as { id: string }).id
    else out[field] = value
  }
  if (info.def.ttl === true) out.ttl = typeof row.ttl === 'number' ? now + row.ttl : null
  return out
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000)

/** Rows written per piece. */
const BATCH = 256

/**
 * The export as YAML text, in pieces (for writing to a file or a response as they come).
 * Reads run synchronously between pieces only as the caller pulls them; pull them all
 * without awaiting in between for one consistent snapshot of the store.
 */
export function * exportChunks (store: Store): Generator<string> {
  const now = nowSeconds()
  yield `_format_version: "${EXPORT_FORMAT_VERSION}"\n_transform: false\n`
  for (const info of entityOrder(store.entities)) {
    let text = ''
    let rows = 0
    let started = false
    for (const row of store.each(info.name)) {
      text += yamlBlock([exportRow(info, row, now)], '')
      if (++rows < BATCH) continue
      if (!started) { started = true; text = `${info.name}:\n${text}` }
      yield text
      text = ''
      rows = 0
    }
    if (rows === 0) continue
    yield started ? text : `${info.name}:\n${text}`
  }
}

// --- YAML ---------------------------------------------------------------------------------
// A small emitter for what rows hold (JSON values): a general YAML library's stringify
// (the yaml package's) cost about 40 µs a row, most of a 100,000-consumer export. Strings are written plain only
// when no YAML reader, 1.1 (Kong's libyaml) or 1.2, can take them for anything but a
// string; otherwise double-quoted with JSON's escapes, which YAML's double-quoted style
// shares.

const PLAIN = /^[A-Za-z/][A-Za-z0-9_./-]*$/
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
/** Words YAML 1.1 reads as booleans or null, and `e5`, which some 1.1 readers (the yaml package) take for a float. */
const RESERVED = /^(?:y|n|yes|no|true|false|on|off|null|e[-+]?[0-9]+)$/i
const NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$/

function str (s: string): string {
  return (PLAIN.test(s) && !RESERVED.test(s)) || UUID_RE.test(s) ? s : JSON.stringify(s)
}

/** A value written on its key's line, or undefined for a non-empty list or record. */
function inline (v: unknown): string | undefined {
  if (v === null || v === undefined) return 'null'
  switch (typeof v) {
    case 'string': return str(v)
    case 'boolean': return v ? 'true' : 'false'
    case 'number': {
      const s = String(v)
      // `1e+21` is a float to YAML 1.2 but a string to 1.1, which wants a dot: `1.0e+21`.
      return NUMBER.test(s) ? s : s.replace(/^(-?[0-9]+)(e)/, '$1.0$2')
    }
    default:
      if (Array.isArray(v)) return v.length === 0 ? '[]' : undefined
      return Object.keys(v as object).length === 0 ? '{}' : undefined
  }
}

/** A non-empty list or record as block YAML, each line starting with `indent`. */
export function yamlBlock (value: unknown, indent: string): string {
  let out = ''
  const deeper = `${indent}  `
  if (Array.isArray(value)) {
    for (const item of value) {
      const s = inline(item)
      // The item's first line goes after the dash: `- id: x` then `  name: y`.
      out += s !== undefined ? `${indent}- ${s}\n` : `${indent}- ${yamlBlock(item, deeper).slice(deeper.length)}`
    }
    return out
  }
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const s = inline(v)
    out += s !== undefined ? `${indent}${str(k)}: ${s}\n` : `${indent}${str(k)}:\n${yamlBlock(v, deeper)}`
  }
  return out
}

/** The store's whole configuration in Kong's export format (YAML). */
export function exportDeclarative (store: Store): string {
  let text = ''
  for (const chunk of exportChunks(store)) text += chunk
  return text
}

/** The same content as `exportDeclarative`, as an object (for `GET /config` and JSON). */
export function exportObject (store: Store): ExportedConfig {
  const now = nowSeconds()
  const out: ExportedConfig = { _format_version: EXPORT_FORMAT_VERSION, _transform: false }
  for (const info of entityOrder(store.entities)) {
    const rows: Record<string, unknown>[] = []
    for (const row of store.each(info.name)) rows.push(exportRow(info, row, now))
    if (rows.length > 0) out[info.name] = rows
  }
  return out
}
