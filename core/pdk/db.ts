// kong.db: Tollgate's read access to stored entities. Kong's plugins reach kong.db's DAOs
// behind kong.cache; Tollgate has the two reads its plugins need, cached the same way.

import type { RequestContext } from '../runtime/context.js'
import type { EntityCache } from '../runtime/entity-cache.js'
import type { Entity } from '../store/store.js'
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
}

export class KongDbView implements KongDb {
  readonly #ctx: RequestContext
  readonly #db: EntityCache
  constructor (ctx: RequestContext, db: EntityCache) { this.#ctx = ctx; this.#db = db }
  get (entity: string, id: string): Entity | undefined { check(this.#ctx, P.get); return this.#db.get(entity, id) }
  find (entity: string, key: Record<string, string>): Entity | undefined { check(this.#ctx, P.find); return this.#db.find(entity, key) }
  listFor (entity: string, field: string, id: string): readonly Entity[] { check(this.#ctx, P.listFor); return this.#db.listFor(entity, field, id) }
}
