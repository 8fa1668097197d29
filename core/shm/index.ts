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

import { LmdbBackend, MemoryBackend, type Backend, type Entry } from './backends.js'

export type SharedValue = number | string | boolean | Buffer

/** One dictionary: ngx.shared.DICT's operations, with JavaScript names. */
export interface SharedDict {
  readonly name: string
  /** The size it was declared with, in bytes; undefined when it is unbounded. */
  readonly capacity: number | undefined
  /** The value, or undefined when absent or expired. */
  get (key: string): SharedValue | undefined
  /**
   * Stores `value`, replacing any; `ttl` seconds (0: none). False when the dictionary has a
   * capacity and the entry is larger than all of it (nginx's "no memory"); a dictionary
   * that is only full evicts its least recently used entries instead.
   */
  set (key: string, value: SharedValue, ttl?: number): boolean
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

// Separators below every name character (names are printable), but neither NUL nor the
// lowest bytes: lmdb-js's key encoding (ordered-binary) reads a NUL in a string key as
// the boundary of an array key, and a key starting with \u0001 as a typed one, so such
// keys came back from a range as arrays, or not at all. NUL separated dictionary and key
// here before: ranges (keys, flushAll, the expiry sweep) silently missed long keys.
const SEP = '\u001f'
/** Just above SEP: the end of a dictionary's range. */
const END = '\u0020'
/**
 * Bookkeeping rows of bounded dictionaries start with this: below every dictionary name
 * (names are printable), so they never show in a dictionary's range nor in the expiry
 * sweep. `META name` holds the dictionary's total size, `META name SEP key` each entry's
 * [size, expiry, last access].
 */
const META = '\u001e'
/** What an entry costs besides its key and value: nginx's slab node is about this much. */
const ENTRY_OVERHEAD = 64
/** A full dictionary is evicted down to this share of its capacity, so evictions come in batches. */
const LOW_WATER = 0.9
/** How many keys a process remembers having touched recently, before it starts over. */
const TOUCHED_MAX = 50_000
/** How many stored keys a dictionary remembers making (see storedKeys). */
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
  /**
   * Dictionaries with a capacity, in bytes, as nginx's `lua_shared_dict NAME SIZE` declares
   * a zone: when a write takes one over its capacity, the least recently used entries
   * (expired ones first) are evicted. Every process of the node must be given the same.
   * Other names are made on first use and are unbounded.
   */
  sizes?: Record<string, number>
  /**
   * How stale a bounded entry's recorded last access may get before a read records it
   * again (ms, default 1000). Reads within that window write nothing, so a hot entry costs
   * one write per window per process; LRU order is only this precise.
   */
  accessGranularityMs?: number
}

/** Bytes an entry is counted for in a bounded dictionary. */
export function entrySize (key: string, value: SharedValue): number {
  const v = typeof value === 'string' ? Buffer.byteLength(value) : Buffer.isBuffer(value) ? value.length : 8
  return Buffer.byteLength(key) + v + ENTRY_OVERHEAD
}

/**
 * The stored key of `key` under `prefix`, the same string object each time for a key used
 * again: a caller that keeps its key strings (rate-limiting keeps each second's) then gets
 * a stored key whose hash V8 has already computed, instead of a new concatenation to
 * flatten and hash on every call. Bounded, and simply started over when full.
 */
function storedKeys (prefix: string): (key: string) => string {
  let made = new Map<string, string>()
  return (key) => {
    let k = made.get(key)
    if (k === undefined) {
      if (made.size >= FULL_KEYS_MAX) made = new Map()
      k = prefix + key
      made.set(key, k)
    }
    return k
  }
}

export class SharedMemory {
  readonly #store: Backend
  readonly #clock: () => number
  readonly #dicts = new Map<string, SharedDict>()
  readonly #sizes: Map<string, number>
  readonly #granularity: number

  constructor (opts: SharedMemoryOptions = {}) {
    this.#store = opts.path === undefined ? new MemoryBackend() : new LmdbBackend(opts.path, opts.reset === true)
    this.#clock = opts.clock ?? Date.now
    this.#sizes = new Map(Object.entries(opts.sizes ?? {}))
    for (const [name, size] of this.#sizes) {
      checkName(name)
      if (!Number.isSafeInteger(size) || size <= 0) throw new TypeError(`shared dictionary '${name}': the size must be a positive number of bytes`)
    }
    this.#granularity = opts.accessGranularityMs ?? 1000
  }

  /** The dictionary `name` (made on first use; the same object after). */
  dict (name: string): SharedDict {
    let d = this.#dicts.get(name)
    if (d === undefined) {
      checkName(name)
      const size = this.#sizes.get(name)
      d = size === undefined ? this.#makeDict(name) : this.#makeBounded(name, size)
      this.#dicts.set(name, d)
    }
    return d
  }

