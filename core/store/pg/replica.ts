// database = postgres: PostgreSQL is the configuration every node shares, and each node's
// LMDB store is its local copy, which the request path reads as it does with lmdb alone.
// Only a node's primary process talks to PostgreSQL here: a small pool and one LISTEN
// connection, whatever worker_processes is (Kong's per-worker pools are what exhausted
// its users' max_connections, Kong/kong#5035).
//
// Writes (WriteThrough.commit): one PostgreSQL transaction that locks the version row, so
// writes from every node commit one at a time, in version order; brings the copy up to
// that version; works the write out on the copy (the store's own checks: uniqueness,
// foreign keys, cascades, Kong's error bodies, exact because nothing else can commit
// meanwhile); stores the rows it changed and records them in tollgate_changes in the same
// transaction (Kong writes its cluster event apart from the entity, and a node that dies
// between the two leaves the others stale: Kong/kong#8176); NOTIFYs; commits; and copies
// the rows into the local store.
//
// Following: LISTEN tollgate_changes for prompt delivery (a notification carries only the
// version: it is not durable and its payload is limited), a poll of the change log every
// db_update_frequency seconds as the safety net, and a catch-up after every (re)connect.
// A catch-up reads, in one snapshot, which rows changed after the local version and their
// current values. When the log no longer reaches back that far (it is pruned after an
// hour), or the database was reset (its database_id is not the one copied), the copy is
// replaced whole: APISIX's answer to a compacted etcd revision.
//
// While PostgreSQL is down the proxy serves the copy without a time limit, a restart
// serves it too, Admin API writes answer 503 and reads answer from the copy.

import pg from 'pg'
import { ConfigError, DatabaseUnavailableError, DbError } from '../../errors.js'
import type { Logger } from '../../log.js'
import type { LmdbStore, Planned, Row, RowChange, WriteThrough } from '../lmdb-store.js'
import { clientConfig, describeDatabase, newPool, type PgSettings } from './connection.js'
import { NEEDS_BOOTSTRAP, bootstrap, schemaState, up } from './migrations.js'

export const CHANNEL = 'tollgate_changes'
/** A catch-up over more rows than this replaces the copy whole instead. */
const CATCH_UP_LIMIT = 10_000
const RECONNECT_MIN_MS = 200
const RECONNECT_MAX_MS = 5_000
/** How often each node prunes the change log and expired counters. */
const HOUSEKEEPING_MS = 60_000

export interface ReplicaOptions {
  log: Logger
  /** LISTEN for changes (default); off, a node follows by polling alone (tests prove the poll). */
  listen?: boolean
  /** Poll interval in ms; db_update_frequency otherwise. */
  pollMs?: number
}

export interface ReplicaStatus {
  /** Whether the last exchange with the database succeeded. */
  reachable: boolean
  listening: boolean
  /** The version the local copy is at. */
  version: number
  error?: string
}

interface EntityRow { entity: string, id: string, value: Record<string, unknown>, expire_at: string | null }

function toChange (r: EntityRow): RowChange {
  const row: Row = { v: r.value as Row['v'] }
  if (r.expire_at !== null) row.x = Number(r.expire_at)
  return { entity: r.entity, id: r.id, row }
}

/**
 * Whether `err` says the database cannot be used now: no connection, a dropped one
 * (SQLSTATE class 08), a server shutting down or a statement timeout (57), no resources
 * (53). Other SQL errors are bugs, reported as such rather than as an outage.
 */
function isUnavailable (err: unknown): boolean {
  if (DbError.is(err) || err instanceof DatabaseUnavailableError) return false
  const code = (err as { code?: unknown }).code
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return true
  return code.startsWith('08') || code.startsWith('57') || code.startsWith('53')
}

/** The server refused this node's credentials or database: SQLSTATE class 28, or 3D000. */
function isMisconfigured (err: unknown): boolean {
  const code = (err as { code?: unknown }).code
  return typeof code === 'string' && (code.startsWith('28') || code === '3D000')
}

export class PgReplica implements WriteThrough {
  readonly #s: PgSettings
  #pool!: pg.Pool
  readonly #log: Logger
  readonly #opts: ReplicaOptions
  #store: LmdbStore | undefined
  #listener: pg.Client | undefined
  #reconnectMs = RECONNECT_MIN_MS
  #reconnectTimer: NodeJS.Timeout | undefined
  #pollTimer: NodeJS.Timeout | undefined
  #houseTimer: NodeJS.Timeout | undefined
  #closed = false
  /** Everything that changes the copy takes turns: catch-ups and this node's writes. */
  #turn: Promise<unknown> = Promise.resolve()
  /** A catch-up asked for and not started yet, which later asks join. */
  #queued: Promise<void> | undefined
  #reachable = true
  #error: string | undefined

