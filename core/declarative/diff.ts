// decK's diff and sync (Kong/go-database-reconciler pkg/diff) over a parsed declarative
// config and the store, and Kong's `kong config db_import` (kong/db/declarative/import.lua
// load_into_db). All three write through one store transaction: all or nothing, where
// decK and Kong write entity by entity and stop half-way on an error.
//
// Identity. A file entity is the store row with its id (ids given in the file, or derived
// by the parser as Kong derives them: from names, plugin scopes, target addresses). A file
// entity whose id names no row is then matched by natural key, decK's identities
// (pkg/file/builder.go), which are the store's unique constraints: services, routes and
// upstreams by name, consumers by username or custom_id, plugins by name and scope (or
// instance_name), targets by upstream and target, key-auth credentials by key. Left-overs
// are matched by equal content (an unnamed route written without id gets a random id on
// every parse, yet re-syncing the same file must change nothing). A row matched by
// natural key or content keeps its own id: it is updated in place, never deleted and
// created again, so what references it (outside the file, or outside the select tags) is
// not cascaded away; references to it in the file are rewritten to its id.
//
// Select tags (decK's `--select-tag`): only store rows carrying every select tag are seen
// (others are never updated or deleted), and every file entity gets the select tags added
// to its own, as decK adds `_info.select_tags`, so what the sync creates is inside the
// scope the next diff looks at. A file entity whose id belongs to a row outside the scope
// is an error (it would take that row over), as is one the scope cannot hold (a type
// without tags).

import type { EntityInfo } from '../store/entity.js'
import type { ConfigReader, Entity, EntityStore, WriteOptions } from '../store/store.js'
import { checkTag, fieldsOf, unwrap } from '../store/schema.js'
import type { DeclarativeConfig } from './types.js'
import { entityOrder, exportRow } from './export.js'

/** A problem with what was asked (not a bug): the CLI prints the message and exits 1. */
export class DiffError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'DiffError'
  }
}

/** A write of a plan (or import) the store refused: names the entity it was about. */
export class ApplyError extends Error {
  readonly change: Pick<Change, 'op' | 'kind' | 'name' | 'entity' | 'id'>
  constructor (change: ApplyError['change'], cause: unknown, verb: string = VERB[change.op]) {
    super(`${verb} ${change.kind} ${change.name}: ${(cause as Error).message}`, { cause })
    this.name = 'ApplyError'
    this.change = change
  }
}

export interface DiffOptions {
  /** decK's `--select-tag`: the scope of the diff (every tag must be carried). */
  selectTags?: string[]
}

export interface Change {
  op: 'create' | 'update' | 'delete'
  /** Store entity name, e.g. `keyauth_credentials`. */
  entity: string
  /** decK's kind, e.g. `key-auth`. */
  kind: string
  /** decK's console name, e.g. `key-auth for service billing`. */
  name: string
  /** The row's id: the file's for a create, the store's for an update or delete. */
  id: string
  /** The store's row (update, delete). */
  old: Entity | null
  /** The row to write (create, update): schema fields, references as `{ id }` of store rows. */
  new: Entity | null
  /** When the written row expires (unix seconds), or null; TTL entities only. */
  expires: number | null
}

export interface Plan {
  /** Creates and updates parents first, then deletes children first: the order they apply in. */
  changes: Change[]
}

export interface Summary { creating: number, updating: number, deleting: number, total: number }

type Store = EntityStore & ConfigReader

const VERB = { create: 'creating', update: 'updating', delete: 'deleting' } as const
const LIST_PAGE = 1000
/** Fields never compared: the store sets them. */
const IGNORED = new Set(['id', 'created_at', 'updated_at'])

const nowSeconds = (): number => Math.floor(Date.now() / 1000)

/** decK's kind of an entity: `service`, `route`, ..., a plugin's own name (`key-auth`). */
export function kindOf (info: EntityInfo): string {
  return info.def.adminNestedName ?? info.name.replace(/s$/, '')
}

/**
 * The expiry a file entity carries, as Kong's export writes it and its DB-less loader reads
 * it: `ttl` is the unix time the row expires at (null or absent: never).
 */
function fileExpiry (info: EntityInfo, e: Entity): number | null {
  if (info.def.ttl !== true) return null
  return typeof e.ttl === 'number' ? e.ttl : null
}

function storeExpiry (info: EntityInfo, row: Entity, now: number): number | null {
  return info.def.ttl === true && typeof row.ttl === 'number' && row.ttl > 0 ? now + row.ttl : null
}

