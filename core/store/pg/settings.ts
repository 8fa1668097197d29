// The pg_* keys as one value, without loading the pg client: processes of a node on lmdb
// never load it, and isolation threads receive these settings as plain data.

import type { Config } from '../../config/index.js'

export interface PgSettings {
  host: string
  port: number
  user: string
  password: string
  database: string
  schema: string
  ssl: boolean
  sslVerify: boolean
  /** Milliseconds to connect, and for each statement. */
  timeout: number
  poolSize: number
  /** Queries in flight at once; 0: the pool's size. */
  maxConcurrent: number
  /** Seconds between polls of the change log. */
  updateFrequency: number
}

export function pgSettings (config: Config): PgSettings {
  return {
    host: config.pg_host,
    port: config.pg_port,
    user: config.pg_user,
    password: config.pg_password,
    database: config.pg_database,
    schema: config.pg_schema,
    ssl: config.pg_ssl,
    sslVerify: config.pg_ssl_verify,
    timeout: config.pg_timeout,
    poolSize: config.pg_pool_size,
    maxConcurrent: config.pg_max_concurrent_queries,
    updateFrequency: config.db_update_frequency,
  }
}

/** Where the settings point, for messages (never the password). */
export function describeDatabase (s: PgSettings): string {
  return `postgres://${s.user}@${s.host}:${s.port}/${s.database}${s.schema === '' ? '' : ` (schema ${s.schema})`}`
}
