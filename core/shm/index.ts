// Node-wide shared dictionaries: what nginx's `lua_shared_dict` zones are to Kong
// (`ngx.shared.kong_rate_limiting_counters`, `kong_db_cache`, ...). Every process of the
// node (the primary, the cluster workers, their isolation threads) sees the same entries,
// so a counter is the node's, not one worker's: rate-limiting's `local` policy holds
// across worker_processes, as Kong's does.
//
// Kept in an LMDB environment of its own under the prefix (`shm.mdb`): LMDB is already
// shared by every process of the node, its write lock makes `incr` atomic across them, and
// a write transaction without fsync, into the map, costs about 4 us. Nothing here needs to survive a
// crash (nginx's zones do not survive a restart either): the environment is opened without
// syncing, and emptied when the node starts.
//
// Calls are synchronous, as ngx.shared's are, so plugins call them on the request path
// without awaiting. Values are numbers, strings, booleans or Buffers; a TTL is in seconds
// (fractions allowed), 0 or none for no expiry, measured on the wall clock every process
// shares.

import { rmSync } from 'node:fs'
import { open, type Database, type RootDatabase } from 'lmdb'

export type SharedValue = number | string | boolean | Buffer

/** One dictionary: ngx.shared.DICT's operations, with JavaScript names. */
export interface SharedDict {
  readonly name: string
  /** The value, or undefined when absent or expired. */
  get (key: string): SharedValue | undefined
  /** Stores `value`, replacing any; `ttl` seconds (0: none). */
  set (key: string, value: SharedValue, ttl?: number): void
  /** Stores `value` only when the key is absent (or expired); false when it was there. */
  add (key: string, value: SharedValue, ttl?: number): boolean
  /**
   * Adds `by` to a number atomically across the node and returns the new value. An absent
   * key starts from `init` (with `initTtl` seconds to live) when given, else the call
   * returns undefined, as ngx.shared's incr answers "not found". A key holding something
   * other than a number throws.
   */
  incr (key: string, by: number, init?: number, initTtl?: number): number | undefined
  /** Seconds left before the key expires (0: never), or undefined when absent. */
  ttl (key: string): number | undefined
  delete (key: string): void
  /** Every live key, in key order, at most `limit`. */
  keys (limit?: number): string[]
  /** Removes every entry of this dictionary. */
  flushAll (): void
}

/** A stored entry: the value and when it expires (ms since the epoch; 0: never). */
type Entry = [SharedValue, number]

const SEP = '\u0000'
/** How many stored keys a dictionary remembers making (see full() in #makeDict). */
const FULL_KEYS_MAX = 4096

export interface SharedMemoryOptions {
  /**
   * The environment's file, e.g. `<prefix>/shm.mdb`, for a node of several processes or
   * threads. Without one the dictionaries live in this process's memory: right when the
   * process is the whole node (one worker process, no isolation threads), and an
   * increment then costs a Map lookup instead of a write transaction.
   */
  path?: string
  /** Empty it on open: the node's first process does, as nginx's zones start empty. */
  reset?: boolean
  /** Milliseconds since the epoch. Default Date.now (shared by every process). */
  clock?: () => number
}

/** Where entries are kept: the operations the dictionaries are written over. */
interface Backend {
  get (key: string): Entry | undefined
  put (key: string, e: Entry): void
  remove (key: string): void
  /** Entries with keys in [start, end) (no end: to the last), in key order. */
  range (start: string, end?: string): Iterable<{ key: string, value: Entry }>
  /** Runs `fn` as one atomic step for every process sharing the backend. */
  atomic<T> (fn: () => T): T
  close (): Promise<void>
}

