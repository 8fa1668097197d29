// The store seam. Kong keeps one generic DAO (kong/db/dao/init.lua: validation, cascades,
// CRUD events) over storage strategies chosen by name (kong/db/strategies/: postgres, off),
// and its hybrid-mode data planes serve requests from a local LMDB copy whatever the
// control plane stores in. Tollgate splits the same way, as two interfaces:
//   EntityStore   writes: async, validated, transactional (Admin API, declarative import)
//   ConfigReader  reads for the request path: synchronous, from a local copy (router,
//                 plugin iterator, entity cache and so kong.db; the Admin API lists with it)
// LmdbStore implements both over one environment. With database = postgres it is a copy:
// its writes go through PostgreSQL first (pg/replica.ts), and ConfigReader stays LMDB.
// Consumers take the narrowest interface they need.

import type { TObject } from 'typebox'
import type { EntityDef, EntityInfo, PluginSchemas } from './entity.js'

export type Entity = Record<string, unknown> & { id: string }

export interface Page { data: Entity[], offset?: string }

/** A row of Kong's /tags: one tag of one entity. */
export interface TagRow { tag: string, entity_name: string, entity_id: string }

export interface ListOptions {
  size?: number
  offset?: string
  /** Rows must carry every tag (`and`) or at least one (`or`). */
  tags?: string[]
  tagsMode?: 'and' | 'or'
  /**
   * Rows whose id, name, username, custom_id or endpoint key contains this text, ignoring
   * case: Tollgate Manager's search box (beyond Kong, whose lists filter by tags only).
   */
  search?: string
}

export interface ReplaceOptions {
  /** The configuration's hash, for `declarativeHash`. */
  hash?: string
  /**
   * The rows are values `validate` of this store returned (a parsed declarative file):
   * their schema checks are not run again, only the store's own (ids, uniqueness against
   * the rest of the load). Checks that read other rows (a plugin's protocols against its
   * route's) are skipped with them, as Kong's DB-less load does not run them either.
   */
  validated?: boolean
}

export interface WriteOptions {
  /** Seconds until the row expires (entities with `ttl` only); 0 means never. */
  ttl?: number
  /**
   * The row comes from a parsed declarative configuration, its transformations already run
   * or not as its `_transform` said: an entity with a `transform` skips its `rewrite`.
   */
  declarative?: boolean
}

export interface ChangeEvent {
  entity: string
  /** `replace`: every row of `entity` may have changed (a declarative load); `id` is `*`. */
  op: 'create' | 'update' | 'delete' | 'replace'
  id: string
  version: number
}

/** Identifies one row: by id or by a unique field (`{ name: 'x' }`). */
export type PrimaryKey = Record<string, string>

/** What every store is told about what it holds, whatever it stores in. */
export interface SchemaOptions {
  /** Entities besides the core ones, such as plugin-owned credentials. */
  entities?: EntityDef[]
  /** Config schemas of the plugins enabled on this node. */
  plugins?: PluginSchemas
}

/**
 * The config as this process reads it. Every method is synchronous and reads a local copy,
 * because the request path (routing, plugin configs, kong.db) cannot await a database.
 */
export interface ConfigReader {
  /** The config version: increases with every committed write, in every process. */
  version(): number
  get(entity: string, id: string): Entity | undefined
  /** Finds a row by id or by a unique field, e.g. `{ username: 'bob' }`. */
  find(entity: string, pk: PrimaryKey): Entity | undefined
  /** Every live row of an entity, for building in-memory indexes (router, credentials). */
  each(entity: string): Iterable<Entity>
  /** How many rows an entity has (rows past their ttl included until purged): one index scan. */
  count(entity: string): number
  list(entity: string, opts?: ListOptions): Page
  /** Lists the rows of `entity` whose foreign `field` points at `parentId`. */
  listFor(entity: string, field: string, parentId: string, opts?: ListOptions): Page
  /**
   * Kong's /tags: every tag of every entity, ordered by entity, tag and id; or, with `tag`,
   * the entities carrying that one tag, by entity and id. Expired rows are left out.
   */
  listTags(opts?: { tag?: string, size?: number, offset?: string }): { data: TagRow[], offset?: string }
  /**
   * Called after each change this process commits. Commits of other processes are not
   * announced: they show as a greater `version()` after `refresh()`.
   */
  onChange(listener: (e: ChangeEvent) => void): () => void
  /** Drops this process's read snapshot, so the next read sees other processes' commits. */
  refresh(): void
  /** A stable id for this node, kept with its local copy and made on first use. */
  nodeId(): string
  /** The hash of the declarative configuration last loaded whole (`replaceAll`), if any. */
  declarativeHash(): string | undefined
}

