// The LMDB store: both sides of the seam in store.ts, Kong's DAO logic for writes and, for
// reads, what Kong's `off` strategy does with LMDB. Every entity lives in one LMDB
// environment, with its indexes kept in the same write transaction as the row, so a
// rejected write leaves nothing behind and a reader (this process or another) never sees a
// row without its indexes.
//
// Layout (ordered-binary array keys):
//   rows  [entity, id]                       -> { v: entity, x?: expiry (unix s) }
//   uniq  [entity, field(s), value]          -> id
//   refs  [entity, field, parentId, id]      -> 1    children by foreign key
//   tags  [entity, tag, id]                  -> 1
//   ttl   [expiry, entity, id]               -> 1    rows to purge, oldest first
//   meta  'version'                          -> n    bumped by every committed write
//   counters  key                            -> { n, x }  x: expiry (ms; 0: none)
//   counter_ttl  [expiry ms, key]            -> 1    counters to purge, oldest first
//
// Counters (CounterStore) are not entities: writing one neither bumps the version nor
// announces a change, so the rate-limiting plugin's `cluster` policy can count every
// request without making every worker drop its compiled config.

import { createHash, randomUUID } from 'node:crypto'
import { ABORT, open, type Database, type Key, type RootDatabase } from 'lmdb'
import Type, { type TObject, type TSchema } from 'typebox'
import { Errors, type FieldErrors } from '../errors.js'
import { describe, type CheckContext, type EntityDef, type EntityInfo } from './entity.js'
import { withCheckErrors } from './entity-checks.js'
import { isRecord, isUuid, setOwn, unwrap, validateRecord } from './schema.js'
import type { ChangeEvent, ConfigReader, CounterStore, Entity, EntityStore, EntityWriter, ListOptions, Page, PrimaryKey, ReplaceOptions, SchemaOptions, TagRow, WriteOptions } from './store.js'
import { caCertificates } from './entities/ca-certificates.js'
import { certificates } from './entities/certificates.js'
import { consumers } from './entities/consumers.js'
import { plugins } from './entities/plugins.js'
import { routes } from './entities/routes.js'
import { services } from './entities/services.js'
import { snis } from './entities/snis.js'
import { targets } from './entities/targets.js'
import { upstreams } from './entities/upstreams.js'

/** A stored row: the entity and, for a row with a TTL, when it expires (unix s). */
export interface Row { v: Entity, x?: number }
interface Counter { n: number, x: number }

/** One write, to run inside a transaction; `run` returns the written (or deleted) row. */
interface Step<R extends Entity | undefined> {
  entity: string
  op: ChangeEvent['op']
  run: () => R
}

export interface StoreOptions extends SchemaOptions {
  /** File of the LMDB environment (a `-lock` file is created beside it). */
  path: string
  /** How often expired rows are purged, in ms; 0 disables the timer. */
  ttlPurgeInterval?: number
  /**
   * Makes this store a copy of a shared database (pg/replica.ts): every write is first
   * committed there, and lands here only as the rows that database took.
   */
  writeThrough?: WriteThrough
}

/** One row as a write left it, to copy between stores; no `row`: deleted. */
export interface RowChange { entity: string, id: string, row?: Row }

/** A write worked out on a copy and rolled back: what it returns and the rows it changes. */
export interface Planned<R> {
  result: R
  rows: RowChange[]
  /** The change events it announces once committed (their version is the commit's). */
  events: Array<Omit<ChangeEvent, 'version'>>
}

/**
 * Commits writes to the shared database a store copies. `commit` must, holding the
 * shared database's write lock, bring the copy up to date (`applyRows`), call `plan` (a
 * dry run on the copy: its checks see exactly the shared state), store the planned rows
 * there, and copy them here with `applyRows` at the version they got, before resolving
 * to that version. It resolves to undefined when the plan changed no row.
 */
export interface WriteThrough {
  commit<R>(plan: () => Planned<R>): Promise<number | undefined>
}

const MAX_SIZE = 1000
const DEFAULT_SIZE = 100
const MAX_TTL = 100_000_000
const END = '\uffff' // sorts after every id and index value we store
const MAX_INLINE_KEY = 400 // bytes; LMDB keys are limited, longer values are hashed

const nowSeconds = (): number => Math.floor(Date.now() / 1000)

/** An index value: short values verbatim, long ones by digest so keys stay within LMDB's limit. */
function indexValue (value: unknown): string {
  const s = typeof value === 'string' ? value : JSON.stringify(value)
  return Buffer.byteLength(s) > MAX_INLINE_KEY ? `#${createHash('sha256').update(s).digest('hex')}` : `=${s}`
}

/** An offset is the index key of the last row served: one part (an id), or more for /tags. */
function encodeOffset (key: string[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64')
}

function decodeOffset (token: string, parts: number): string[] {
  const fail = (): never => { throw Errors.invalidOffset(token, 'bad base64 encoding') }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(token)) fail()
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64').toString('utf8'))
    if (Array.isArray(parsed) && parsed.length === parts && parsed.every((p) => typeof p === 'string')) return parsed as string[]
  } catch {}
  return fail()
}


/** The fields a write's answer shows as given rather than as stored (EntityDef.seal). */
const kShown = Symbol('tollgate.store.shown')

function shownOnce (value: Record<string, unknown>, out: Entity): Entity {
  const shown = (value as Record<symbol, Record<string, unknown> | undefined>)[kShown]
  return shown === undefined ? out : { ...out, ...shown }
}

export class LmdbStore implements EntityStore, ConfigReader, CounterStore {
  readonly #env: RootDatabase
  readonly #rows: Database<Row, Key>
  readonly #uniq: Database<string, Key>
  readonly #refs: Database<number, Key>
  readonly #tags: Database<number, Key>
  readonly #ttl: Database<number, Key>
  readonly #meta: Database<unknown, string>
  readonly #counters: Database<Counter, string>
  readonly #counterTtl: Database<number, Key>
  readonly #entities = new Map<string, EntityInfo>()
  readonly #ctx: CheckContext
  /** The check context of real writes: entity checks may read related rows. */
  readonly #readCtx: CheckContext
  readonly #listeners = new Set<(e: ChangeEvent) => void>()
  #purgeTimer: NodeJS.Timeout | undefined
  #closed = false
  /** Set while a transaction's function runs, when only its tx may write. */
  #inTransaction = false
  readonly #writeThrough: WriteThrough | undefined
  /** While a write is planned: the rows it has touched, by `entity\0id`. */
  #touched: Map<string, [entity: string, id: string]> | undefined