class LmdbBackend implements Backend {
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
  range (start: string, end?: string): Iterable<{ key: string, value: Entry }> { return this.#db.getRange(end === undefined ? { start } : { start, end }) }
  atomic<T> (fn: () => T): T { return this.#env.transactionSync(fn) }
  async close (): Promise<void> { await this.#env.close() }
}

class MemoryBackend implements Backend {
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

export class SharedMemory {
  readonly #store: Backend
  readonly #clock: () => number
  readonly #dicts = new Map<string, SharedDict>()

  constructor (opts: SharedMemoryOptions = {}) {
    this.#store = opts.path === undefined ? new MemoryBackend() : new LmdbBackend(opts.path, opts.reset === true)
    this.#clock = opts.clock ?? Date.now
  }

  /** The dictionary `name` (made on first use; the same object after). */
  dict (name: string): SharedDict {
    let d = this.#dicts.get(name)
    if (d === undefined) {
      if (name === '' || name.includes(SEP)) throw new TypeError(`invalid shared dictionary name ${JSON.stringify(name)}`)
      d = this.#makeDict(name)
      this.#dicts.set(name, d)
    }
    return d
  }

  /** Removes expired entries of every dictionary; returns how many. */
  purgeExpired (): number {
    const now = this.#clock()
    const store = this.#store
    const dead: string[] = []
    for (const { key, value } of store.range('')) {
      if (value[1] !== 0 && value[1] <= now) dead.push(key)
    }
    if (dead.length === 0) return 0
    store.atomic(() => {
      for (const k of dead) {
        const e = store.get(k)
        if (e !== undefined && e[1] !== 0 && e[1] <= now) store.remove(k)
      }
    })
    return dead.length
  }

  async close (): Promise<void> {
    await this.#store.close()
  }

  #makeDict (name: string): SharedDict {
    const store = this.#store
    const clock = this.#clock
    const prefix = `${name}${SEP}`
    const end = `${name}\u0001`
    const live = (e: Entry | undefined, now: number): Entry | undefined => (e === undefined || (e[1] !== 0 && e[1] <= now) ? undefined : e)
    const expiry = (ttl: number | undefined, now: number): number => {
      if (ttl === undefined || ttl === 0) return 0
      if (!(ttl > 0) || !Number.isFinite(ttl)) throw new TypeError(`ttl must be a non-negative number of seconds (got ${String(ttl)})`)
      return now + ttl * 1000
    }
    // The stored key of `key`, the same string object each time for a key used again: a
    // caller that keeps its key strings (rate-limiting keeps each second's) then gets a
    // stored key whose hash V8 has already computed, instead of a new concatenation to
    // flatten and hash on every call. Bounded, and simply started over when full.
    let fullKeys = new Map<string, string>()
    const full = (key: string): string => {
      let k = fullKeys.get(key)
      if (k === undefined) {
        if (fullKeys.size >= FULL_KEYS_MAX) fullKeys = new Map()
        k = prefix + key
        fullKeys.set(key, k)
      }
      return k
    }
    const checkValue = (v: unknown): SharedValue => {
      if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean' || Buffer.isBuffer(v)) return v
      throw new TypeError(`a shared dictionary holds numbers, strings, booleans or Buffers (got ${typeof v})`)
    }
    return {
      name,
      get (key) {
        return live(store.get(full(key)), clock())?.[0]
      },
      set (key, value, ttl) {
        const now = clock()
        store.put(full(key), [checkValue(value), expiry(ttl, now)])
      },
      add (key, value, ttl) {
        const v = checkValue(value)
        return store.atomic(() => {
          const now = clock()
          if (live(store.get(full(key)), now) !== undefined) return false
          store.put(full(key), [v, expiry(ttl, now)])
          return true
        })
      },
      incr (key, by, init, initTtl) {
        if (typeof by !== 'number' || !Number.isFinite(by)) throw new TypeError('incr: the increment must be a number')
        const k = full(key)
        return store.atomic(() => {
          const now = clock()
          const e = live(store.get(k), now)
          if (e === undefined) {
            if (init === undefined) return undefined
            const v = init + by
            store.put(k, [v, expiry(initTtl, now)])
            return v
          }
          if (typeof e[0] !== 'number') throw new TypeError(`incr: '${key}' does not hold a number`)
          const v = e[0] + by
          store.put(k, [v, e[1]])
          return v
        })
      },
      ttl (key) {
        const now = clock()
        const e = live(store.get(full(key)), now)
        if (e === undefined) return undefined
        return e[1] === 0 ? 0 : (e[1] - now) / 1000
      },
      delete (key) {
        store.remove(full(key))
      },
      keys (limit = Number.POSITIVE_INFINITY) {
        const now = clock()
        const out: string[] = []
        for (const { key, value } of store.range(prefix, end)) {
          if (out.length >= limit) break
          if (live(value, now) !== undefined) out.push(key.slice(prefix.length))
        }
        return out
      },
      flushAll () {
        store.atomic(() => {
          for (const { key } of [...store.range(prefix, end)]) store.remove(key)
        })
      },
    }
  }
}
