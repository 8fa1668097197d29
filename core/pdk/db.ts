// kong.db: Tollgate's read access to stored entities. Kong's plugins reach kong.db's DAOs
// behind kong.cache; Tollgate has the two reads its plugins need, cached the same way.
// Plus the store's counters, which Kong's rate-limiting `cluster` policy keeps in a table
// of its own through kong.db.

import type { RequestContext } from '../runtime/context.js'
import type { EntityCache } from '../runtime/entity-cache.js'
import type { CounterStore, Entity } from '../store/store.js'
import { check } from './private/checks.js'
import { PHASES } from './private/phases.js'

const P = PHASES.db

export interface KongDb {
  /**
   * An entity by id, or undefined (expired rows included in undefined).
   * @phases rewrite, access, header_filter, body_filter, log
   */
  get(entity: string, id: string): Entity | undefined
  /**
   * An entity by a unique field, e.g. `find('keyauth_credentials', { key })`.
   * @phases rewrite, access, header_filter, body_filter, log
   */
  find(entity: string, key: Record<string, string>): Entity | undefined
  /**
   * Every row of `entity` whose foreign key `field` points at `id`, e.g. all of a
   * consumer's credentials: `listFor('keyauth_credentials', 'consumer', consumer.id)`.
   * Read-only; cached until the next write, like get and find.
   * @phases rewrite, access, header_filter, body_filter, log
   */
  listFor(entity: string, field: string, id: string): readonly Entity[]
  /**
   * Adds `delta` to the store's counter `key`, atomically for every process of the node
   * (and every node sharing a database), and resolves to the new value. An absent or
   * expired counter starts from 0 and lives `ttlSeconds` (0: for ever). Counters survive a
   * restart. Plugins name their keys after themselves (`ratelimit:...`).
   * @phases rewrite, access, header_filter, body_filter, log
   */
  incrCounter(key: string, delta: number, ttlSeconds: number): Promise<number>
}

/** Thrown (synchronously) where no store is reachable for counters. */
export class NoCountersError extends Error {
  readonly code = 'GW_ERR_NO_COUNTERS'
  constructor () {
    super('kong.db.incrCounter: this process has no store to keep counters in')
  }
}

export class KongDbView implements KongDb {
  readonly #ctx: RequestContext
  readonly #db: EntityCache
  readonly #counters: CounterStore | undefined
  constructor (ctx: RequestContext, db: EntityCache, counters?: CounterStore) { this.#ctx = ctx; this.#db = db; this.#counters = counters }
  get (entity: string, id: string): Entity | undefined { check(this.#ctx, P.get); return this.#db.get(entity, id) }
  find (entity: string, key: Record<string, string>): Entity | undefined { check(this.#ctx, P.find); return this.#db.find(entity, key) }
  listFor (entity: string, field: string, id: string): readonly Entity[] { check(this.#ctx, P.listFor); return this.#db.listFor(entity, field, id) }
  incrCounter (key: string, delta: number, ttlSeconds: number): Promise<number> {
    check(this.#ctx, P.incrCounter)
    if (this.#counters === undefined) throw new NoCountersError()
    return this.#counters.incrCounter(key, delta, ttlSeconds)
  }
}