  constructor (opts: StoreOptions) {
    for (const def of [services, routes, consumers, plugins, upstreams, targets, certificates, snis, caCertificates, ...(opts.entities ?? [])]) {
      if (this.#entities.has(def.name)) throw new Error(`entity '${def.name}' is defined twice`)
      this.#entities.set(def.name, describe(def))
    }
    for (const info of this.#entities.values()) {
      for (const f of [...info.foreign, ...info.idLists]) {
        if (!this.#entities.has(f.reference)) {
          throw new Error(`entity '${info.name}' field '${f.field}' references unknown entity '${f.reference}'`)
        }
      }
    }
    this.#writeThrough = opts.writeThrough
    this.#ctx = { plugins: opts.plugins ?? { configSchema: () => undefined } }
    this.#readCtx = {
      ...this.#ctx,
      get: (entity, id) => this.get(entity, id),
      children: (entity, field, parentId) => this.listFor(entity, field, parentId, { size: MAX_SIZE }).data,
    }
    this.#env = open({ path: opts.path, maxDbs: 12, compression: false })
    this.#rows = this.#env.openDB({ name: 'rows' })
    this.#uniq = this.#env.openDB({ name: 'uniq' })
    this.#refs = this.#env.openDB({ name: 'refs' })
    this.#tags = this.#env.openDB({ name: 'tags' })
    this.#ttl = this.#env.openDB({ name: 'ttl' })
    this.#meta = this.#env.openDB({ name: 'meta' })
    this.#counters = this.#env.openDB({ name: 'counters' })
    this.#counterTtl = this.#env.openDB({ name: 'counter_ttl' })
    const interval = opts.ttlPurgeInterval ?? 10_000
    if (interval > 0) {
      this.#purgeTimer = setInterval(() => { this.purgeExpired().catch(() => {}) }, interval)
      this.#purgeTimer.unref()
    }
  }

  // --- reads --------------------------------------------------------------------------

