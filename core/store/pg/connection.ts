// Connections to the shared PostgreSQL database (database = postgres), from Kong's pg_*
// keys. Every query is unqualified: a pg_schema goes into each connection's search_path.
// pg's Pool emits 'error' for an idle connection the server dropped (a restart): left
// unheard that would end the process, so every pool and client made here listens.

import pg from 'pg'
import type { PgSettings } from './settings.js'

export { describeDatabase, pgSettings, type PgSettings } from './settings.js'

/** What `new pg.Client` takes for these settings. */
export function clientConfig (s: PgSettings, applicationName = 'tollgate'): pg.ClientConfig {
  return {
    host: s.host,
    port: s.port,
    user: s.user,
    password: s.password === '' ? undefined : s.password,
    database: s.database,
    ssl: s.ssl ? { rejectUnauthorized: s.sslVerify } : false,
    connectionTimeoutMillis: s.timeout,
    statement_timeout: s.timeout,
    // A server that stops answering (a partition, not a refusal) fails the query here too,
    // so nothing waits on it longer than pg_timeout.
    query_timeout: s.timeout,
    // The LISTEN connection waits for notifications: only the statements time out.
    keepAlive: true,
    application_name: applicationName,
    // Quoted, as bootstrap creates it: a mixed-case pg_schema keeps its case (Kong sets it
    // as a literal, SET SCHEMA 'x'); unquoted, PostgreSQL would look for it in lower case.
    options: s.schema === '' ? undefined : `-c search_path="${s.schema}"`,
  }
}

/** A pool of at most `max` connections, made as they are needed. */
export function newPool (s: PgSettings, max: number, applicationName?: string): pg.Pool {
  const pool = new pg.Pool({ ...clientConfig(s, applicationName), max, idleTimeoutMillis: 30_000 })
  // A dropped idle connection: the next query gets a new one, or the error it meets.
  pool.on('error', () => {})
  return pool
}

/**
 * A limit on queries in flight (pg_max_concurrent_queries), as Kong's semaphore around
 * its connector: the rest wait their turn instead of piling onto the pool's queue.
 */
export class Semaphore {
  #free: number
  readonly #waiting: Array<() => void> = []
  constructor (n: number) { this.#free = n }

  async run<T> (fn: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--
    else await new Promise<void>((resolve) => this.#waiting.push(resolve))
    try {
      return await fn()
    } finally {
      const next = this.#waiting.shift()
      if (next !== undefined) next(); else this.#free++
    }
  }
}
