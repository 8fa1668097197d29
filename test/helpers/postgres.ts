// A real, throwaway PostgreSQL server for one test file: initdb in a temp dir (as the
// `postgres` user when running as root, since initdb refuses root), pg_ctl on a free
// 127.0.0.1 port with fsync off (pg-server.ts, which the benchmarks use too), stopped by
// its PID when the test ends. Each test takes a database of its own (createDatabase), so
// one server serves a whole file. pg_ctl stop and start run asynchronously, so gateways in
// the test's own process go on serving meanwhile (an outage under load).

import type { Test } from 'tap'
import pg from 'pg'
import type { PgSettings } from '../../core/store/pg/settings.js'
import { until } from './gateway.js'
import { launchPostgres, pgBinDir } from './pg-server.js'

/**
 * Whether tests that need PostgreSQL can run here. Under CI (CI=true) a missing server
 * fails the test instead: .ci/run installs it, and a silent skip would hide a broken setup.
 */
export function postgresAvailable (t: Test): boolean {
  if (pgBinDir() !== undefined) return true
  if (process.env.CI === 'true') t.fail('PostgreSQL is not installed (CI=true: .ci/run must install postgresql-15)')
  else t.plan(0, 'PostgreSQL is not installed: skipping (apt-get install -y postgresql-15)')
  return false
}

export interface PgServer {
  port: number
  /** Settings for the gateway or a client, on database `database`. */
  settings (database: string, over?: Partial<PgSettings>): PgSettings
  /** The same as configuration keys (TOLLGATE_* environment or overrides). */
  env (database: string): Record<string, string>
  /** Creates an empty database; resolves to its name. */
  createDatabase (name?: string): Promise<string>
  /** A connected client of `database`, closed at test end. */
  client (database?: string): Promise<pg.Client>
  /** pg_ctl stop: `immediate` is a crash (no checkpoint), as when the machine dies. */
  stop (mode?: 'fast' | 'immediate'): Promise<void>
  /** Starts it again on the same port and data. */
  start (): Promise<void>
  pid (): number | undefined
}

let databases = 0

export async function startPostgres (t: Test): Promise<PgServer> {
  const server = await launchPostgres()
  const { port, stop, start, pid } = server
  const clients: pg.Client[] = []
  t.teardown(async () => {
    for (const c of clients) await c.end().catch(() => {})
    server.destroy()
  })
  const settings = (database: string, over: Partial<PgSettings> = {}): PgSettings => ({
    host: '127.0.0.1',
    port,
    user: 'postgres',
    password: '',
    database,
    schema: '',
    ssl: false,
    sslVerify: false,
    timeout: 5000,
    poolSize: 4,
    maxConcurrent: 0,
    updateFrequency: 5,
    ...over,
  })
  const client = async (database = 'postgres'): Promise<pg.Client> => {
    const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database })
    c.on('error', () => {})
    await c.connect()
    clients.push(c)
    return c
  }
  const admin = await client()
  await until(async () => { try { await admin.query('SELECT 1'); return true } catch { return false } }, `PostgreSQL on port ${port} to answer`)
  return {
    port,
    settings,
    env: (database) => ({ TOLLGATE_DATABASE: 'postgres', TOLLGATE_PG_HOST: '127.0.0.1', TOLLGATE_PG_PORT: String(port), TOLLGATE_PG_USER: 'postgres', TOLLGATE_PG_DATABASE: database }),
    createDatabase: async (name = `t${process.pid}_${++databases}`) => {
      // A client of its own, closed at once: a file creates many databases.
      const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' })
      c.on('error', () => {})
      await c.connect()
      try {
        await c.query(`CREATE DATABASE "${name}"`)
      } finally {
        await c.end().catch(() => {})
      }
      return name
    },
    client,
    stop,
    start,
    pid,
  }
}