/**
 * Numeric counters kept in the store, shared by every process that opens it (and, with a
 * database store, every node): what Kong's `ratelimiting_metrics` table is to the
 * rate-limiting plugin's `cluster` policy. Not entities: no schema, no config version,
 * no change events, so counting never invalidates anything.
 */
export interface CounterStore {
  /**
   * Adds `delta` to the counter `key` atomically (across processes) and resolves to the new
   * value. An absent or expired counter starts from 0 and lives `ttlSeconds` from now
   * (0: until deleted); an existing one keeps its expiry. Expired counters are purged with
   * expired rows.
   */
  incrCounter(key: string, delta: number, ttlSeconds: number): Promise<number>
  /** The counter's value, or undefined when absent or expired. */
  getCounter(key: string): Promise<number | undefined>
}

/**
 * The writes of one `EntityStore.transaction`. They are synchronous: they run inside the
 * transaction and return what `EntityStore`'s methods of the same names resolve to.
 */
export interface EntityWriter {
  insert(entity: string, input: unknown, opts?: WriteOptions): Entity
  upsert(entity: string, pk: PrimaryKey, input: unknown, opts?: WriteOptions): Entity
  update(entity: string, pk: PrimaryKey, patch: unknown, opts?: WriteOptions): Entity
  delete(entity: string, pk: PrimaryKey): Entity | undefined
}

/**
 * Validated writes with Kong's DAO semantics. Each write is atomic (a rejected one leaves
 * nothing behind), moves the config version once and, if it changed a row, announces one
 * ChangeEvent through the ConfigReader's `onChange`.
 */
export interface EntityStore {
  /** Entity definitions known to this store, core first. */
  readonly entities: EntityInfo[]
  /** The definition of `entity`; throws for an unknown one. */
  info(entity: string): EntityInfo
  /** Resolves a URL segment the way Kong does: a UUID is an id, anything else the endpoint key. */
  keyFor(entity: string, segment: string): PrimaryKey
  /**
   * The schema a value of `entity` is checked against: for plugins, `config` is the named
   * plugin's schema. The Admin API types form input with it.
   */
  schemaFor(entity: string, input: Record<string, unknown>): TObject
  /**
   * Checks an entity against its schema and entity checks, as an insert would, without
   * touching the data (references are not looked up). Throws a DbError when invalid.
   */
  validate(entity: string, input: unknown): Record<string, unknown>
  insert(entity: string, input: unknown, opts?: WriteOptions): Promise<Entity>
  /** Kong's PUT: creates the row, or replaces every field of the existing one. */
  upsert(entity: string, pk: PrimaryKey, input: unknown, opts?: WriteOptions): Promise<Entity>
  /** Kong's PATCH: merges `patch` over the row (records deeply) and validates the result. */
  update(entity: string, pk: PrimaryKey, patch: unknown, opts?: WriteOptions): Promise<Entity>
  /** Deletes a row and, where Kong cascades, what references it. Resolves to the deleted row. */
  delete(entity: string, pk: PrimaryKey): Promise<Entity | undefined>
  /**
   * Runs several writes as one: all are committed or, if `fn` throws, none. The version
   * moves once, and the change events of all writes follow the commit, with that version.
   * `fn` must be synchronous (it runs inside the transaction) and write only through `tx`.
   */
  transaction<R>(fn: (tx: EntityWriter) => R): Promise<R>
  /**
   * Kong's DB-less load (kong/db/declarative/import.lua): drops every row of every entity
   * and inserts `entities` (each list validated as inserts, in the order given, so parents
   * come first), as one transaction. Readers see the old configuration until the commit,
   * then all of the new one; a rejected row (DbError) leaves the old one in place. The
   * version moves once and each entity that had or gets rows announces one `replace`
   * event. A row of a TTL entity may carry `ttl`, as declarative files do: the unix time
   * it expires (Kong 3.5+), so an export loads back as it was; rows already expired are skipped.
   * `opts.hash` is kept as the configuration's hash (`declarativeHash`) in the same commit.
   */
  replaceAll(entities: Iterable<readonly [string, Iterable<Record<string, unknown>>]>, opts?: ReplaceOptions): Promise<void>
  /**
   * After another thread of this process committed a `replaceAll` on the same store: drops
   * this thread's read snapshot and announces a `replace` of every entity, as if the load
   * had been made here.
   */
  adoptReplace(): void
  /** Deletes expired rows; resolves to how many. */
  purgeExpired(): Promise<number>
  close(): Promise<void>
}
