// The shared store suite against a copy of a PostgreSQL database (database = postgres):
// every write goes through PostgreSQL and lands in the local LMDB copy the reads use.

import t from 'tap'
import { postgresAvailable, startPostgres } from '../../helpers/postgres.js'
import { freshDatabase, pgCopy } from '../../helpers/pg-store.js'
import { storeSuite } from './suite/index.js'

if (postgresAvailable(t)) {
  const server = await startPostgres(t)
  storeSuite(t, 'PostgreSQL', async (t, opts) => (await pgCopy(t, server, await freshDatabase(server), opts)).store)
}
