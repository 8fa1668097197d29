// Kong's declarative configuration (kong.yml) read into flat entity lists: what
// kong/db/declarative/init.lua parse_string/parse_table and
// kong/db/schema/others/declarative_config.lua (validate, flatten) do. In order:
//   1. the text, YAML or JSON, into an object (unserialize);
//   2. `_format_version` 1.1/2.1 migrated to 3.0 (route paths, migrate.ts);
//   3. the entries collected, nested children taken out of their parents;
//   4. ids kept, derived (ids.ts) or made up;
//   5. every entry validated by the store's own schemas and entity checks;
//   6. uniqueness within the file, then references by name or id within the file;
// each step reporting in Kong's error shapes (errors.ts) and stopping the parse when it
// found anything, as Kong does.

import { createHash, randomUUID } from 'node:crypto'
import { NOT_RESOLVED, Schema, YAML11_SCHEMA, defineScalarTag, load as loadYaml } from 'js-yaml'
import { DbError, type FieldError, type FieldErrors } from '../errors.js'
import type { EntityInfo } from '../store/entity.js'
import { isRecord, isUuid, unwrap } from '../store/schema.js'
import type { Entity, EntityStore } from '../store/index.js'
import { DeclarativeError, parseFailure, type ErrorTree, type FlatEntityError } from './errors.js'
import { stableId } from './ids.js'
import { migrateTo30 } from './migrate.js'
import { FORMAT_VERSIONS, type DeclarativeConfig, type ParseOptions } from './types.js'

const META_KEYS = new Set(['_format_version', '_transform', '_comment', '_ignore'])
/** Stands for a top-level reference while the entry is validated; replaced once resolved. */
const PLACEHOLDER_ID = '00000000-0000-4000-8000-000000000000'
/** Merge keys one load may expand: bounds a document built to blow up. */
const MAX_ALIASES = 1_000_000


// Kong reads YAML with lyaml (libyaml), which is YAML 1.1: `yes`/`on` are booleans and `<<`
// merges; but its timestamps stay strings, and `y`/`n` too (a host named `y` is a host).
// Duplicate keys: the last wins, as in lyaml. js-yaml rather than the `yaml` package:
// on a 10 MB file (100,000 consumers) it parses in 1.4 s where `yaml` takes 10.
const BOOL = 'tag:yaml.org,2002:bool'
const TIMESTAMP = 'tag:yaml.org,2002:timestamp'
const lyamlBool = defineScalarTag<boolean>(BOOL, {
  implicit: true,
  implicitFirstChars: ['y', 'Y', 't', 'T', 'o', 'O', 'n', 'N', 'f', 'F'],
  resolve: (source) => /^(?:[Yy]es|YES|[Tt]rue|TRUE|[Oo]n|ON)$/.test(source)
    ? true
    : /^(?:[Nn]o|NO|[Ff]alse|FALSE|[Oo]ff|OFF)$/.test(source) ? false : NOT_RESOLVED,
  identify: (v) => typeof v === 'boolean',
})
const LYAML_SCHEMA = new Schema([...YAML11_SCHEMA.tags.filter((t) => t.tagName !== BOOL && t.tagName !== TIMESTAMP), lyamlBool])

function parseYaml (text: string): unknown {
  try {
    return loadYaml(text, { schema: LYAML_SCHEMA, json: true, maxTotalMergeKeys: MAX_ALIASES })
  } catch (err) {
    throw parseFailure((err as Error).message.split('\n')[0]!)
  }
}

function parseJson (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch (err) {
    throw parseFailure((err as Error).message)
  }
}

/**
 * The text as an object, read as Kong reads it: by the file's extension when there is a
 * file, else JSON first and YAML when that fails.
 */
export function unserialize (text: string, filename?: string): Record<string, unknown> {
  let doc: unknown
  if (filename !== undefined) {
    if (/json$/i.test(filename)) doc = parseJson(text)
    else if (/ya?ml$/i.test(filename)) doc = parseYaml(text)
    else throw new DeclarativeError({ error: `unknown file type: ${filename}. (Accepted types: json, yaml)` })
  } else {
    try {
      doc = JSON.parse(text)
    } catch {
      doc = parseYaml(text)
    }
  }
  if (!isRecord(doc)) throw parseFailure('expected an object')
  return doc
}

