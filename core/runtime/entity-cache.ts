// Entity reads for the request path (kong.db, kong.client.loadConsumer), kept in memory
// between writes. Any committed write empties the cache, so a deleted or changed key is
// never served; rows with a ttl are re-read once it runs out. Kong does the same with
// kong.cache and invalidation events.

import type { Store } from '../store/index.js'
import type { Entity } from '../store/lmdb-store.js'

const MAX_ENTRIES = 100_000

interface Slot { entity: Entity | undefined, expires: number }

/** Rows without a ttl never expire: no clock read for them on the request path. */
const fresh = (slot: Slot): boolean => slot.expires === Number.POSITIVE_INFINITY || slot.expires > Date.now()

export class EntityCache {
  readonly #store: Store
  readonly #slots = new Map<string, Slot>()

  constructor (store: Store) {
    this.#store = store
    store.onChange(() => this.#slots.clear())
  }

  get (entity: string, id: string): Entity | undefined {
    const key = `${entity}\0id\0${id}`
    const slot = this.#slots.get(key)
    return slot !== undefined && fresh(slot) ? slot.entity : this.#load(key, this.#store.get(entity, id))
  }

  find (entity: string, key: Record<string, string>): Entity | undefined {
    let field: string | undefined
    for (const f in key) { field = f; break }
    const value = field === undefined ? undefined : key[field]
    if (field === undefined || typeof value !== 'string') return undefined
    const k = `${entity}\0${field}\0${value}`
    const slot = this.#slots.get(k)
    return slot !== undefined && fresh(slot) ? slot.entity : this.#load(k, this.#store.find(entity, key))
  }

  /** Drops everything, for writes made by another process. */
  clear (): void {
    this.#slots.clear()
  }

  #load (key: string, entity: Entity | undefined): Entity | undefined {
    if (this.#slots.size >= MAX_ENTRIES) this.#slots.clear()
    const ttl = entity?.ttl
    this.#slots.set(key, { entity, expires: typeof ttl === 'number' ? Date.now() + ttl * 1000 : Number.POSITIVE_INFINITY })
    return entity
  }
}
