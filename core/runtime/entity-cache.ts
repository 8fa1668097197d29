// Entity reads for the request path (kong.db, kong.client.loadConsumer), kept in memory
// between writes. Any committed write empties the cache, so a deleted or changed key is
// never served; rows with a ttl are re-read once it runs out. Kong does the same with
// kong.cache and invalidation events.

import type { Store } from '../store/index.js'
import type { Entity } from '../store/lmdb-store.js'

const MAX_ENTRIES = 100_000

interface Slot { entity: Entity | undefined, expires: number }

export class EntityCache {
  readonly #store: Store
  readonly #slots = new Map<string, Slot>()

  constructor (store: Store) {
    this.#store = store
    store.onChange(() => this.#slots.clear())
  }

  get (entity: string, id: string): Entity | undefined {
    return this.#cached(`${entity}\0id\0${id}`, () => this.#store.get(entity, id))
  }

  find (entity: string, key: Record<string, string>): Entity | undefined {
    const [field, value] = Object.entries(key)[0] ?? []
    if (field === undefined || typeof value !== 'string') return undefined
    return this.#cached(`${entity}\0${field}\0${value}`, () => this.#store.find(entity, key))
  }

  /** Drops everything, for writes made by another process. */
  clear (): void {
    this.#slots.clear()
  }

  #cached (key: string, load: () => Entity | undefined): Entity | undefined {
    const slot = this.#slots.get(key)
    if (slot !== undefined && slot.expires > Date.now()) return slot.entity
    const entity = load()
    if (this.#slots.size >= MAX_ENTRIES) this.#slots.clear()
    const ttl = entity?.ttl
    this.#slots.set(key, { entity, expires: typeof ttl === 'number' ? Date.now() + ttl * 1000 : Number.POSITIVE_INFINITY })
    return entity
  }
}