/** One entry of the file, while it is flattened. */
interface Item {
  info: EntityInfo
  /** The entry as written, less `_comment`, `_ignore`, `ttl` and nested lists. */
  own: Record<string, unknown>
  ttl?: unknown
  /** Where its errors go in the nested error table. */
  path: Array<string | number>
  parent?: { item: Item, field: string }
  /** Top-level references (by name or id) to resolve once every id is known. */
  refs: Array<{ field: string, value: unknown, reference: string }>
  id: string
  value?: Record<string, unknown>
  errors?: FieldErrors
  /** Failed after validation (uniqueness, references), when Kong has derived its id. */
  late?: boolean
}

/** Entity definitions in dependency order: every entity after those it references. */
function dependencyOrder (store: EntityStore): EntityInfo[] {
  const byName = new Map(store.entities.map((i) => [i.name, i]))
  const out: EntityInfo[] = []
  const seen = new Set<string>()
  const visit = (info: EntityInfo): void => {
    if (seen.has(info.name)) return
    seen.add(info.name)
    for (const f of info.foreign) {
      const parent = byName.get(f.reference)
      if (parent !== undefined) visit(parent)
    }
    out.push(info)
  }
  for (const info of store.entities) visit(info)
  return out
}

/** Kong's singular entity names, for flattened errors: `services` is a `service`. */
function singular (name: string): string {
  return name.endsWith('s') ? name.slice(0, -1) : name
}

/** Whether a schema field is generated when absent (key-auth's `key`): Kong's `auto`. */
function isAuto (info: EntityInfo, field: string): boolean {
  const schema = (info.def.schema.properties as Record<string, Record<string, unknown>>)[field]
  if (schema === undefined) return false
  const inner = unwrap(schema as never).inner as Record<string, unknown>
  return typeof schema.generate === 'function' || typeof inner.generate === 'function' || schema.auto === true || inner.auto === true
}

class Flattener {
  readonly #store: EntityStore
  readonly #order: EntityInfo[]
  /** Per parent entity: the child lists it may nest, by name, and the child's foreign field. */
  readonly #children = new Map<string, Map<string, { info: EntityInfo, field: string }>>()
  readonly #items: Item[] = []
  readonly fields: Record<string, ErrorTree> = {}
  #failed = false

  constructor (store: EntityStore) {
    this.#store = store
    this.#order = dependencyOrder(store)
    for (const info of this.#order) {
      for (const f of info.foreign) {
        let m = this.#children.get(f.reference)
        if (m === undefined) this.#children.set(f.reference, m = new Map())
        if (!m.has(info.name)) m.set(info.name, { info, field: f.field })
      }
    }
  }

