// The rate-limiting `cluster` policy's counters with database = postgres: one atomic
// upsert that returns the new count, so reading and counting are one round trip made
// before the decision (Kong reads with one query and increments later in a timer, which
// lets concurrent requests past the limit: Kong/kong#2629). Each proxy process opens its
// own small pool, lazily: a node whose plugins never count never connects.

import type pg from 'pg'
import type { CounterStore } from '../store.js'
import { newPool, Semaphore, type PgSettings } from './connection.js'

/** Connections of one process for counting: requests wait for one rather than open more. */
const COUNTER_POOL = 4

export class PgCounters implements CounterStore {
  readonly #pool: pg.Pool
  readonly #limit: Semaphore | undefined

  constructor (settings: PgSettings) {
    const size = settings.maxConcurrent > 0 ? Math.min(COUNTER_POOL, settings.maxConcurrent) : COUNTER_POOL
    this.#pool = newPool(settings, size, 'tollgate counters')
    this.#limit = settings.maxConcurrent > 0 ? new Semaphore(settings.maxConcurrent) : undefined
  }

  async incrCounter (key: string, delta: number, ttlSeconds: number): Promise<number> {
    if (typeof delta !== 'number' || !Number.isFinite(delta)) throw new TypeError('incrCounter: the increment must be a number')
    if (!(ttlSeconds >= 0) || !Number.isFinite(ttlSeconds)) throw new TypeError(`incrCounter: ttl must be a non-negative number of seconds (got ${String(ttlSeconds)})`)
    // An expired counter starts again from `delta` with a new expiry; a live one keeps its own.
    const query = (): Promise<pg.QueryResult<{ value: string }>> => this.#pool.query<{ value: string }>(
      `INSERT INTO tollgate_counters AS c (key, value, expire_at)
       VALUES ($1, $2, CASE WHEN $3::float8 = 0 THEN NULL ELSE now() + $3::float8 * interval '1 second' END)
       ON CONFLICT (key) DO UPDATE SET
         value = CASE WHEN c.expire_at <= now() THEN EXCLUDED.value ELSE c.value + EXCLUDED.value END,
         expire_at = CASE WHEN c.expire_at <= now() THEN EXCLUDED.expire_at ELSE c.expire_at END
       RETURNING value`, [key, delta, ttlSeconds])
    const { rows } = await (this.#limit === undefined ? query() : this.#limit.run(query))
    return Number(rows[0]?.value)
  }

  async getCounter (key: string): Promise<number | undefined> {
    const { rows } = await this.#pool.query<{ value: string }>(
      'SELECT value FROM tollgate_counters WHERE key = $1 AND (expire_at IS NULL OR expire_at > now())', [key])
    return rows[0] === undefined ? undefined : Number(rows[0].value)
  }

  async close (): Promise<void> {
    await this.#pool.end().catch(() => {})
  }
}