  /** Entity definitions known to this store, core first. */
  get entities (): EntityInfo[] {
    return [...this.#entities.values()]
  }

  info (entity: string): EntityInfo {
    const info = this.#entities.get(entity)
    if (info === undefined) throw new Error(`unknown entity '${entity}'`)
    return info
  }

  /** The config version: increases with every committed write, in every process. */
  version (): number {
    return (this.#meta.get('version') as number | undefined) ?? 0
  }

  /** A stable id for this data directory's node, made on first open. */
  nodeId (): string {
    let id = this.#meta.get('node_id') as string | undefined
    if (id === undefined) {
      id = randomUUID()
      this.#meta.putSync('node_id', id)
    }
    return id
  }

  get (entity: string, id: string): Entity | undefined {
    const row = this.#live(entity, id.toLowerCase())
    return row === undefined ? undefined : this.#output(row)
  }

  /** Finds a row by id or by a unique field, e.g. `{ username: 'bob' }`. */
  find (entity: string, pk: PrimaryKey): Entity | undefined {
    const row = this.#findRow(this.info(entity), pk)
    return row === undefined ? undefined : this.#output(row)
  }

  /** Resolves a URL segment the way Kong does: a UUID is an id, anything else the endpoint key. */
  keyFor (entity: string, segment: string): PrimaryKey {
    const info = this.info(entity)
    const field = info.def.endpointKey
    if (isUuid(segment) || field === undefined) return { id: segment.toLowerCase() }
    // Kong checks a value used as a unique key against the field before it looks it up
    // (kong/db/dao/init.lua validate_unique_row_method): PUT /upstreams/1.2.3.4 is a 400
    // "invalid unique name" with the field's message, not a row to create or a 404.
    const fieldSchema = (info.def.schema.properties as Record<string, TSchema>)[field] as TSchema
    const err = validateRecord(Type.Object({ [field]: fieldSchema }), { [field]: segment }).errors?.[field]
    if (typeof err === 'string') throw Errors.invalidUnique(field, err)
    return { [field]: segment }
  }

  list (entity: string, opts: ListOptions = {}): Page {
    const info = this.info(entity)
    const size = this.#size(opts.size)
    const after = opts.offset === undefined ? undefined : decodeOffset(opts.offset, 1)[0]
    const found = searchFilter(info, opts.search)
    const tags = opts.tags
    if (tags === undefined || tags.length === 0) {
      return this.#page(entity, this.#ids(this.#rows, [entity], after), size, found)
    }
    if (!info.hasTags) return { data: [] }
    if (opts.tagsMode === 'or') {
      const streams = tags.map((t) => this.#ids(this.#tags, [entity, indexValue(t)], after))
      return this.#page(entity, mergeSorted(streams), size, found)
    }
    const [first, ...rest] = tags
    const ids = this.#ids(this.#tags, [entity, indexValue(first)], after)
    return this.#page(entity, ids, size, (e) => {
      const own = e.tags as string[] | null
      return own !== null && rest.every((t) => own.includes(t)) && (found === undefined || found(e))
    })
  }

  /**
   * Kong's /tags: every tag of every entity, ordered by entity, tag and id; or, with `tag`,
   * the entities carrying that one tag, by entity and id. Expired rows are left out.
   */
  listTags (opts: { tag?: string, size?: number, offset?: string } = {}): { data: TagRow[], offset?: string } {
    const size = this.#size(opts.size)
    const data: TagRow[] = []
    let last: string[] | undefined
    const take = (entity: string, tagKey: string, id: string): boolean => {
      const row = this.#live(entity, id)
      const tag = (row?.v.tags as string[] | null | undefined)?.find((t) => indexValue(t) === tagKey)
      if (tag === undefined) return true
      if (data.length === size) return false
      data.push({ tag, entity_name: entity, entity_id: id })
      last = opts.tag === undefined ? [entity, tagKey, id] : [entity, id]
      return true
    }
    if (opts.tag === undefined) {
      const after = opts.offset === undefined ? undefined : decodeOffset(opts.offset, 3)
      for (const key of this.#tags.getKeys(after === undefined ? {} : { start: after })) {
        const [entity, tagKey, id] = key as string[]
        if (after !== undefined && entity === after[0] && tagKey === after[1] && id === after[2]) continue
        if (!take(entity as string, tagKey as string, id as string)) return { data, offset: encodeOffset(last as string[]) }
      }
      return { data }
    }
    const tagKey = indexValue(opts.tag)
    const after = opts.offset === undefined ? undefined : decodeOffset(opts.offset, 2)
    const names = [...this.#entities.values()].filter((i) => i.hasTags).map((i) => i.name).sort()
    for (const entity of names) {
      if (after !== undefined && entity < (after[0] as string)) continue
      for (const id of this.#ids(this.#tags, [entity, tagKey], after?.[0] === entity ? after[1] : undefined)) {
        if (!take(entity, tagKey, id)) return { data, offset: encodeOffset(last as string[]) }
      }
    }
    return { data }
  }

  /** Lists the rows of `entity` whose foreign `field` points at `parentId`. */
  listFor (entity: string, field: string, parentId: string, opts: ListOptions = {}): Page {
    this.#foreignField(this.info(entity), field)
    const size = this.#size(opts.size)
    const after = opts.offset === undefined ? undefined : decodeOffset(opts.offset, 1)[0]
    return this.#page(entity, this.#ids(this.#refs, [entity, field, parentId], after), size)
  }

  count (entity: string): number {
    this.info(entity)
    return this.#rows.getKeysCount({ start: [entity], end: [entity, END] })
  }

  /** Every live row of an entity, for building in-memory indexes (router, credentials). */
  * each (entity: string): Generator<Entity> {
    for (const id of this.#ids(this.#rows, [entity], undefined)) {
      const row = this.#live(entity, id)
      if (row !== undefined) yield this.#output(row)
    }
  }

  // --- writes -------------------------------------------------------------------------

  async insert (entity: string, input: unknown, opts: WriteOptions = {}): Promise<Entity> {
    return this.#write(this.#insert(entity, input, opts))
  }

  /** Kong's PUT: creates the row, or replaces every field of the existing one. */
  async upsert (entity: string, pk: PrimaryKey, input: unknown, opts: WriteOptions = {}): Promise<Entity> {
    return this.#write(this.#upsert(entity, pk, input, opts))
  }

  /** Kong's PATCH: merges `patch` over the row (records deeply) and validates the result. */
  async update (entity: string, pk: PrimaryKey, patch: unknown, opts: WriteOptions = {}): Promise<Entity> {
    return this.#write(this.#update(entity, pk, patch, opts))
  }

  /** Deletes a row and, where Kong cascades, what references it. Resolves to the deleted row. */
  async delete (entity: string, pk: PrimaryKey): Promise<Entity | undefined> {
    return this.#write(this.#delete(entity, pk))
  }

  /**
   * Several writes in one LMDB transaction, for a declarative import: all or nothing, one
   * version bump, and the change events after the commit. `fn` runs inside the transaction
   * callback, so it must not await: LMDB's write transaction cannot stay open across an
   * await without other writes of this process joining it.
   */
  async transaction<R> (fn: (tx: EntityWriter) => R): Promise<R> {
    return this.#commit((apply) => {
      let open = true
      const live = (): void => { if (!open) throw new Error('the transaction is over: write inside its function') }
      const tx: EntityWriter = {
        insert: (entity, input, opts = {}) => { live(); return apply(this.#insert(entity, input, opts)) },
        upsert: (entity, pk, input, opts = {}) => { live(); return apply(this.#upsert(entity, pk, input, opts)) },
        update: (entity, pk, patch, opts = {}) => { live(); return apply(this.#update(entity, pk, patch, opts)) },
        delete: (entity, pk) => { live(); return apply(this.#delete(entity, pk)) },
      }
      this.#inTransaction = true
      try {
        const result = fn(tx)
        if (typeof (result as { then?: unknown } | undefined)?.then === 'function') {
          // What it writes after its first await would land outside the transaction.
          (result as PromiseLike<unknown>).then(undefined, () => {})
          throw new Error('a store transaction must be synchronous: its function returned a promise')
        }
        return result
      } finally {
        open = false
        this.#inTransaction = false
      }
    })
  }

  declarativeHash (): string | undefined {
    const h = this.#meta.get('declarative_hash')
    return typeof h === 'string' ? h : undefined
  }

  async replaceAll (entities: Iterable<readonly [string, Iterable<Record<string, unknown>>]>, replace: ReplaceOptions = {}): Promise<void> {
    const { hash } = replace
    if (this.#closed) throw new Error('the store is closed')
    // Kong's DB-less load; a shared database is written entity by entity (db_import).
    if (this.#writeThrough !== undefined) throw new Error('replaceAll is for DB-less mode: a store shared through a database is written by its writes')
    if (this.#inTransaction) throw new Error('inside a store transaction, write through its tx')
    const lists = [...entities]
    for (const [entity] of lists) this.info(entity)
    const touched = new Set<string>()
    let version = 0
    await this.#env.childTransaction(() => {
      for (const info of this.#entities.values()) if (this.#dropAll(info)) touched.add(info.name)
      for (const [entity, rows] of lists) {
        const info = this.info(entity)
        for (const row of rows) {
          let input = row
          const opts: WriteOptions = {}
          if (info.def.ttl === true && 'ttl' in row) {
            // As in Kong's DB-less store (kong/db/strategies/off), a declarative `ttl` is
            // the unix time the row expires: what an export writes. One already past is
            // not loaded, as Kong would never return it.
            const { ttl, ...rest } = row
            input = rest
            if (typeof ttl === 'number') {
              const left = ttl - nowSeconds()
              if (left <= 0) continue
              opts.ttl = left
            }
          }
          this.#insert(entity, input, opts, replace.validated === true).run()
          touched.add(entity)
        }
      }
      if (hash !== undefined) this.#meta.put('declarative_hash', hash)
      version = this.#bump()
    })
    for (const entity of touched) {
      const event: ChangeEvent = { entity, op: 'replace', id: '*', version }
      for (const l of this.#listeners) l(event)
    }
  }

  adoptReplace (): void {
    this.refresh()
    const version = this.version()
    for (const entity of this.#entities.keys()) {
      const event: ChangeEvent = { entity, op: 'replace', id: '*', version }
      for (const l of this.#listeners) l(event)
    }
  }

  /** Removes every row of an entity with its index entries; says whether there were any. */
  #dropAll (info: EntityInfo): boolean {
    const range = { start: [info.name], end: [info.name, END] }
    let any = false
    // Keys are collected before removing: a cursor over what is being deleted is not safe.
    for (const key of [...this.#rows.getKeys(range)]) { this.#rows.remove(key); any = true }
    if (!any) return false
    for (const db of [this.#uniq, this.#refs, this.#tags] as Database<unknown, Key>[]) {
      for (const key of [...db.getKeys(range)]) db.remove(key)
    }
    for (const key of [...this.#ttl.getKeys()]) if ((key as unknown[])[1] === info.name) this.#ttl.remove(key)
    return true
  }

  // --- counters ------------------------------------------------------------------------

  async incrCounter (key: string, delta: number, ttlSeconds: number): Promise<number> {
    if (this.#closed) throw new Error('the store is closed')
    if (typeof delta !== 'number' || !Number.isFinite(delta)) throw new TypeError('incrCounter: the increment must be a number')
    if (!(ttlSeconds >= 0) || !Number.isFinite(ttlSeconds)) throw new TypeError(`incrCounter: ttl must be a non-negative number of seconds (got ${String(ttlSeconds)})`)
    // A child transaction of the async write batch: LMDB's write lock makes the read and
    // the write one step for every process, and many requests' increments share one commit
    // (and one fsync) instead of paying for one each.
    return await this.#env.childTransaction(() => {
      const now = Date.now()
      const c = this.#counters.get(key)
      if (c !== undefined && (c.x === 0 || c.x > now)) {
        const n = c.n + delta
        this.#counters.put(key, { n, x: c.x })
        return n
      }
      if (c !== undefined) this.#counterTtl.remove([c.x, key])
      const x = ttlSeconds === 0 ? 0 : now + Math.ceil(ttlSeconds * 1000)
      this.#counters.put(key, { n: delta, x })
      if (x !== 0) this.#counterTtl.put([x, key], 1)
      return delta
    }) as number
  }

  async getCounter (key: string): Promise<number | undefined> {
    const c = this.#counters.get(key)
    return c === undefined || (c.x !== 0 && c.x <= Date.now()) ? undefined : c.n
  }

  /** Deletes expired rows and counters; resolves to how many rows. */
  async purgeExpired (): Promise<number> {
    if (this.#closed) return 0
    await this.#purgeCounters()
    const now = nowSeconds()
    const due = [...this.#ttl.getKeys({ start: [0], end: [now + 1] })]
    if (due.length === 0) return 0
    const purge = (): void => {
      for (const [, entity, id] of due as [number, string, string][]) {
        const info = this.#entities.get(entity)
        const row = this.#rows.get([entity, id])
        if (info !== undefined && row !== undefined && this.#expired(row)) this.#cascade(info, row)
      }
    }
    // A copy purges through the shared database, which then deletes the rows everywhere.
    if (this.#writeThrough !== undefined) await this.#commit(purge)
    else {
      await this.#env.childTransaction(() => {
        purge()
        this.#bump()
      })
    }
    return due.length
  }

  /** Drops this process's read snapshot, so the next read sees other processes' commits. */
  refresh (): void {
    this.#env.resetReadTxn()
  }

  onChange (listener: (e: ChangeEvent) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#purgeTimer !== undefined) clearInterval(this.#purgeTimer)
    await this.#env.close()
  }

  // --- internals ----------------------------------------------------------------------

  async #purgeCounters (): Promise<void> {
    const now = Date.now()
    const due = [...this.#counterTtl.getKeys({ start: [0], end: [now + 1] })] as [number, string][]
    if (due.length === 0) return
    await this.#env.childTransaction(() => {
      for (const [x, key] of due) {
        this.#counterTtl.remove([x, key])
        // Re-read in the transaction: another process may have renewed it since.
        const c = this.#counters.get(key)
        if (c !== undefined && c.x === x) this.#counters.remove(key)
      }
    })
  }

  /** One write on its own: its own transaction, version and event. */
  async #write<R extends Entity | undefined> (step: Step<R>): Promise<R> {
    return this.#commit((apply) => apply(step))
  }

  /**
   * Runs `fn` in one transaction that bumps the version once; `apply` runs a step in it and
   * notes its change, announced once the transaction is committed.
   */
  async #commit<R> (fn: (apply: <T extends Entity | undefined>(step: Step<T>) => T) => R): Promise<R> {
    if (this.#closed) throw new Error('the store is closed')
    if (this.#inTransaction) throw new Error('inside a store transaction, write through its tx')
    let version = 0
    let changes: Array<Omit<ChangeEvent, 'version'>> = []
    const apply = <T extends Entity | undefined>(step: Step<T>): T => {
      const row = step.run()
      if (row !== undefined) changes.push({ entity: step.entity, op: step.op, id: row.id })
      return row
    }
    if (this.#writeThrough !== undefined) {
      let planned: Planned<R> | undefined
      const committed = await this.#writeThrough.commit(() => {
        planned = this.#plan(() => { changes = []; return { result: fn(apply), events: changes } })
        return planned
      })
      if (planned === undefined) throw new Error('the shared database did not plan the write')
      if (committed !== undefined) this.#announce(planned.events, committed)
      return planned.result
    }
    // A child transaction rolls back alone when `fn` throws, yet commits in the same batch
    // (and fsync) as other writes; the promise settles once the write is durable.
    const result = await this.#env.childTransaction(() => {
      changes = []
      const r = fn(apply)
      version = this.#bump()
      return r
    }) as R
    this.#announce(changes, version)
    return result
  }

  #announce (changes: Array<Omit<ChangeEvent, 'version'>>, version: number): void {
    for (const c of changes) {
      const event: ChangeEvent = { entity: c.entity, op: c.op, id: c.id, version }
      for (const l of this.#listeners) l(event)
    }
  }

  /**
   * Runs `fn` in a write transaction that is then rolled back: the write is worked out on
   * this store's data, and what it would change is returned instead of being kept.
   */
  #plan<R> (fn: () => { result: R, events: Array<Omit<ChangeEvent, 'version'>> }): Planned<R> {
    if (this.#closed) throw new Error('the store is closed')
    const touched = new Map<string, [string, string]>()
    let planned: Planned<R> | undefined
    this.#touched = touched
    try {
      this.#env.transactionSync(() => {
        const { result, events } = fn()
        const rows: RowChange[] = []
        for (const [entity, id] of touched.values()) {
          const row = this.#rows.get([entity, id])
          rows.push(row === undefined ? { entity, id } : { entity, id, row })
        }
        planned = { result, rows, events }
        return ABORT
      })
    } finally {
      this.#touched = undefined
    }
    return planned as Planned<R>
  }

  // --- copying a shared database (pg/replica.ts) ----------------------------------------

  /**
   * Writes rows as another store committed them, without checks, and sets the version to
   * `version`; a store already at `version` or past it is left alone (false). Announces a
   * change event per row, unless `quiet` (the rows of this store's own write, which it
   * announces itself).
   */
  async applyRows (version: number, rows: readonly RowChange[], quiet = false): Promise<boolean> {
    if (this.#closed) throw new Error('the store is closed')
    const events: Array<Omit<ChangeEvent, 'version'>> = []
    const applied = await this.#env.childTransaction(() => {
      if (this.version() >= version) return false
      const known = rows.filter((r) => this.#entities.has(r.entity))
      // Every old row goes before any new one is put, so a unique value that moved from
      // one row to another within the batch keeps its index entry.
      const old = known.map((r) => this.#rows.get([r.entity, r.id]))
      known.forEach((r, i) => { const o = old[i]; if (o !== undefined) this.#remove(this.info(r.entity), o) })
      known.forEach((r, i) => {
        if (r.row !== undefined) this.#put(this.info(r.entity), r.row)
        events.push({ entity: r.entity, id: r.id, op: r.row === undefined ? 'delete' : old[i] === undefined ? 'create' : 'update' })
      })
      this.#meta.put('version', version)
      return true
    }) as boolean
    if (applied && !quiet) this.#announce(events, version)
    return applied
  }

  /**
   * Replaces every row with `rows` at `version` (a full copy of a shared database), and
   * announces a `replace` of every entity.
   */
  async resetRows (version: number, rows: Iterable<RowChange>): Promise<void> {
    if (this.#closed) throw new Error('the store is closed')
    await this.#env.childTransaction(() => {
      for (const info of this.#entities.values()) this.#dropAll(info)
      for (const r of rows) {
        const info = this.#entities.get(r.entity)
        if (info !== undefined && r.row !== undefined) this.#put(info, r.row)
      }
      this.#meta.put('version', version)
    })
    this.#announce([...this.#entities.keys()].map((entity) => ({ entity, op: 'replace', id: '*' })), version)
  }

  /** A value this store keeps beside its rows, not copied anywhere (a copy's bookkeeping). */
  localMeta (key: string): unknown {
    return this.#meta.get(`local:${key}`)
  }

  async setLocalMeta (key: string, value: unknown): Promise<void> {
    await this.#meta.put(`local:${key}`, value)
  }

  // Each write is a step: its checks that need no data run when it is made (so they throw
  // before any transaction), the rest in whichever transaction applies it.

  #insert (entity: string, input: unknown, opts: WriteOptions, validated = false): Step<Entity> {
    const info = this.info(entity)
    const expiry = this.#expiry(info, opts)
    return {
      entity,
      op: 'create',
      run: () => {
        const value = validated ? this.#seal(info, { ...input as Record<string, unknown> }) : this.#prepare(info, input, 'insert', opts.declarative === true)
        const now = nowSeconds()
        const id = typeof value.id === 'string' ? value.id : randomUUID()
        value.id = id
        value.created_at ??= info.createdAtMs ? Date.now() / 1000 : now
        if (info.hasUpdatedAt) value.updated_at ??= now
        const clash = this.#rows.get([entity, id])
        if (clash !== undefined) {
          if (!this.#expired(clash)) throw Errors.primaryKeyViolation({ id: value.id })
          this.#remove(info, clash)
        }
        this.#checkUnique(info, value as Entity, undefined)
        return shownOnce(value, this.#put(info, { v: ordered(value), x: expiry }))
      },
    }
  }

  #upsert (entity: string, pk: PrimaryKey, input: unknown, opts: WriteOptions): Step<Entity> {
    const info = this.info(entity)
    const expiry = this.#expiry(info, opts)
    return {
      entity,
      op: 'update',
      run: () => {
        const existing = this.#findRow(info, pk)
        // The key in the URL wins over the body, as in Kong, which sets an endpoint key
        // (`PUT /services/{name}`) on the body before validating it, and validates a
        // body's `id` as given before the URL's id replaces it (kong/db/dao/init.lua
        // check_upsert, then the strategy's upsert). So a body id of the wrong type is a
        // schema violation; a valid one that differs is ignored. A null one is no id.
        const byId = 'id' in pk
        let body = input
        if (isRecord(input)) {
          body = byId ? { ...input } : { ...input, ...pk }
          if (byId && (body as Record<string, unknown>).id === null) delete (body as Record<string, unknown>).id
        }
        const value = this.#prepare(info, body, 'upsert', opts.declarative === true)
        if (byId) {
          if (!isUuid(pk.id)) throw Errors.schemaViolation({ id: 'expected a valid UUID' })
          value.id = pk.id.toLowerCase()
        }
        const now = nowSeconds()
        const id = existing?.v.id ?? (typeof value.id === 'string' ? value.id : randomUUID())
        value.id = id
        value.created_at ??= info.createdAtMs ? Date.now() / 1000 : now
        if (info.hasUpdatedAt) value.updated_at = now
        if (existing !== undefined) this.#remove(info, existing)
        else {
          const stale = this.#rows.get([entity, id])
          // A live row under the body's id while the URL named another (PUT /services/b
          // with the id of service a) would be replaced silently. Kong's upsert by name
          // conflicts on the primary key and reports it with the URL's key: a primary key
          // violation on '{name="b"}' (kong/db/strategies/postgres/init.lua, toerror).
          if (stale !== undefined && !this.#expired(stale)) throw Errors.primaryKeyViolation(pk)
          if (stale !== undefined) this.#remove(info, stale)
        }
        this.#checkUnique(info, value as Entity, id)
        return shownOnce(value, this.#put(info, { v: ordered(value), x: expiry }))
      },
    }
  }

  #update (entity: string, pk: PrimaryKey, patch: unknown, opts: WriteOptions): Step<Entity> {
    const info = this.info(entity)
    const expiry = opts.ttl === undefined ? undefined : this.#expiry(info, opts)
    return {
      entity,
      op: 'update',
      run: () => {
        const existing = this.#findRow(info, pk)
        if (existing === undefined) throw Errors.notFound(pk)
        if (!isRecord(patch)) throw Errors.schemaViolation({ '@entity': ['expected a record'] })
        const own = info.def.rewrite === undefined ? patch : info.def.rewrite(patch, 'update', existing.v)
        const merged = merge(existing.v, own, info)
        const value = this.#prepare(info, merged, 'update')
        value.id = existing.v.id
        if (info.hasUpdatedAt) value.updated_at = Math.max(nowSeconds(), Number(existing.v.updated_at ?? 0))
        this.#remove(info, existing)
        this.#checkUnique(info, value as Entity, existing.v.id)
        return shownOnce(value, this.#put(info, { v: ordered(value), x: opts.ttl === undefined ? existing.x : expiry }))
      },
    }
  }

  #delete (entity: string, pk: PrimaryKey): Step<Entity | undefined> {
    const info = this.info(entity)
    return {
      entity,
      op: 'delete',
      run: () => {
        const row = this.#findRow(info, pk)
        if (row === undefined) return undefined
        this.#cascade(info, row)
        return this.#output(row)
      },
    }
  }

  #bump (): number {
    const version = this.version() + 1
    this.#meta.put('version', version)
    return version
  }

  #size (size: number | undefined): number {
    if (size === undefined) return DEFAULT_SIZE
    if (typeof size !== 'number' || Number.isNaN(size)) throw Errors.invalidSize('size must be a number')
    if (!Number.isInteger(size) || size < 1 || size > MAX_SIZE) {
      throw Errors.invalidSize(`size must be an integer between 1 and ${MAX_SIZE}`)
    }
    return size
  }

  #expiry (info: EntityInfo, opts: WriteOptions): number | undefined {
    if (opts.ttl === undefined) return undefined
    if (info.def.ttl !== true) throw Errors.invalidOptions({ ttl: `cannot be used with '${info.name}'` })
    const ttl = opts.ttl
    if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 0 || ttl > MAX_TTL) {
      throw Errors.invalidOptions({ ttl: `must be an integer between 0 and ${MAX_TTL}` })
    }
    return ttl === 0 ? undefined : nowSeconds() + ttl
  }

  #expired (row: Row): boolean {
    return row.x !== undefined && row.x <= nowSeconds()
  }

  #live (entity: string, id: string): Row | undefined {
    const row = this.#rows.get([entity, id])
    return row === undefined || this.#expired(row) ? undefined : row
  }

  #output (row: Row): Entity {
    if (row.x === undefined) return row.v
    return { ...row.v, ttl: Math.max(0, row.x - nowSeconds()) }
  }

  #findRow (info: EntityInfo, pk: PrimaryKey): Row | undefined {
    const [field, value] = Object.entries(pk)[0] ?? []
    if (field === undefined || typeof value !== 'string') return undefined
    if (field === 'id') return isUuid(value) ? this.#live(info.name, value.toLowerCase()) : undefined
    if (!info.unique.includes(field)) throw new Error(`'${field}' is not a unique field of '${info.name}'`)
    const id = this.#uniq.get([info.name, field, indexValue(value)])
    return id === undefined ? undefined : this.#live(info.name, id)
  }

  /** Ids from an index range under `prefix`, in key order, strictly after `after`. */
  * #ids (db: Database<any, Key>, prefix: Key[], after: string | undefined): Generator<string> {
    const start = after === undefined ? prefix : [...prefix, after]
    for (const key of db.getKeys({ start, end: [...prefix, END] })) {
      const id = (key as string[])[prefix.length] as string
      if (id !== after) yield id
    }
  }

  #page (entity: string, ids: Iterable<string>, size: number, filter?: (e: Entity) => boolean): Page {
    const data: Entity[] = []
    let last: string | undefined
    for (const id of ids) {
      const row = this.#live(entity, id)
      if (row === undefined || (filter !== undefined && !filter(row.v))) continue
      if (data.length === size) return { data, offset: encodeOffset([last as string]) }
      data.push(this.#output(row))
      last = id
    }
    return { data }
  }

  #foreignField (info: EntityInfo, field: string) {
    const f = info.foreign.find((x) => x.field === field)
    if (f === undefined) throw new Error(`'${field}' is not a foreign field of '${info.name}'`)
    return f
  }

  /**
   * Checks an entity against its schema and entity checks, as an insert would, without
   * touching the data (references are not looked up). Throws a DbError when invalid.
   */
  validate (entity: string, input: unknown): Record<string, unknown> {
    return this.#prepare(this.info(entity), input, 'validate')
  }

  /**
   * Validates input into a storable value; resolves foreign references (but for `validate`,
   * which reads no data). `update` input is already merged, and rewritten before that.
   * Throws DbError.
   */
  #prepare (info: EntityInfo, raw: unknown, op: NonNullable<Parameters<NonNullable<EntityDef['rewrite']>>[1]>, declarative = false): Record<string, unknown> {
    const def = info.def
    const resolve = op !== 'validate'
    if (!isRecord(raw)) throw Errors.schemaViolation({ '@entity': ['expected a record'] })
    let input = def.expand === undefined ? raw : def.expand(raw)
    // A declarative row of an entity with transformations is final (EntityDef.transform).
    const final = declarative && def.transform !== undefined
    if (def.rewrite !== undefined && op !== 'update' && !final) input = def.rewrite(input, op)
    const { schema, errors: subErrors } = this.#schemaFor(info, input)
    const onInvalid = def.checksOnInvalid === true
    const { value, errors } = validateRecord(schema, input, { keepInvalid: onInvalid })
    if (errors !== undefined || subErrors !== undefined) {
      const all = { ...errors, ...subErrors }
      throw Errors.schemaViolation(onInvalid ? withCheckErrors(all, def.checks?.(value, this.#ctx)) : all)
    }
    if (typeof value.id === 'string') value.id = value.id.toLowerCase()
    if (resolve) this.#resolveForeign(info, value)
    const entityErrors = def.checks?.(value, resolve ? this.#readCtx : this.#ctx)
    if (entityErrors !== undefined) throw Errors.schemaViolation(entityErrors)
    def.normalize?.(value)
    // Kong checks a reference by id in the database, after the schema and its entity
    // checks: an https-only field on an http service is a schema violation first.
    if (resolve) this.#checkReferences(info, value)
    return op === 'validate' ? value : this.#seal(info, value)
  }

  /** Stores secrets in their stored form (EntityDef.seal), keeping what was given for the write's answer. */
  #seal (info: EntityInfo, value: Record<string, unknown>): Record<string, unknown> {
    const shown = info.def.seal?.(value)
    if (shown !== undefined) Object.defineProperty(value, kShown, { value: shown, enumerable: false })
    return value
  }

  /**
   * The schema a value of `entity` is checked against: for plugins, `config` is the named
   * plugin's schema. The Admin API types form input with it.
   */
  schemaFor (entity: string, input: Record<string, unknown>): TObject {
    return this.#schemaFor(this.info(entity), input).schema
  }

  #schemaFor (info: EntityInfo, input: Record<string, unknown>): { schema: TObject, errors?: FieldErrors } {
    const def = info.def
    if (def.subschema === undefined || typeof input.name !== 'string') return { schema: def.schema }
    const sub = def.subschema(input, this.#ctx)
    if ('errors' in sub) return { schema: def.schema, errors: sub.errors }
    return { schema: { ...def.schema, properties: { ...def.schema.properties, [sub.field]: sub.schema } } as TObject }
  }

  /** Turns each reference into `{ id }`: checks an id's form, looks up a unique field. */
  #resolveForeign (info: EntityInfo, value: Record<string, unknown>): void {
    for (const f of info.foreign) {
      const ref = value[f.field]
      if (ref === null || ref === undefined) continue
      if (!isRecord(ref)) throw Errors.schemaViolation({ [f.field]: 'expected a record' })
      let id: string | undefined
      if (ref.id !== undefined && ref.id !== null) {
        if (!isUuid(ref.id)) throw Errors.schemaViolation({ [f.field]: { id: 'expected a valid UUID' } })
        id = ref.id.toLowerCase()
      } else {
        const parent = this.#entities.get(f.reference)
        const by = parent?.unique.find((u) => typeof ref[u] === 'string' && ref[u] !== '')
        if (parent === undefined || by === undefined) throw Errors.schemaViolation({ [f.field]: { id: 'missing primary key' } })
        const found = this.#findRow(parent, { [by]: ref[by] as string })
        if (found === undefined) throw Errors.foreignKeysUnresolved(f.field, by, { [by]: ref[by] }, parent.name)
        id = found.v.id
      }
      value[f.field] = { id }
    }
  }

  /** Every id a value refers to must name a live row: Kong's foreign key violation. */
  #checkReferences (info: EntityInfo, value: Record<string, unknown>): void {
    const exists = (entity: string, id: string): boolean => this.#entities.has(entity) && this.#live(entity, id) !== undefined
    for (const f of info.foreign) {
      const ref = value[f.field] as { id: string } | null | undefined
      if (ref != null && !exists(f.reference, ref.id)) throw Errors.foreignKeyViolation(f.field, { id: ref.id }, f.reference)
    }
    // Kong 3.2 accepts any UUID in such a list (services.ca_certificates) and fails only
    // when it proxies ("CA Certificate '<id>' does not exist", kong/runloop/certificate.lua).
    // Tollgate refuses an id that names no row when it is written, in the words Kong uses
    // for a missing row: the foreign key violation, naming the first such id.
    for (const f of info.idLists) {
      const ids = value[f.field] as string[] | null | undefined
      const missing = ids?.find((id) => !exists(f.reference, id.toLowerCase()))
      if (missing !== undefined) throw Errors.foreignKeyViolation(f.field, { id: missing }, f.reference)
    }
  }

  #uniqueKeys (info: EntityInfo, v: Entity): [field: string, key: Key[], shown: Record<string, unknown>][] {
    const keys: [string, Key[], Record<string, unknown>][] = []
    for (const field of info.unique) {
      const value = v[field]
      if (value !== null && value !== undefined) keys.push([field, [info.name, field, indexValue(value)], { [field]: value }])
    }
    for (const group of info.def.uniqueTogether ?? []) {
      const shown: Record<string, unknown> = {}
      for (const f of group) shown[f] = v[f] ?? null
      keys.push([group.join(','), [info.name, group.join(','), indexValue(group.map((f) => v[f] ?? null))], shown])
    }
    return keys
  }

  #checkUnique (info: EntityInfo, v: Entity, self: string | undefined): void {
    for (const [, key, shown] of this.#uniqueKeys(info, v)) {
      const owner = this.#uniq.get(key)
      if (owner === undefined || owner === self) continue
      const row = this.#rows.get([info.name, owner])
      if (row !== undefined && this.#expired(row)) { this.#cascade(info, row); continue }
      if (row !== undefined) throw Errors.uniqueViolation(shown)
    }
  }

  #put (info: EntityInfo, row: Row): Entity {
    const v = row.v
    this.#touched?.set(`${info.name}\0${v.id}`, [info.name, v.id])
    if (row.x === undefined) delete row.x
    this.#rows.put([info.name, v.id], row)
    for (const [, key] of this.#uniqueKeys(info, v)) this.#uniq.put(key, v.id)
    for (const f of info.foreign) {
      const ref = v[f.field] as { id: string } | null
      if (ref !== null && ref !== undefined) this.#refs.put([info.name, f.field, ref.id, v.id], 1)
    }
    if (Array.isArray(v.tags)) for (const t of v.tags) this.#tags.put([info.name, indexValue(t), v.id], 1)
    if (row.x !== undefined) this.#ttl.put([row.x, info.name, v.id], 1)
    return this.#output(row)
  }

  /** Removes a row and its index entries (no cascade). */
  #remove (info: EntityInfo, row: Row): void {
    const v = row.v
    this.#touched?.set(`${info.name}\0${v.id}`, [info.name, v.id])
    this.#rows.remove([info.name, v.id])
    for (const [, key] of this.#uniqueKeys(info, v)) {
      if (this.#uniq.get(key) === v.id) this.#uniq.remove(key)
    }
    for (const f of info.foreign) {
      const ref = v[f.field] as { id: string } | null
      if (ref !== null && ref !== undefined) this.#refs.remove([info.name, f.field, ref.id, v.id])
    }
    if (Array.isArray(v.tags)) for (const t of v.tags) this.#tags.remove([info.name, indexValue(t), v.id])
    if (row.x !== undefined) this.#ttl.remove([row.x, info.name, v.id])
  }

  /** Deletes a row after deleting (cascade) or refusing for (restrict) what references it. */
  #cascade (info: EntityInfo, row: Row): void {
    for (const child of this.#entities.values()) {
      for (const f of child.foreign) {
        if (f.reference !== info.name) continue
        for (const id of [...this.#ids(this.#refs, [child.name, f.field, row.v.id], undefined)]) {
          const childRow = this.#rows.get([child.name, id])
          if (childRow === undefined) continue
          if (f.onDelete === 'restrict' && !this.#expired(childRow)) throw Errors.referencedByOthers(child.name, info.name)
          this.#cascade(child, childRow)
        }
      }
    }
    this.#remove(info, row)
  }
}

/** Puts the identity fields first, so stored and returned JSON reads naturally. */
function ordered (value: Record<string, unknown>): Entity {
  const { id, created_at: createdAt, updated_at: updatedAt, ...rest } = value
  return (updatedAt === undefined
    ? { id, created_at: createdAt, ...rest }
    : { id, created_at: createdAt, updated_at: updatedAt, ...rest }) as Entity
}

/**
 * PATCH merge, as Kong's merge_values: records merge deeply (nested ones too, such as
 * upstreams' healthchecks.active.healthy), everything else (arrays, sets, maps,
 * references) is replaced.
 */
function merge (current: Record<string, unknown>, patch: Record<string, unknown>, info: EntityInfo): Record<string, unknown> {
  const out = mergeRecord(current, patch, info.def.schema, new Set(info.foreign.map((f) => f.field)))
  delete out.ttl
  return out
}

/** Merges `patch` over `current`; `schema` (when known) tells records from maps. */
function mergeRecord (current: Record<string, unknown>, patch: Record<string, unknown>, schema: TSchema | undefined, foreign?: Set<string>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...current }
  const props = (schema as { properties?: Record<string, TSchema> } | undefined)?.properties
  for (const [k, v] of Object.entries(patch)) {
    // The patch's keys are input: own members only, and `__proto__` stays a field name.
    const cur = Object.hasOwn(out, k) ? out[k] : undefined
    const field = props !== undefined && Object.hasOwn(props, k) ? unwrap(props[k] as TSchema).inner : undefined
    // A record without known fields (plugins' `config`, checked against another schema)
    // still merges deeply; a map (`kind: 'map'`) never does.
    const deep = isRecord(v) && isRecord(cur) && foreign?.has(k) !== true && field?.kind !== 'map'
    setOwn(out, k, deep ? mergeRecord(cur, v, field) : v)
  }
  return out
}

/** Merges ascending id streams into one ascending stream without duplicates. */
function * mergeSorted (streams: Iterator<string>[] | Iterable<string>[]): Generator<string> {
  const its = streams.map((s) => (s as Iterable<string>)[Symbol.iterator]())
  const heads = its.map((it) => it.next())
  for (;;) {
    let min: string | undefined
    for (const h of heads) if (h.done !== true && (min === undefined || h.value < min)) min = h.value
    if (min === undefined) return
    yield min
    heads.forEach((h, i) => { if (h.done !== true && h.value === min) heads[i] = (its[i] as Iterator<string>).next() })
  }
}

/** The fields a search looks in: those that name a row, as people know it. */
const SEARCHED = ['id', 'name', 'username', 'custom_id']

/** ListOptions.search as a row filter; undefined for no search. */
function searchFilter (info: EntityInfo, search: string | undefined): ((e: Entity) => boolean) | undefined {
  if (search === undefined || search === '') return undefined
  const needle = search.toLowerCase()
  const fields = info.def.endpointKey !== undefined && !SEARCHED.includes(info.def.endpointKey) ? [...SEARCHED, info.def.endpointKey] : SEARCHED
  return (e) => fields.some((f) => {
    const v = e[f]
    return typeof v === 'string' && v.toLowerCase().includes(needle)
  })
}