  constructor (settings: PgSettings, opts: ReplicaOptions) {
    this.#s = settings
    this.#opts = opts
    this.#log = opts.log
  }

  /** The local copy this replica keeps; set before anything else is called. */
  attach (store: LmdbStore): void {
    this.#store = store
    this.#pool = newPool(this.#s, this.#s.poolSize, `tollgate ${store.nodeId()}`)
  }

  get #copy (): LmdbStore {
    if (this.#store === undefined) throw new Error('PgReplica: no local store attached')
    return this.#store
  }

  status (): ReplicaStatus {
    const s: ReplicaStatus = { reachable: this.#reachable, listening: this.#listener !== undefined, version: this.#store?.version() ?? 0 }
    if (this.#error !== undefined) s.error = this.#error
    return s
  }

  /**
   * Checks the schema and catches up once, then follows. With the database unreachable it
   * starts anyway, serving the copy it has (a node restarted during an outage), and keeps
   * trying. A database that needs migrations stops the start, unless `runMigrations`.
   */
  async start (opts: { runMigrations?: boolean } = {}): Promise<void> {
    let client: pg.PoolClient | undefined
    try {
      client = await this.#pool.connect()
    } catch (err) {
      // A refusal that waiting will not cure (a wrong password, a database that does not
      // exist) is a configuration mistake: said now, rather than served around forever.
      if (isMisconfigured(err)) throw new ConfigError(`cannot use ${describeDatabase(this.#s)}: ${(err as Error).message}`, 'pg_password')
      this.#down(err)
      this.#log.warn({ database: describeDatabase(this.#s), version: this.#copy.version() },
        this.#copy.version() > 0 ? 'database unreachable at start: serving the local copy of the configuration' : 'database unreachable at start: no configuration yet; it is loaded once the database answers')
    }
    if (client !== undefined) {
      let broken: Error | undefined
      try {
        const state = await schemaState(client)
        if (opts.runMigrations === true) {
          const ran = state.bootstrapped ? await up(client) : await bootstrap(client, this.#s.schema)
          if (ran.length > 0) this.#log.info({ migrations: ran }, 'database migrated')
        } else if (!state.bootstrapped) {
          throw new DatabaseSchemaError(`${NEEDS_BOOTSTRAP} (or start with --run-migrations)`)
        } else if (state.pending.length > 0) {
          throw new DatabaseSchemaError(`Database has pending migrations (${state.pending.join(', ')}); run 'tollgate migrations up' (or start with --run-migrations)`)
        }
      } catch (err) {
        // Gone between connecting and checking: as if it had not answered at all.
        if (!isUnavailable(err) || err instanceof ConfigError) throw err
        broken = err as Error
        this.#down(err)
      } finally {
        client.release(broken)
      }
      if (broken === undefined) await this.sync()
    }
    if (this.#opts.listen !== false) this.#listen()
    this.#pollTimer = setInterval(() => { this.sync().catch(() => {}) }, this.#opts.pollMs ?? this.#s.updateFrequency * 1000)
    this.#pollTimer.unref()
    this.#houseTimer = setInterval(() => { this.#housekeeping().catch(() => {}) }, HOUSEKEEPING_MS)
    this.#houseTimer.unref()
  }

  // --- writes ---------------------------------------------------------------------------

  async commit<R> (plan: () => Planned<R>): Promise<number | undefined> {
    return this.#exclusive(async () => {
      let client: pg.PoolClient
      try {
        client = await this.#pool.connect()
      } catch (err) {
        this.#down(err)
        throw new DatabaseUnavailableError(err)
      }
      let broken: Error | undefined
      let committed = false
      /** The write's own error (a DbError, or what a transaction's function threw). */
      let refused = false
      try {
        await client.query('BEGIN')
        const { rows } = await client.query<{ value: string, id: string | null }>(
          "SELECT value, (SELECT value FROM tollgate_meta WHERE key = 'database_id') AS id FROM tollgate_meta WHERE key = 'version' FOR UPDATE")
        const current = Number(rows[0]?.value ?? 0)
        await this.#catchUp(client, current, rows[0]?.id ?? null)
        let planned: Planned<R>
        try {
          planned = plan()
        } catch (err) {
          refused = true
          throw err
        }
        if (planned.rows.length === 0) {
          await client.query('ROLLBACK')
          return undefined
        }
        const version = current + 1
        await this.#writeRows(client, version, planned)
        await client.query('COMMIT')
        committed = true
        this.#up()
        // Copied here before anything else may change the copy; the events are the store's.
        await this.#copy.applyRows(version, planned.rows, true)
        return version
      } catch (err) {
        if (!committed) await client.query('ROLLBACK').catch(() => {})
        if (refused || !isUnavailable(err)) throw err
        broken = err as Error
        this.#down(err)
        throw new DatabaseUnavailableError(err)
      } finally {
        client.release(broken)
      }
    })
  }

  async #writeRows (c: pg.ClientBase, version: number, planned: Planned<unknown>): Promise<void> {
    const put = planned.rows.filter((r) => r.row !== undefined)
    const gone = planned.rows.filter((r) => r.row === undefined)
    if (put.length > 0) {
      await c.query(
        `INSERT INTO tollgate_entities (entity, id, value, expire_at)
         SELECT * FROM unnest($1::text[], $2::text[], $3::json[], $4::bigint[])
         ON CONFLICT (entity, id) DO UPDATE SET value = EXCLUDED.value, expire_at = EXCLUDED.expire_at`,
        [put.map((r) => r.entity), put.map((r) => r.id), put.map((r) => JSON.stringify(r.row?.v)), put.map((r) => r.row?.x ?? null)])
    }
    if (gone.length > 0) {
      await c.query(
        'DELETE FROM tollgate_entities WHERE (entity, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))',
        [gone.map((r) => r.entity), gone.map((r) => r.id)])
    }
    await c.query(
      `INSERT INTO tollgate_changes (version, entity, id, op, node_id)
       SELECT $1::bigint, u.entity, u.id, u.op, $5::text FROM unnest($2::text[], $3::text[], $4::text[]) AS u (entity, id, op)`,
      [version, planned.rows.map((r) => r.entity), planned.rows.map((r) => r.id), planned.rows.map((r) => r.row === undefined ? 'delete' : 'put'), this.#copy.nodeId()])
    await c.query("UPDATE tollgate_meta SET value = $1 WHERE key = 'version'", [version])
    // Delivered at commit, to every node's LISTEN connection, this one's too (a no-op here).
    await c.query('SELECT pg_notify($1, $2)', [CHANNEL, String(version)])
  }

  // --- following ------------------------------------------------------------------------

  /**
   * Brings the copy up to the database's version. Calls made while one waits to start
   * share it; one made while one runs gets the next.
   */
  async sync (): Promise<void> {
    this.#queued ??= this.#exclusive(async () => {
      this.#queued = undefined
      await this.#syncOnce()
    })
    return this.#queued
  }

  async #syncOnce (): Promise<void> {
    if (this.#closed) return
    let client: pg.PoolClient
    try {
      client = await this.#pool.connect()
    } catch (err) {
      this.#down(err)
      return
    }
    let broken: Error | undefined
    try {
      // One snapshot: the version, which rows changed after the copy's, and their values.
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
      const { rows } = await client.query<{ key: string, value: string }>("SELECT key, value FROM tollgate_meta WHERE key IN ('version', 'database_id')")
      const meta = new Map(rows.map((r) => [r.key, r.value]))
      await this.#catchUp(client, Number(meta.get('version') ?? 0), meta.get('database_id') ?? null)
      await client.query('COMMIT')
      this.#up()
    } catch (err) {
      broken = err as Error
      await client.query('ROLLBACK').catch(() => {})
      this.#down(err)
    } finally {
      client.release(broken)
    }
  }

  /**
   * Inside a transaction that sees the database `databaseId` at `target`: brings the copy
   * there.
   */
  async #catchUp (c: pg.ClientBase, target: number, databaseId: string | null): Promise<void> {
    const copy = this.#copy
    copy.refresh()
    const local = copy.version()
    const entities = copy.entities.map((e) => e.name).sort().join(',')
    // A node that now has other entities (a plugin enabled since) lacks their rows; a copy
    // of another database (this one reset since) has versions that mean nothing here.
    const same = copy.localMeta('entities') === entities && copy.localMeta('database') === databaseId
    if (local === target && same) return
    if (local < target && same) {
      const { rows: [oldest] } = await c.query<{ v: string | null }>('SELECT min(version) AS v FROM tollgate_changes')
      if (oldest?.v != null && Number(oldest.v) <= local + 1) {
        const { rows: ids } = await c.query<{ entity: string, id: string }>(
          // In the order they first changed: parents are announced before their children.
          `SELECT entity, id FROM tollgate_changes WHERE version > $1 AND version <= $2
           GROUP BY entity, id ORDER BY min(version), entity, id LIMIT $3`,
          [local, target, CATCH_UP_LIMIT + 1])
        if (ids.length <= CATCH_UP_LIMIT) {
          const { rows } = await c.query<EntityRow>(
            'SELECT entity, id, value, expire_at FROM tollgate_entities WHERE (entity, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))',
            [ids.map((r) => r.entity), ids.map((r) => r.id)])
          const found = new Map(rows.map((r) => [`${r.entity}\0${r.id}`, toChange(r)]))
          await copy.applyRows(target, ids.map((r) => found.get(`${r.entity}\0${r.id}`) ?? { entity: r.entity, id: r.id }))
          return
        }
      }
    }
    // The log does not reach back to the copy's version, the database went back (restored
    // or reset), or the copy's entities changed: the copy is replaced whole.
    const { rows } = await c.query<EntityRow>('SELECT entity, id, value, expire_at FROM tollgate_entities')
    await copy.resetRows(target, rows.map(toChange))
    await copy.setLocalMeta('entities', entities)
    await copy.setLocalMeta('database', databaseId)
    this.#log.info({ version: target, rows: rows.length }, 'loaded the whole configuration from the database')
  }