  run (doc: Record<string, unknown>): DeclarativeConfig['entities'] {
    this.#checkTop(doc)
    for (const info of this.#order) this.#collect(doc[info.name], info, [info.name])
    // Kong validates the whole document at once: its own keys and every entry are reported together.
    for (const item of this.#items) this.#validate(item)
    if (this.#failed) this.#fail()
    this.#checkUnique()
    this.#resolve()
    if (this.#failed) this.#fail()
    const out: DeclarativeConfig['entities'] = new Map()
    for (const info of this.#order) out.set(info.name, [])
    for (const item of this.#items) {
      const entity = item.value as Entity
      if (item.ttl !== undefined && item.ttl !== null) entity.ttl = item.ttl
      out.get(item.info.name)!.push(entity)
    }
    for (const [name, list] of out) if (list.length === 0) out.delete(name)
    return out
  }

  #checkTop (doc: Record<string, unknown>): void {
    const known = new Set(this.#order.map((i) => i.name))
    for (const [k, v] of Object.entries(doc)) {
      if (k === '_transform') { if (typeof v !== 'boolean') this.#set([k], 'expected a boolean') } else if (k === '_comment') { if (typeof v !== 'string') this.#set([k], 'expected a string') } else if (k === '_ignore') { if (!Array.isArray(v)) this.#set([k], 'expected an array') } else if (!META_KEYS.has(k) && !known.has(k)) this.#set([k], 'unknown field')
    }
  }

  /** Takes the entries of one list (top level or nested) into items. */
  #collect (list: unknown, info: EntityInfo, path: Array<string | number>, parent?: Item, parentField?: string): void {
    if (list === null || list === undefined) return
    if (!Array.isArray(list)) { this.#set(path, 'expected an array'); return }
    list.forEach((entry, i) => {
      const at = [...path, i]
      if (!isRecord(entry)) { this.#set(at, 'expected a record'); return }
      const own: Record<string, unknown> = {}
      const errors: FieldErrors = {}
      const nested: Array<[{ info: EntityInfo, field: string }, unknown]> = []
      let ttl: unknown
      const children = this.#children.get(info.name)
      for (const [k, v] of Object.entries(entry)) {
        if (k === '_comment') { if (typeof v !== 'string') errors[k] = 'expected a string'; continue }
        if (k === '_ignore') { if (!Array.isArray(v)) errors[k] = 'expected an array'; continue }
        if (k === 'ttl' && info.def.ttl === true) {
          if (v !== null && (typeof v !== 'number' || !Number.isInteger(v) || v < 0)) errors[k] = 'expected an integer'
          ttl = v
          continue
        }
        const child = children?.get(k)
        if (child !== undefined) { nested.push([child, v]); continue }
        own[k] = v
      }
      const item: Item = { info, own, ttl, path: at, refs: [], id: '' }
      if (parent !== undefined && parentField !== undefined) item.parent = { item: parent, field: parentField }
      for (const f of info.foreign) {
        const v = own[f.field]
        if (v === undefined || v === null) continue
        if (item.parent === undefined) item.refs.push({ field: f.field, value: v, reference: f.reference })
        // Nested, a child's foreign fields are the parent's to set (Kong declares them
        // `eq = null`), but naming the parent again is accepted, as Kong's second pass
        // does. A record that names something else gets past Kong's schema and fails as a
        // reference (its spec for #7696); anything else must be null (03-flatten_spec).
        else if (f.field !== item.parent.field) errors[f.field] = 'value must be null'
        else if (this.#namesItem(v, item.parent.item)) continue
        else if (isRecord(v)) item.refs.push({ field: f.field, value: v, reference: f.reference })
        else errors[f.field] = 'value must be null'
      }
      item.id = this.#idFor(item)
      if (Object.keys(errors).length > 0) this.#entityErrors(item, errors)
      this.#items.push(item)
      for (const [child, v] of nested) this.#collect(v, child.info, [...at, child.info.name], item, child.field)
    })
  }

  /** Whether a reference value names `target`: by id or endpoint key, bare or as a record. */
  #namesItem (v: unknown, target: Item): boolean {
    const key = target.info.def.endpointKey
    const named = (s: unknown): boolean => typeof s === 'string' && (s.toLowerCase() === target.id || (key !== undefined && s === target.own[key]))
    if (isRecord(v)) return named(v.id) || (key !== undefined && v[key] !== undefined && v[key] === target.own[key])
    return named(v)
  }

  /** The entry's id: given, derived as Kong derives it, or random (see ids.ts). */
  #idFor (item: Item): string {
    const given = item.own.id
    if (typeof given === 'string') return given.toLowerCase()
    if (given !== undefined && given !== null) return ''
    const key = this.#uuidKey(item)
    return key === undefined ? randomUUID() : stableId(item.info.name, key)
  }

  /** Kong's get_key_for_uuid_gen: the cache key when the entity has one, else a unique endpoint key. */
  #uuidKey (item: Item): string | undefined {
    const { info, own } = item
    const cacheKey = info.def.cacheKey
    if (cacheKey !== undefined) {
      const parts: string[] = []
      for (const field of cacheKey) {
        if (isAuto(info, field)) return undefined
        const v = own[field]
        if (typeof v === 'string') { parts.push(v); continue }
        if (typeof v === 'number' || typeof v === 'boolean') { parts.push(String(v)); continue }
        if (item.parent?.field === field) { parts.push(item.parent.item.id); continue }
        const foreign = info.foreign.find((f) => f.field === field)
        if ((v === undefined || v === null) && foreign !== undefined && foreign.required) return undefined
        parts.push('')
      }
      return `${info.name}:*:${parts.join(':')}`
    }
    const ep = info.def.endpointKey
    if (ep === undefined || !info.unique.includes(ep)) return undefined
    const v = own[ep]
    return typeof v === 'string' && v !== '' ? v : undefined
  }

  /** Validates an entry with the store's schema and checks, as an insert would. */
  #validate (item: Item): void {
    const input: Record<string, unknown> = { ...item.own }
    if (item.id !== '') input.id = item.id
    for (const f of item.info.foreign) {
      if (item.parent?.field === f.field) input[f.field] = { id: item.parent.item.id }
      else if (input[f.field] !== undefined && input[f.field] !== null) input[f.field] = { id: PLACEHOLDER_ID }
    }
    try {
      item.value = this.#store.validate(item.info.name, input)
      if (item.id === '') item.id = randomUUID()
      item.value.id = item.id
    } catch (err) {
      if (!DbError.is(err)) throw err
      this.#entityErrors(item, err.fields ?? { '@entity': [err.message] })
    }
  }

  #checkUnique (): void {
    for (const info of this.#order) {
      const items = this.#items.filter((i) => i.info === info)
      const ep = info.def.endpointKey !== undefined && info.unique.includes(info.def.endpointKey) ? info.def.endpointKey : undefined
      const seenKey = new Map<string, Item>()
      const seenId = new Map<string, Item>()
      const others = info.unique.filter((u) => u !== ep).map((u) => [u, new Map<string, Item>()] as const)
      const already = (what: string, value: string): string => `uniqueness violation: '${info.name}' entity with ${what} set to '${value}' already declared`
      for (const item of items) {
        const v = item.value!
        const key = ep === undefined ? undefined : v[ep]
        if (typeof key === 'string') {
          if (seenKey.has(key)) { this.#set(item.path, already(ep!, key)); item.late = true; continue }
          seenKey.set(key, item)
        }
        if (seenId.has(item.id)) { this.#set(item.path, already('primary key', item.id)); item.late = true; continue }
        seenId.set(item.id, item)
        for (const [field, seen] of others) {
          const u = v[field]
          if (u === undefined || u === null) continue
          const shown = typeof u === 'string' ? u : JSON.stringify(u)
          if (seen.has(shown)) { this.#keyed(item, already(field, shown), false); continue }
          seen.set(shown, item)
        }
      }
    }
  }

  /** Resolves top-level references within the file: by endpoint key first, then by id. */
  #resolve (): void {
    const byKey = new Map<string, Map<string, Item>>()
    const byId = new Map<string, Map<string, Item>>()
    for (const item of this.#items) {
      const name = item.info.name
      if (!byId.has(name)) { byId.set(name, new Map()); byKey.set(name, new Map()) }
      byId.get(name)!.set(item.id, item)
      const ep = item.info.def.endpointKey
      const k = ep === undefined ? undefined : item.value?.[ep]
      if (typeof k === 'string' && !byKey.get(name)!.has(k)) byKey.get(name)!.set(k, item)
    }
    for (const item of this.#items) {
      for (const ref of item.refs) {
        // A bare endpoint key or id, or a record with the id (Kong's 15-off_spec: snis
        // beside their certificate, `certificate: { id: ... }`).
        const value = ref.value
        const target = typeof value === 'string'
          ? byKey.get(ref.reference)?.get(value) ?? byId.get(ref.reference)?.get(value.toLowerCase())
          : isRecord(value) && typeof value.id === 'string' && Object.keys(value).length === 1
            ? byId.get(ref.reference)?.get(value.id.toLowerCase())
            : undefined
        if (target === undefined) {
          const shown = typeof ref.value === 'string' ? ref.value : JSON.stringify(ref.value)
          this.#keyed(item, `invalid reference '${ref.field}: ${shown}' (no such entry in '${ref.reference}')`, true)
          continue
        }
        item.value![ref.field] = { id: target.id }
      }
    }
  }

  // --- errors ---------------------------------------------------------------------------

  /** An entry's field and entity errors: at its position in `fields`, and one flattened entry. */
  #entityErrors (item: Item, errors: FieldErrors): void {
    const slot = this.#slot(item.path)
    for (const [k, v] of Object.entries(errors)) slot[k] = v as ErrorTree
    item.errors = { ...item.errors, ...errors }
    this.#failed = true
  }

  /**
   * Kong keys reference and some uniqueness errors by the entry's endpoint key (else id),
   * under its entity's name, nested or not: `{routes: {r1: [...]}}`.
   */
  #keyed (item: Item, message: string, list: boolean): void {
    const ep = item.info.def.endpointKey
    const name = ep === undefined ? undefined : item.own[ep]
    const key = typeof name === 'string' && name !== '' ? name : item.id
    const top = item.info.name
    let table = this.fields[top]
    if (Array.isArray(table)) {
      // The list already holds positional errors: keep to positions.
      this.#set(item.path, message)
    } else {
      if (!isRecord(table)) this.fields[top] = table = {}
      const t = table as Record<string, ErrorTree>
      if (list) t[key] = [...(Array.isArray(t[key]) ? t[key] as ErrorTree[] : []), message]
      else t[key] = message
    }
    item.errors = { ...item.errors, '@entity': [...((item.errors?.['@entity'] as string[] | undefined) ?? []), message] }
    item.late = true
    this.#failed = true
  }

  /** The container of `path`'s last segment, made as needed: a list where a position follows. */
  #container (path: Array<string | number>): Record<string | number, ErrorTree> {
    let node = this.fields as Record<string | number, ErrorTree>
    for (let i = 0; i < path.length - 1; i++) {
      const k = path[i]!
      const wantList = typeof path[i + 1] === 'number'
      let next = node[k]
      if (wantList ? !Array.isArray(next) : !isRecord(next)) node[k] = next = wantList ? [] : {}
      if (Array.isArray(node)) for (let j = 0; j < (k as number); j++) node[j] ??= null
      node = next as Record<string | number, ErrorTree>
    }
    const last = path[path.length - 1]!
    if (Array.isArray(node)) for (let j = 0; j < (last as number); j++) node[j] ??= null
    return node
  }

  /** The error record of the entry or field at `path`. */
  #slot (path: Array<string | number>): Record<string, ErrorTree> {
    const c = this.#container(path)
    const last = path[path.length - 1]!
    if (!isRecord(c[last])) c[last] = {}
    return c[last] as Record<string, ErrorTree>
  }

  /** A message at `path`: a key of the document, or an entry's position. */
  #set (path: Array<string | number>, message: string): void {
    this.#container(path)[path[path.length - 1]!] = message
    this.#failed = true
  }

