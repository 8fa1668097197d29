// Entity reads for the request path (kong.db, kong.client.loadConsumer), kept in memory
// between writes. Any committed write empties the cache, so a deleted or changed key is
// never served; rows with a ttl are re-read once it runs out. Kong does the same with
// kong.cache and invalidation events.

import type { ConfigReader, Entity } from '../store/store.js'

const MAX_ENTRIES = 100_000
/** Rows per store page while listFor reads a whole list. */
const LIST_PAGE = 1000

interface Slot { entity: Entity | undefined, expires: number }

/** Rows without a ttl never expire: no clock read for them on the request path. */
const fresh = (slot: Slot): boolean => slot.expires === Number.POSITIVE_INFINITY || slot.expires > Date.now()

export class EntityCache {
  readonly #store: ConfigReader
  // entity -> field ('id' for get) -> value -> slot. Nested maps, not one map keyed by a
  // joined string: joining made, flattened and hashed a new string on every lookup, where
  // these hash only the value (an entity's id string keeps its hash once computed).
  readonly #slots = new Map<string, Map<string, Map<string, Slot>>>()
  // entity -> foreign field -> referenced id -> the rows (listFor).
  readonly #lists = new Map<string, Map<string, Map<string, { rows: readonly Entity[], expires: number }>>>()
  #size = 0

  constructor (store: ConfigReader) {
    this.#store = store
    store.onChange(() => this.clear())
  }

  get (entity: string, id: string): Entity | undefined {
    const slots = this.#values(entity, 'id')
    const slot = slots.get(id)
    return slot !== undefined && fresh(slot) ? slot.entity : this.#load(entity, 'id', id, this.#store.get(entity, id))
  }

  find (entity: string, key: Record<string, string>): Entity | undefined {
    let field: string | undefined
    for (const f in key) { field = f; break }
    const value = field === undefined ? undefined : key[field]
    if (field === undefined || typeof value !== 'string') return undefined
    const slots = this.#values(entity, field)
    const slot = slots.get(value)
    return slot !== undefined && fresh(slot) ? slot.entity : this.#load(entity, field, value, this.#store.find(entity, key))
  }

  /**
   * Every row of `entity` whose foreign key `field` points at `id` (e.g. a consumer's
   * credentials), in id order; Kong's plugins read these through DAO methods such as
   * acls:each_for_consumer behind kong.cache. The list is cached whole; it expires with
   * the first of its rows that does.
   */
  listFor (entity: string, field: string, id: string): readonly Entity[] {
    const slot = this.#lists.get(entity)?.get(field)?.get(id)
    if (slot !== undefined && (slot.expires === Number.POSITIVE_INFINITY || slot.expires > Date.now())) return slot.rows
    const rows: Entity[] = []
    let offset: string | undefined
    do {
      const page = this.#store.listFor(entity, field, id, { size: LIST_PAGE, offset })
      rows.push(...page.data)
      offset = page.offset
    } while (offset !== undefined)
    let expires = Number.POSITIVE_INFINITY
    for (const row of rows) if (typeof row.ttl === 'number') expires = Math.min(expires, Date.now() + row.ttl * 1000)
    if (this.#size >= MAX_ENTRIES) this.clear()
    let byField = this.#lists.get(entity)
    if (byField === undefined) this.#lists.set(entity, byField = new Map())
    let byId = byField.get(field)
    if (byId === undefined) byField.set(field, byId = new Map())
    if (!byId.has(id)) this.#size++
    const list = Object.freeze(rows)
    byId.set(id, { rows: list, expires })
    return list
  }

  /** Drops everything, for writes made by another process. */
  clear (): void {
    this.#slots.clear()
    this.#lists.clear()
    this.#size = 0
  }

  #values (entity: string, field: string): Map<string, Slot> {
    let fields = this.#slots.get(entity)
    if (fields === undefined) this.#slots.set(entity, fields = new Map())
    let values = fields.get(field)
    if (values === undefined) fields.set(field, values = new Map())
    return values
  }

  #load (entity: string, field: string, value: string, row: Entity | undefined): Entity | undefined {
    if (this.#size >= MAX_ENTRIES) this.clear()
    const slots = this.#values(entity, field)
    if (!slots.has(value)) this.#size++
    const ttl = row?.ttl
    slots.set(value, { entity: row, expires: typeof ttl === 'number' ? Date.now() + ttl * 1000 : Number.POSITIVE_INFINITY })
    return row
  }
}