  /** The capacity `name` was declared with (bytes), or undefined for an undeclared name. */
  capacity (name: string): number | undefined {
    return this.#sizes.get(name)
  }

  /** Bytes the entries of a bounded dictionary are counted for now (0 for an unbounded one). */
  used (name: string): number {
    return (this.#store.get(META + name)?.[0] as number | undefined) ?? 0
  }

  /** Removes expired entries of every dictionary; returns how many. */
  purgeExpired (): number {
    const now = this.#clock()
    const store = this.#store
    const dead: string[] = []
    // From ' ': past the bookkeeping rows, which are not entries.
    for (const { key, value } of store.range(' ')) {
      if (value[1] !== 0 && value[1] <= now) dead.push(key)
    }
    if (dead.length === 0) return 0
    store.atomic(() => {
      for (const k of dead) {
        const e = store.get(k)
        if (e === undefined || e[1] === 0 || e[1] > now) continue
        store.remove(k)
        // An entry of a bounded dictionary: its size is given back.
        const meta = store.get(META + k)
        if (meta !== undefined) {
          store.remove(META + k)
          const total = META + k.slice(0, k.indexOf(SEP))
          store.put(total, [Math.max(0, ((store.get(total)?.[0] as number | undefined) ?? 0) - (meta[0] as number)), 0])
        }
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
    const end = `${name}${END}`
    const full = storedKeys(prefix)
    return {
      name,
      capacity: undefined,
      get (key) {
        return live(store.get(full(key)), clock())?.[0]
      },
      set (key, value, ttl) {
        const now = clock()
        store.put(full(key), [checkValue(value), expiry(ttl, now)])
        return true
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
        return ttlLeft(store.get(full(key)), clock())
      },
      delete (key) {
        store.remove(full(key))
      },
      keys (limit = Number.POSITIVE_INFINITY) {
        return liveKeys(store, prefix, end, clock(), limit)
      },
      flushAll () {
        store.atomic(() => {
          for (const { key } of [...store.range(prefix, end)]) store.remove(key)
        })
      },
    }
  }

  /**
   * A dictionary with a capacity. Each entry has a bookkeeping row (size, expiry, last
   * access) and the dictionary a running total, both changed in the same atomic step as
   * the entry, so every process sees one total. A write that takes the total over the
   * capacity evicts, in that step, expired entries and then the least recently used ones
   * until the total is under LOW_WATER of it. Reads record their access only when this
   * process has not recorded one for the key within the granularity: an approximate LRU
   * whose hits mostly write nothing.
   */
  #makeBounded (name: string, capacity: number): SharedDict {
    const store = this.#store
    const clock = this.#clock
    const granularity = this.#granularity
    const prefix = `${name}${SEP}`
    const end = `${name}${END}`
    const metaPrefix = `${META}${name}${SEP}`
    const metaEnd = `${META}${name}${END}`
    const totalKey = `${META}${name}`
    const touched = new Map<string, number>()
    const remember = (key: string, now: number): void => {
      if (touched.size >= TOUCHED_MAX) touched.clear()
      touched.set(key, now)
    }
    const full = storedKeys(prefix)
    // A read or an increment records its use at most once per `granularity` per key and
    // process: LRU eviction sees a counter that is still counting as used.
    const touch = (key: string, now: number): void => {
      const last = touched.get(key)
      if (last !== undefined && now - last < granularity) return
      remember(key, now)
      store.atomic(() => {
        const m = store.get(metaPrefix + key)
        if (m !== undefined) store.put(metaPrefix + key, [m[0], m[1], now])
      })
    }
    const total = (): number => (store.get(totalKey)?.[0] as number | undefined) ?? 0

    // Inside an atomic step: the victims' rows go, the total comes down; `keep` is the
    // key just written, never its own victim.
    const evict = (sum: number, now: number, keep: string): number => {
      const target = Math.floor(capacity * LOW_WATER)
      const rows: Array<{ key: string, size: number, expires: number, used: number }> = []
      for (const { key, value } of store.range(metaPrefix, metaEnd)) {
        const k = key.slice(metaPrefix.length)
        if (k !== keep) rows.push({ key: k, size: value[0] as number, expires: value[1], used: value[2] ?? 0 })
      }
      const dead = (r: { expires: number }): number => (r.expires !== 0 && r.expires <= now ? 0 : 1)
      rows.sort((a, b) => dead(a) - dead(b) || a.used - b.used)
      for (const r of rows) {
        if (sum <= target) break
        store.remove(prefix + r.key)
        store.remove(metaPrefix + r.key)
        touched.delete(r.key)
        sum -= r.size
      }
      return sum
    }
    // Inside an atomic step: stores the entry and accounts for it.
    const write = (key: string, entry: Entry, size: number, now: number): void => {
      const before = store.get(metaPrefix + key)
      store.put(prefix + key, entry)
      store.put(metaPrefix + key, [size, entry[1], now])
      let sum = total() - ((before?.[0] as number | undefined) ?? 0) + size
      if (sum > capacity) sum = evict(sum, now, key)
      store.put(totalKey, [sum, 0])
      remember(key, now)
    }
    const fits = (key: string, v: SharedValue): number | undefined => {
      const size = entrySize(key, v)
      return size > capacity ? undefined : size
    }

    return {
      name,
      capacity,
      get (key) {
        const now = clock()
        const e = live(store.get(full(key)), now)
        if (e === undefined) return undefined
        touch(key, now)
        return e[0]
      },
      set (key, value, ttl) {
        const v = checkValue(value)
        const size = fits(key, v)
        // nginx's "no memory": larger than the whole dictionary.
        if (size === undefined) return false
        store.atomic(() => {
          const now = clock()
          write(key, [v, expiry(ttl, now)], size, now)
        })
        return true
      },
      add (key, value, ttl) {
        const v = checkValue(value)
        const size = fits(key, v)
        if (size === undefined) return false
        return store.atomic(() => {
          const now = clock()
          if (live(store.get(prefix + key), now) !== undefined) return false
          write(key, [v, expiry(ttl, now)], size, now)
          return true
        })
      },
      incr (key, by, init, initTtl) {
        if (typeof by !== 'number' || !Number.isFinite(by)) throw new TypeError('incr: the increment must be a number')
        const k = full(key)
        let now = 0
        const v = store.atomic(() => {
          now = clock()
          const e = live(store.get(k), now)
          if (e === undefined) {
            if (init === undefined) return undefined
            const n = init + by
            write(key, [n, expiry(initTtl, now)], entrySize(key, n), now)
            return n
          }
          if (typeof e[0] !== 'number') throw new TypeError(`incr: '${key}' does not hold a number`)
          const n = e[0] + by
          // A number's size does not change: only the entry is written.
          store.put(k, [n, e[1]])
          return n
        })
        if (v !== undefined) touch(key, now)
        return v
      },
      ttl (key) {
        return ttlLeft(store.get(prefix + key), clock())
      },
      delete (key) {
        touched.delete(key)
        store.atomic(() => {
          const m = store.get(metaPrefix + key)
          store.remove(prefix + key)
          if (m === undefined) return
          store.remove(metaPrefix + key)
          store.put(totalKey, [Math.max(0, total() - (m[0] as number)), 0])
        })
      },
      keys (limit = Number.POSITIVE_INFINITY) {
        return liveKeys(store, prefix, end, clock(), limit)
      },
      flushAll () {
        touched.clear()
        store.atomic(() => {
          for (const { key } of [...store.range(prefix, end)]) store.remove(key)
          for (const { key } of [...store.range(metaPrefix, metaEnd)]) store.remove(key)
          store.remove(totalKey)
        })
      },
    }
  }
}

function checkName (name: string): void {
  // Printable names only: the bookkeeping rows sort below them (META).
  if (name === '' || !/^[\x20-\x7e]+$/.test(name)) throw new TypeError(`invalid shared dictionary name ${JSON.stringify(name)}`)
}

function live (e: Entry | undefined, now: number): Entry | undefined {
  return e === undefined || (e[1] !== 0 && e[1] <= now) ? undefined : e
}

function expiry (ttl: number | undefined, now: number): number {
  if (ttl === undefined || ttl === 0) return 0
  if (!(ttl > 0) || !Number.isFinite(ttl)) throw new TypeError(`ttl must be a non-negative number of seconds (got ${String(ttl)})`)
  return now + ttl * 1000
}

function checkValue (v: unknown): SharedValue {
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean' || Buffer.isBuffer(v)) return v
  throw new TypeError(`a shared dictionary holds numbers, strings, booleans or Buffers (got ${typeof v})`)
}

function ttlLeft (stored: Entry | undefined, now: number): number | undefined {
  const e = live(stored, now)
  if (e === undefined) return undefined
  return e[1] === 0 ? 0 : (e[1] - now) / 1000
}

function liveKeys (store: Backend, prefix: string, end: string, now: number, limit: number): string[] {
  const out: string[] = []
  for (const { key, value } of store.range(prefix, end)) {
    if (out.length >= limit) break
    if (live(value, now) !== undefined) out.push(key.slice(prefix.length))
  }
  return out
}