  #fail (): never {
    throw new DeclarativeError(this.fields, this.#flattened(), this.#unattributed())
  }

  /** What no entity owns: the document's own keys and whole lists that are not lists. */
  #unattributed (): Record<string, ErrorTree> {
    const out: Record<string, ErrorTree> = {}
    for (const [k, v] of Object.entries(this.fields)) if (typeof v === 'string') out[k] = v
    return out
  }

  #flattened (): FlatEntityError[] {
    const out: FlatEntityError[] = []
    for (const item of this.#items) {
      const positional = this.#positional(item.path)
      if (item.errors === undefined && positional === undefined) continue
      // What Kong knew when it failed: ids are derived after validation, so an entry that
      // failed validation shows only the ids the file gave (its own, its parent's).
      const entity: Record<string, unknown> = { ...item.own }
      const late = item.late === true
      if (late) entity.id = item.id
      const parent = item.parent
      if (parent !== undefined && (late || typeof parent.item.own.id === 'string')) entity[parent.field] = { id: parent.item.id }
      const e: FlatEntityError = { entity_type: singular(item.info.name), entity, errors: [] }
      const id = late ? item.id : item.own.id
      if (isUuid(id)) e.entity_id = id.toLowerCase()
      if (typeof item.own.name === 'string' && item.own.name !== '') e.entity_name = item.own.name
      if (Array.isArray(item.own.tags) && item.own.tags.every((t) => typeof t === 'string')) e.entity_tags = item.own.tags as string[]
      const fieldErrors: Array<{ type: 'field', field: string, message: string }> = []
      const entityErrors: Array<{ type: 'entity', message: string }> = []
      const walk = (prefix: string, err: FieldError | undefined | null): void => {
        if (err === undefined || err === null) return
        if (typeof err === 'string') { fieldErrors.push({ type: 'field', field: prefix, message: err }); return }
        if (Array.isArray(err)) { err.forEach((x, i) => walk(`${prefix}.${i + 1}`, x as FieldError)); return }
        for (const [k, v] of Object.entries(err)) {
          if (k === '@entity' && Array.isArray(v)) for (const m of v) { if (typeof m === 'string') fieldErrors.push({ type: 'field', field: prefix, message: m }) } else walk(`${prefix}.${k}`, v)
        }
      }
      for (const [k, v] of Object.entries(item.errors ?? {})) {
        if (k === '@entity' && Array.isArray(v)) { for (const m of v) if (typeof m === 'string') entityErrors.push({ type: 'entity', message: m }) } else walk(k, v)
      }
      if (positional !== undefined && !entityErrors.some((x) => x.message === positional)) entityErrors.push({ type: 'entity', message: positional })
      // In the order Kong's flattened errors come in (its spec 05): fields descending.
      fieldErrors.sort((a, b) => a.field < b.field ? 1 : a.field > b.field ? -1 : 0)
      e.errors = [...fieldErrors, ...entityErrors]
      out.push(e)
    }
    return out
  }

  /** A message set at an entry's own position (uniqueness), if any. */
  #positional (path: Array<string | number>): string | undefined {
    let node: unknown = this.fields
    for (const k of path) {
      if (node === null || typeof node !== 'object') return undefined
      node = (node as Record<string | number, unknown>)[k]
    }
    return typeof node === 'string' ? node : undefined
  }
}

