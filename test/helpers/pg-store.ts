// Stores that are copies of a shared PostgreSQL database, as a node with database =
// postgres keeps: an LMDB copy in a temp dir, kept by a PgReplica.

import { join } from 'node:path'
import type { Test } from 'tap'
import { createLogger } from '../../core/log.js'
import { LmdbStore, type StoreOptions } from '../../core/store/index.js'
import { bootstrap } from '../../core/store/pg/migrations.js'
import { PgReplica, type ReplicaOptions } from '../../core/store/pg/replica.js'
import type { PgServer } from './postgres.js'
import { tempDir } from './store.js'

/** A bootstrapped, empty database of `server`; resolves to its name. */
export async function freshDatabase (server: PgServer): Promise<string> {
  const name = await server.createDatabase()
  const c = await server.client(name)
  await bootstrap(c, '')
  await c.end()
  return name
}

export interface PgCopy { store: LmdbStore, replica: PgReplica }

/** One node's copy of `database`, started (caught up), closed at test end. */
export async function pgCopy (t: Test, server: PgServer, database: string, opts: Partial<StoreOptions> = {}, replicaOpts: Partial<ReplicaOptions> = {}): Promise<PgCopy> {
  const replica = new PgReplica(server.settings(database), { log: createLogger('error'), ...replicaOpts })
  const store = new LmdbStore({ path: join(tempDir(t), 'tollgate.mdb'), ttlPurgeInterval: 0, ...opts, writeThrough: replica })
  replica.attach(store)
  t.teardown(async () => { await replica.close(); await store.close() })
  await replica.start()
  return { store, replica }
}
