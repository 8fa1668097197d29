// Where the shared dictionaries keep their entries: one LMDB environment shared by every
// process of the node, or this process's memory when it is the whole node. The
// dictionaries (index.ts) are written over these few operations only.

import { rmSync } from 'node:fs'
import { open, type Database, type RootDatabase } from 'lmdb'
import type { SharedValue } from './index.js'

/**
 * A stored entry: the value and when it expires (ms since the epoch; 0: never). A bounded
 * dictionary's bookkeeping rows hold [size, expiry, last access] (see index.ts).
 */
export type Entry = [SharedValue, number, number?]

/** Where entries are kept: the operations the dictionaries are written over. */
export interface Backend {
  get (key: string): Entry | undefined
  put (key: string, e: Entry): void
  remove (key: string): void
  /** Entries with keys in [start, end) (no end: to the last), in key order. */
  range (start: string, end?: string): Iterable<{ key: string, value: Entry }>
  /** Runs `fn` as one atomic step for every process sharing the backend. */
  atomic<T> (fn: () => T): T
  close (): Promise<void>
}

export class LmdbBackend implements Backend {
  readonly #env: RootDatabase
  readonly #db: Database<Entry, string>

  constructor (path: string, reset: boolean) {
    if (reset) {
      rmSync(path, { force: true })
      rmSync(`${path}-lock`, { force: true })
    }
    // useWritemap: a commit writes into the map instead of pwrite()ing its pages, which
    // halves an increment (about 4 us instead of 9, almost no system time). A crash can
    // then leave the file torn; the node empties it at start anyway.
    this.#env = open({ path, noSync: true, noMetaSync: true, useWritemap: true, compression: false, maxDbs: 2 })
    this.#db = this.#env.openDB<Entry, string>({ name: 'shm' })
  }

  get (key: string): Entry | undefined { return this.#db.get(key) }
  put (key: string, e: Entry): void { this.#db.putSync(key, e) }
  remove (key: string): void { this.#db.removeSync(key) }
  range (start: string, end?: string): Iterable<{ key: string, value: Entry }> {
    // A range reads through lmdb-js's shared read transaction, which can be a snapshot
    // from before other processes' last commits (a get is not affected): renewed first,
    // a flush, an eviction scan or the expiry sweep sees what the workers wrote.
    this.#env.resetReadTxn()
    return this.#db.getRange(end === undefined ? { start } : { start, end })
  }
  atomic<T> (fn: () => T): T { return this.#env.transactionSync(fn) }
  async close (): Promise<void> { await this.#env.close() }
}

export class MemoryBackend implements Backend {
  readonly #map = new Map<string, Entry>()

  get (key: string): Entry | undefined { return this.#map.get(key) }
  put (key: string, e: Entry): void { this.#map.set(key, e) }
  remove (key: string): void { this.#map.delete(key) }
  range (start: string, end?: string): Iterable<{ key: string, value: Entry }> {
    const keys = [...this.#map.keys()].filter((k) => k >= start && (end === undefined || k < end)).sort()
    return keys.map((key) => ({ key, value: this.#map.get(key) as Entry }))
  }

  // One thread: every call is atomic already.
  atomic<T> (fn: () => T): T { return fn() }
  async close (): Promise<void> { this.#map.clear() }
}