/** md5 of the text: Kong's configuration hash. */
export function configHash (text: string): string {
  return createHash('md5').update(text).digest('hex')
}

/**
 * Parses and flattens a declarative configuration (text, or an object already decoded)
 * against the store's entity definitions; throws a DeclarativeError in Kong's shapes.
 */
export function parseDeclarative (input: string | Record<string, unknown>, store: EntityStore, opts: ParseOptions = {}): DeclarativeConfig {
  const text = typeof input === 'string' ? input : undefined
  let doc = text === undefined ? input : unserialize(text, opts.filename)
  if (!isRecord(doc)) throw parseFailure('expected an object')
  const hash = configHash(text ?? JSON.stringify(doc))
  const version = doc._format_version
  if (version === undefined || version === null) throw new DeclarativeError({ _format_version: 'required field missing' })
  if (typeof version !== 'string') throw new DeclarativeError({ _format_version: 'expected a string' })
  if (!(FORMAT_VERSIONS as readonly string[]).includes(version)) throw new DeclarativeError({ _format_version: `expected one of: ${FORMAT_VERSIONS.join(', ')}` })
  if (version !== '3.0') doc = migrateTo30(doc)
  const entities = new Flattener(store).run(doc)
  const transform = doc._transform !== false
  // Kong's declarative_config flatten runs each entity's transformations when _transform is
  // true (kong/db/schema/others/declarative_config.lua), after its references are resolved:
  // basic-auth's password is salted with the consumer's id.
  if (transform) {
    for (const [name, rows] of entities) {
      const fn = store.entities.find((i) => i.name === name)?.def.transform
      if (fn !== undefined) entities.set(name, rows.map((r) => fn(r) as typeof r))
    }
  }
  return { hash, transform, entities }
}
