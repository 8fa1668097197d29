// The shared database's schema, as Kong's `kong migrations bootstrap|up|list|reset`
// (kong/cmd/migrations.lua) manage Kong's. Unlike Kong's one table per entity, entities
// live in one generic table: plugin-owned entities (key-auth credentials) need no DDL of
// their own, and each value is checked by the store's schemas before it is written.
//
//   tollgate_meta         'version': the config version, locked by every write so writes
//                         commit one at a time and in version order across nodes;
//                         'database_id': random, made at bootstrap, so a copy can tell a
//                         database reset and bootstrapped again from the one it copied
//   tollgate_entities     every row: its JSON (json, not jsonb, so field order is kept)
//                         and its expiry (unix s)
//   tollgate_changes      which rows each version changed, what nodes catch up from
//                         (Kong's cluster_events, in the write's own transaction)
//   tollgate_counters     the rate-limiting `cluster` policy's counters
//   tollgate_migrations   which migrations ran

import type pg from 'pg'
import { ConfigError } from '../../errors.js'

/** A migration the database refused: the CLI and the start print it and exit 1. */
export class MigrationError extends ConfigError {
  constructor (name: string, cause: Error) {
    super(`migration ${name} failed: ${cause.message}`, 'database')
    this.name = 'MigrationError'
  }
}

export interface Migration { name: string, sql: string }

/** Every migration, in order. New ones are appended, never edited. */
export const MIGRATIONS: Migration[] = [
  {
    name: '000_base',
    sql: `
      CREATE TABLE tollgate_meta (key text PRIMARY KEY, value bigint NOT NULL);
      INSERT INTO tollgate_meta (key, value) VALUES ('version', 0);
      CREATE TABLE tollgate_entities (
        entity text NOT NULL,
        id text NOT NULL,
        value json NOT NULL,
        expire_at bigint,
        PRIMARY KEY (entity, id)
      );
      CREATE INDEX tollgate_entities_expire_at ON tollgate_entities (expire_at) WHERE expire_at IS NOT NULL;
      CREATE TABLE tollgate_changes (
        version bigint NOT NULL,
        entity text NOT NULL,
        id text NOT NULL,
        op text NOT NULL,
        node_id text,
        at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (version, entity, id)
      );
      CREATE INDEX tollgate_changes_at ON tollgate_changes (at);
      CREATE TABLE tollgate_counters (
        key text PRIMARY KEY,
        value bigint NOT NULL,
        expire_at timestamptz
      );
      CREATE INDEX tollgate_counters_expire_at ON tollgate_counters (expire_at) WHERE expire_at IS NOT NULL;
    `,
  },
  {
    // Versions start again from 0 in a database reset and bootstrapped again (or another
    // database at the same address): a copy at version 5 of the old one must not take the
    // new one's version 7 for two more versions of what it has.
    name: '001_database_id',
    sql: `
      INSERT INTO tollgate_meta (key, value) VALUES ('database_id', floor(random() * 9007199254740991)::bigint);
    `,
  },
]

/** Kong's words (kong/cmd/utils/migrations.lua NEEDS_BOOTSTRAP_MSG), with Tollgate's command. */
export const NEEDS_BOOTSTRAP = "Database needs bootstrapping; run 'tollgate migrations bootstrap'"

export interface SchemaState {
  bootstrapped: boolean
  executed: string[]
  pending: string[]
}

// One key for every node's migrations: two nodes started with --run-migrations at once
// take turns instead of both creating the tables.
const MIGRATIONS_LOCK = 0x746f6c6c // 'toll'

async function tableExists (c: pg.ClientBase, name: string): Promise<boolean> {
  const { rows } = await c.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [name])
  return rows[0]?.t != null
}

export async function schemaState (c: pg.ClientBase): Promise<SchemaState> {
  if (!await tableExists(c, 'tollgate_migrations')) return { bootstrapped: false, executed: [], pending: MIGRATIONS.map((m) => m.name) }
  const { rows } = await c.query<{ name: string }>('SELECT name FROM tollgate_migrations ORDER BY name')
  const executed = rows.map((r) => r.name)
  return { bootstrapped: true, executed, pending: MIGRATIONS.map((m) => m.name).filter((n) => !executed.includes(n)) }
}

async function withLock<R> (c: pg.ClientBase, fn: () => Promise<R>): Promise<R> {
  await c.query('SELECT pg_advisory_lock($1)', [MIGRATIONS_LOCK])
  try {
    return await fn()
  } finally {
    await c.query('SELECT pg_advisory_unlock($1)', [MIGRATIONS_LOCK])
  }
}

async function run (c: pg.ClientBase, pending: string[]): Promise<string[]> {
  for (const name of pending) {
    const m = MIGRATIONS.find((x) => x.name === name) as Migration
    await c.query('BEGIN')
    try {
      await c.query(m.sql)
      await c.query('INSERT INTO tollgate_migrations (name) VALUES ($1)', [name])
      await c.query('COMMIT')
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {})
      throw new MigrationError(name, err as Error)
    }
  }
  return pending
}

/**
 * Creates the schema (and `schema`, if named) and runs every migration. Resolves to the
 * migrations run; none when the database was bootstrapped already.
 */
export async function bootstrap (c: pg.ClientBase, schema: string): Promise<string[]> {
  return withLock(c, async () => {
    if ((await schemaState(c)).bootstrapped) return []
    if (schema !== '') await c.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`)
    await c.query('CREATE TABLE IF NOT EXISTS tollgate_migrations (name text PRIMARY KEY, executed_at timestamptz NOT NULL DEFAULT now())')
    return run(c, MIGRATIONS.map((m) => m.name))
  })
}

/** Runs the pending migrations; throws when the database was never bootstrapped. */
export async function up (c: pg.ClientBase): Promise<string[]> {
  return withLock(c, async () => {
    const state = await schemaState(c)
    if (!state.bootstrapped) throw new Error(NEEDS_BOOTSTRAP)
    return run(c, state.pending)
  })
}

/** Drops every table Tollgate made (Kong's `migrations reset`): all configuration is lost. */
export async function reset (c: pg.ClientBase): Promise<boolean> {
  return withLock(c, async () => {
    if (!(await schemaState(c)).bootstrapped) return false
    await c.query('DROP TABLE IF EXISTS tollgate_meta, tollgate_entities, tollgate_changes, tollgate_counters, tollgate_migrations')
    return true
  })
}