  #listen (): void {
    if (this.#closed) return
    // Named by node, so an operator (or a test) can tell the nodes' connections apart.
    const c = new pg.Client({ ...clientConfig(this.#s, `tollgate listener ${this.#copy.nodeId()}`), statement_timeout: undefined, query_timeout: undefined })
    let gone = false
    const lost = (err?: unknown): void => {
      if (gone) return
      gone = true
      if (this.#listener === c) this.#listener = undefined
      c.end().catch(() => {})
      if (this.#closed) return
      if (err !== undefined) this.#down(err)
      this.#reconnectTimer = setTimeout(() => this.#listen(), this.#reconnectMs)
      this.#reconnectTimer.unref()
      this.#reconnectMs = Math.min(RECONNECT_MAX_MS, this.#reconnectMs * 2)
    }
    c.on('error', (err) => lost(err))
    c.on('end', () => lost())
    c.on('notification', () => { this.sync().catch(() => {}) })
    c.connect()
      .then(() => c.query(`LISTEN ${CHANNEL}`))
      .then(() => {
        if (gone || this.#closed) { c.end().catch(() => {}); return }
        this.#listener = c
        this.#reconnectMs = RECONNECT_MIN_MS
        // Whatever was committed while this node was not listening.
        return this.sync()
      })
      .catch((err: unknown) => lost(err))
  }

  /** Prunes the change log (Kong keeps cluster events max(10 × frequency, 1 h)) and dead counters. */
  async #housekeeping (): Promise<void> {
    const keep = Math.max(3600, this.#s.updateFrequency * 10)
    await this.#pool.query("DELETE FROM tollgate_changes WHERE at < now() - $1 * interval '1 second'", [keep])
    await this.#pool.query('DELETE FROM tollgate_counters WHERE expire_at <= now()')
  }

  // --- bookkeeping ------------------------------------------------------------------------

  async #exclusive<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.#turn.then(fn, fn)
    this.#turn = run.catch(() => {})
    return run
  }

  #down (err: unknown): void {
    const message = err instanceof Error ? err.message : String(err)
    // Once per distinct error, not at every poll while it lasts.
    if (!isUnavailable(err) && message !== this.#error) this.#log.error({ err }, 'the shared database refused a query')
    if (this.#reachable) this.#log.warn({ database: describeDatabase(this.#s), err: message }, 'database unreachable: serving the local copy of the configuration; Admin API writes answer 503')
    this.#reachable = false
    this.#error = message
  }

  #up (): void {
    if (!this.#reachable) this.#log.info({ database: describeDatabase(this.#s) }, 'database reachable again')
    this.#reachable = true
    this.#error = undefined
  }

  async close (): Promise<void> {
    this.#closed = true
    clearInterval(this.#pollTimer)
    clearInterval(this.#houseTimer)
    clearTimeout(this.#reconnectTimer)
    const l = this.#listener
    this.#listener = undefined
    await l?.end().catch(() => {})
    await this.#turn.catch(() => {})
    await this.#pool?.end().catch(() => {})
  }
}

/** The database's schema is missing or behind: `tollgate migrations` fixes it. */
export class DatabaseSchemaError extends ConfigError {
  constructor (message: string) {
    super(message, 'database')
    this.name = 'DatabaseSchemaError'
  }
}