/** Write options for an expiry: the seconds left (at least one), or none. */
/** Write options of a row from a declarative file: its transformations are done (EntityDef.transform). */
function writeOptions (info: EntityInfo, expires: number | null): WriteOptions {
  if (info.def.ttl !== true || expires === null) return { declarative: true }
  return { ttl: Math.max(1, expires - nowSeconds()), declarative: true }
}

// --- comparison ---------------------------------------------------------------------------

/** Sorted-key JSON, so two values compare equal whatever their key order. */
function canonical (value: unknown): string {
  if (value === null || value === undefined) return 'null'
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (typeof value === 'object') {
    const o = value as Record<string, unknown>
    return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`
  }
  return JSON.stringify(value)
}

interface Shape { fields: string[], sets: Set<string>, foreign: Set<string> }

const shapes = new WeakMap<EntityInfo, Shape>()

function shapeOf (info: EntityInfo): Shape {
  let s = shapes.get(info)
  if (s === undefined) {
    const fields: string[] = []
    const sets = new Set<string>()
    for (const [field, schema] of fieldsOf(info.def.schema)) {
      if (IGNORED.has(field)) continue
      fields.push(field)
      if (unwrap(schema).inner.kind === 'set') sets.add(field)
    }
    s = { fields, sets, foreign: new Set(info.foreign.map((f) => f.field)) }
    shapes.set(info, s)
  }
  return s
}

/** What two rows must share to be the same config: schema fields but id and timestamps, sets unordered. */
function contentKey (info: EntityInfo, e: Entity): string {
  const { fields, sets, foreign } = shapeOf(info)
  const parts: string[] = []
  for (const f of fields) {
    const v = e[f]
    if (foreign.has(f)) parts.push(v == null ? 'null' : JSON.stringify((v as { id: string }).id))
    else if (sets.has(f) && Array.isArray(v)) parts.push(`[${v.map(canonical).sort().join(',')}]`)
    else parts.push(canonical(v))
  }
  return parts.join('\u0000')
}

/** The natural keys of a row: one per unique field set, and per unique group (plugins' scope). */
function naturalKeys (info: EntityInfo, e: Entity): string[] {
  const keys: string[] = []
  const value = (f: string): unknown => {
    const v = e[f]
    return info.foreign.some((x) => x.field === f) ? (v as { id?: string } | null | undefined)?.id ?? null : v ?? null
  }
  for (const f of info.unique) {
    const v = value(f)
    if (v !== null) keys.push(`${f}=${canonical(v)}`)
  }
  for (const group of info.def.uniqueTogether ?? []) keys.push(`${group.join(',')}=${canonical(group.map(value))}`)
  return keys
}

// --- names (decK's Console()) ---------------------------------------------------------------

type NameOf = (entity: string, id: string) => string

function friendlyName (info: EntityInfo, e: Entity, nameOf: NameOf): string {
  const ref = (field: string): string | undefined => {
    const v = e[field] as { id: string } | null | undefined
    const reference = info.foreign.find((f) => f.field === field)?.reference
    return v == null || reference === undefined ? undefined : nameOf(reference, v.id)
  }
  const str = (v: unknown): string | undefined => typeof v === 'string' && v !== '' ? v : undefined
  switch (info.name) {
    case 'consumers':
      return str(e.username) ?? str(e.custom_id) ?? e.id
    case 'plugins': {
      const scope = [['service', ref('service')], ['route', ref('route')], ['consumer', ref('consumer')]]
        .filter(([, n]) => n !== undefined).map(([k, n]) => `${k as string} ${n as string}`)
      return `${String(e.name)} ${scope.length === 0 ? '(global)' : `for ${scope.join(' and ')}`}`
    }
    case 'targets':
      return `${String(e.target)}${ref('upstream') === undefined ? '' : ` for upstream ${ref('upstream') as string}`}`
    default: {
      const consumer = info.foreign.some((f) => f.field === 'consumer' && f.reference === 'consumers') ? ref('consumer') : undefined
      const key = info.def.endpointKey === undefined ? undefined : str(e[info.def.endpointKey])
      // A credential's key is a secret: decK shows its last five characters only.
      const shown = key !== undefined && info.def.endpointKey === 'key' ? key.slice(-5) : key
      return `${shown ?? e.id}${consumer === undefined ? '' : ` for consumer ${consumer}`}`
    }
  }
}

// --- the diff -------------------------------------------------------------------------------

/** Every row of `entity` the scope lets the diff see, by id. */
function visibleRows (store: Store, info: EntityInfo, tags: string[]): Map<string, Entity> {
  const rows = new Map<string, Entity>()
  if (tags.length === 0) {
    for (const row of store.each(info.name)) rows.set(row.id, row)
    return rows
  }
  if (!info.hasTags) return rows
  let offset: string | undefined
  do {
    const page = store.list(info.name, { tags, tagsMode: 'and', size: LIST_PAGE, offset })
    for (const row of page.data) rows.set(row.id, row)
    offset = page.offset
  } while (offset !== undefined)
  return rows
}

/** The file entity as it would be stored: references to store ids, select tags added, normalized. */
function prepare (info: EntityInfo, e: Entity, remap: Map<string, string>, tags: string[]): Entity {
  const out: Entity = { ...e }
  for (const f of info.foreign) {
    const ref = e[f.field] as { id: string } | null | undefined
    if (ref != null) out[f.field] = { id: remap.get(ref.id) ?? ref.id }
  }
  if (tags.length > 0) {
    const own = Array.isArray(e.tags) ? e.tags as string[] : []
    out.tags = [...own, ...tags.filter((t) => !own.includes(t))]
  }
  info.def.normalize?.(out)
  return out
}

/** The row to write: schema fields only, the given id, the file's creation time or the row's. */
function toWrite (info: EntityInfo, e: Entity, id: string, old: Entity | null): Entity {
  const out: Entity = { id }
  for (const [field] of fieldsOf(info.def.schema)) {
    if (field === 'id' || field === 'updated_at') continue
    if (e[field] !== undefined) out[field] = e[field]
  }
  const createdAt = e.created_at ?? old?.created_at
  if (createdAt !== undefined) out.created_at = createdAt
  return out
}

/**
 * Plans what makes the store hold `config`: creates, updates and deletes, each named as
 * decK names them. Reads only (synchronously: one consistent snapshot of the store).
 */
export function diffDeclarative (store: Store, config: DeclarativeConfig, opts: DiffOptions = {}): Plan {
  const tags = [...new Set(opts.selectTags ?? [])]
  for (const tag of tags) {
    const err = checkTag(tag)
    if (err !== undefined || tag === '') throw new DiffError(`select tag: ${err ?? 'must not be empty'}`)
  }
  const order = entityOrder(store.entities)
  const known = new Set(order.map((i) => i.name))
  for (const name of config.entities.keys()) {
    if (!known.has(name)) throw new DiffError(`the configuration has '${name}' entities, which this node does not know`)
  }
  const now = nowSeconds()
  // file id -> store id, for every file entity of the types done so far.
  const remap = new Map<string, string>()
  const names = new Map<string, string>()
  const nameOf: NameOf = (entity, id) => {
    const named = names.get(`${entity}:${id}`)
    if (named !== undefined) return named
    const row = store.get(entity, id)
    const info = order.find((i) => i.name === entity)
    return row === undefined || info === undefined ? id : friendlyName(info, row, nameOf)
  }
  const upserts: Change[] = []
  const deletes: Change[][] = []

  for (const info of order) {
    const kind = kindOf(info)
    const given = (config.entities.get(info.name) ?? []).filter((e) => {
      const x = fileExpiry(info, e)
      return x === null || x > now
    })
    if (tags.length > 0 && given.length > 0 && !info.hasTags) {
      throw new DiffError(`'${info.name}' entities have no tags, so they cannot be managed with select tags`)
    }
    const current = visibleRows(store, info, tags)
    const files = given.map((e) => prepare(info, e, remap, tags))
    const match: Array<Entity | undefined> = files.map(() => undefined)
    const taken = new Set<string>()

    // 1. by id
    files.forEach((e, i) => {
      const row = current.get(e.id)
      if (row !== undefined && !taken.has(row.id)) { match[i] = row; taken.add(row.id) }
    })
    // 2. by natural key, among rows no file entity claimed by id
    if (files.length > 0 && match.some((m) => m === undefined)) {
      const byKey = new Map<string, Entity>()
      for (const row of current.values()) {
        if (!taken.has(row.id)) for (const k of naturalKeys(info, row)) byKey.set(k, row)
      }
      files.forEach((e, i) => {
        if (match[i] !== undefined) return
        for (const k of naturalKeys(info, e)) {
          const row = byKey.get(k)
          if (row !== undefined && !taken.has(row.id)) { match[i] = row; taken.add(row.id); break }
        }
      })
    }
    // 3. by equal content (entities without a natural key), among rows still unclaimed
    if (files.length > 0 && match.some((m) => m === undefined)) {
      const byContent = new Map<string, Entity[]>()
      for (const row of current.values()) {
        if (taken.has(row.id)) continue
        const k = contentKey(info, row)
        const list = byContent.get(k)
        if (list === undefined) byContent.set(k, [row]); else list.push(row)
      }
      files.forEach((e, i) => {
        if (match[i] !== undefined) return
        const row = byContent.get(contentKey(info, e))?.shift()
        if (row !== undefined) { match[i] = row; taken.add(row.id) }
      })
    }

    files.forEach((e, i) => {
      const row = match[i]
      const id = row?.id ?? e.id
      remap.set(e.id, id)
      const expires = fileExpiry(info, e)
      const next = toWrite(info, e, id, row ?? null)
      names.set(`${info.name}:${id}`, friendlyName(info, next, nameOf))
      if (row === undefined) {
        if (store.get(info.name, id) !== undefined) {
          throw new DiffError(`${kind} ${friendlyName(info, next, nameOf)}: its id ${id} belongs to an entity that does not carry the select tags (${tags.join(', ')})`)
        }
        upserts.push({ op: 'create', entity: info.name, kind, name: names.get(`${info.name}:${id}`) as string, id, old: null, new: next, expires })
        return
      }
      const was = storeExpiry(info, row, now)
      const sameTtl = was === null ? expires === null : expires !== null && Math.abs(expires - was) <= 1
      if (sameTtl && contentKey(info, next) === contentKey(info, row)) return
      upserts.push({ op: 'update', entity: info.name, kind, name: names.get(`${info.name}:${id}`) as string, id, old: row, new: next, expires })
    })

    const gone: Change[] = []
    for (const row of current.values()) {
      if (taken.has(row.id)) continue
      const name = friendlyName(info, row, nameOf)
      names.set(`${info.name}:${row.id}`, name)
      gone.push({ op: 'delete', entity: info.name, kind, name, id: row.id, old: row, new: null, expires: null })
    }
    deletes.push(gone)
  }
  return { changes: [...upserts, ...deletes.reverse().flat()] }
}

export function summarize (plan: Plan): Summary {
  const count = (op: Change['op']): number => plan.changes.filter((c) => c.op === op).length
  const s = { creating: count('create'), updating: count('update'), deleting: count('delete') }
  return { ...s, total: s.creating + s.updating + s.deleting }
}

// --- applying -------------------------------------------------------------------------------

/**
 * Applies a plan in one store transaction, in its order (creates and updates parents first,
 * deletes children first): all of it, or, when any write is refused, none of it.
 */
export async function applyPlan (store: EntityStore, plan: Plan): Promise<void> {
  if (plan.changes.length === 0) return
  await store.transaction((tx) => {
    for (const c of plan.changes) {
      try {
        const info = store.info(c.entity)
        if (c.op === 'create') tx.insert(c.entity, c.new, writeOptions(info, c.expires))
        else if (c.op === 'update') tx.upsert(c.entity, { id: c.id }, c.new, writeOptions(info, c.expires))
        else tx.delete(c.entity, { id: c.id })
      } catch (err) {
        throw new ApplyError(c, err)
      }
    }
  })
}

/**
 * Kong's `db_import`: every entity of the file upserted by id (a full replacement of the
 * row, Kong's PUT), types in dependency order; rows the file does not name are left alone.
 * Unlike Kong, in one transaction: a refused write leaves the store as it was. As in Kong,
 * entities whose id is random on every parse (key-auth credentials without id, unnamed
 * routes) are inserted again on a second import, which a unique key then refuses.
 */
export async function importDeclarative (store: EntityStore, config: DeclarativeConfig): Promise<number> {
  const order = entityOrder(store.entities)
  const known = new Set(order.map((i) => i.name))
  for (const name of config.entities.keys()) {
    if (!known.has(name)) throw new DiffError(`the configuration has '${name}' entities, which this node does not know`)
  }
  const now = nowSeconds()
  // Names for messages: a row's parents as the file names them.
  const byId = new Map<string, Map<string, Entity>>()
  const nameOf: NameOf = (entity, id) => {
    let rows = byId.get(entity)
    if (rows === undefined) byId.set(entity, rows = new Map((config.entities.get(entity) ?? []).map((e) => [e.id, e])))
    const e = rows.get(id)
    const info = order.find((i) => i.name === entity)
    return e === undefined || info === undefined ? id : friendlyName(info, e, nameOf)
  }
  return store.transaction((tx) => {
    let n = 0
    for (const info of order) {
      for (const e of config.entities.get(info.name) ?? []) {
        const expires = fileExpiry(info, e)
        if (expires !== null && expires <= now) continue
        const row = toWrite(info, e, e.id, null)
        try {
          tx.upsert(info.name, { id: e.id }, row, writeOptions(info, expires))
        } catch (err) {
          throw new ApplyError({ op: 'update', kind: kindOf(info), name: friendlyName(info, row, nameOf), entity: info.name, id: e.id }, err, 'importing')
        }
        n++
      }
    }
    return n
  })
}

// --- output ---------------------------------------------------------------------------------

/** A row as the diff shows it: export form (ids as strings, nulls), no timestamps. */
function shown (store: Pick<EntityStore, 'info'>, c: Change, e: Entity | null, expires: number | null): Record<string, unknown> | null {
  if (e === null) return null
  const info = store.info(c.entity)
  const now = nowSeconds()
  const row = exportRow(info, info.def.ttl === true ? { ...e, ttl: expires === null ? undefined : expires - now } : e, now)
  delete row.created_at
  delete row.updated_at
  return row
}

/**
 * decK's update diff: both rows as indented JSON (keys in the same order), compared line by
 * line, so a changed `config.minute` shows as that one line, `-` old and `+` new, among the
 * unchanged ones.
 */
function fieldDiff (old: Record<string, unknown>, next: Record<string, unknown>): string {
  const keys = [...new Set([...Object.keys(old), ...Object.keys(next)])]
  const pick = (o: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(keys.filter((k) => k in o).map((k) => [k, o[k] ?? null]))
  const a = JSON.stringify(pick(old), null, 2).split('\n')
  const b = JSON.stringify(pick(next), null, 2).split('\n')
  // Longest common subsequence of lines; rows are a few dozen lines.
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0))
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!)
  }
  const lines: string[] = []
  let i = 0
  let j = 0
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) { lines.push(`   ${a[i]!}`); i++; j++ } else if (i < a.length && (j === b.length || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) { lines.push(`-  ${a[i]!}`); i++ } else { lines.push(`+  ${b[j]!}`); j++ }
  }
  // The opening brace follows the change's line, as decK prints it.
  if (lines[0] === '   {') lines[0] = '{'
  return lines.join('\n')
}

/** decK's console output: one line per change (updates with their diff), then the summary. */
export function formatPlan (store: Pick<EntityStore, 'info'>, plan: Plan): string {
  const out: string[] = []
  const now = nowSeconds()
  for (const c of plan.changes) {
    if (c.op !== 'update') { out.push(`${VERB[c.op]} ${c.kind} ${c.name}`); continue }
    const info = store.info(c.entity)
    const old = shown(store, c, c.old, storeExpiry(info, c.old as Entity, now)) as Record<string, unknown>
    out.push(`updating ${c.kind} ${c.name}  ${fieldDiff(old, shown(store, c, c.new, c.expires) as Record<string, unknown>)}`)
  }
  const s = summarize(plan)
  out.push('Summary:', `  Created: ${s.creating}`, `  Updated: ${s.updating}`, `  Deleted: ${s.deleting}`)
  return `${out.join('\n')}\n`
}

/** decK's `--json-output`: changes by operation with their old and new bodies, and the summary. */
export function planJson (store: Pick<EntityStore, 'info'>, plan: Plan, errors: string[] = []): Record<string, unknown> {
  const now = nowSeconds()
  const item = (c: Change) => {
    const info = store.info(c.entity)
    return {
      name: c.name,
      kind: c.kind,
      body: { old: shown(store, c, c.old, c.old === null ? null : storeExpiry(info, c.old, now)), new: shown(store, c, c.new, c.expires) },
    }
  }
  const of = (op: Change['op']) => plan.changes.filter((c) => c.op === op).map(item)
  return {
    changes: { creating: of('create'), updating: of('update'), deleting: of('delete') },
    summary: summarize(plan),
    warnings: [],
    errors,
  }
}
