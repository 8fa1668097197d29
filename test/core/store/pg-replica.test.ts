// A node's copy of the shared database (PgReplica): what the store suite cannot see from
// one copy. Two copies of one database, catching up, resyncing, writes checked against
// state another node wrote a moment ago, TTL rows purged through the database.

import { join } from 'node:path'
import t from 'tap'
import { ConfigError, DbError } from '../../../core/errors.js'
import type { ChangeEvent } from '../../../core/store/index.js'
import { testCredentials } from '../../helpers/entities.js'
import { until } from '../../helpers/gateway.js'
import { postgresAvailable, startPostgres } from '../../helpers/postgres.js'
import { freshDatabase, pgCopy } from '../../helpers/pg-store.js'
import { tempDir } from '../../helpers/store.js'

if (postgresAvailable(t)) {
  const server = await startPostgres(t)
  // Copies that follow only when told (sync()), so each step is seen on its own.
  const still = { listen: false, pollMs: 3_600_000 }

  t.test('a write on one copy reaches the other with one event per row, in version order', async (t) => {
    const db = await freshDatabase(server)
    const a = await pgCopy(t, server, db, {}, still)
    const b = await pgCopy(t, server, db, {}, still)
    const events: ChangeEvent[] = []
    b.store.onChange((e) => events.push(e))
    const s = await a.store.insert('services', { name: 's1', host: 'one.test' })
    await a.store.update('services', { id: s.id }, { host: 'two.test' })
    const r = await a.store.insert('routes', { service: { id: s.id }, paths: ['/x'] })
    await b.replica.sync()
    t.equal(b.store.version(), 3)
    t.equal(b.store.get('services', s.id)?.host, 'two.test')
    t.same(events.map((e) => [e.entity, e.op, e.version]), [['services', 'create', 3], ['routes', 'create', 3]], 'what changed since, at the version caught up to')
    events.length = 0
    const err = await a.store.delete('services', { id: s.id }).catch((e: unknown) => e)
    t.equal((err as DbError).status, 400, "Kong's restrict: a service with routes stays")
    await a.store.delete('routes', { id: r.id })
    await a.store.delete('services', { id: s.id })
    await b.replica.sync()
    t.equal(b.store.get('routes', r.id), undefined)
    t.equal(b.store.get('services', s.id), undefined)
    t.same(events.map((e) => [e.entity, e.op]), [['routes', 'delete'], ['services', 'delete']])
  })

  t.test("a write is checked against what other nodes wrote, even before this copy followed it", async (t) => {
    const db = await freshDatabase(server)
    const a = await pgCopy(t, server, db, {}, still)
    const b = await pgCopy(t, server, db, {}, still)
    await a.store.insert('consumers', { username: 'bob' })
    const err = await b.store.insert('consumers', { username: 'bob' }).catch((e: unknown) => e)
    t.ok(DbError.is(err), 'refused')
    t.equal((err as DbError).status, 409)
    t.equal(b.store.find('consumers', { username: 'bob' })?.username, 'bob', 'and the copy caught up on the way')
    const gone = await b.store.delete('consumers', { username: 'nobody' })
    t.equal(gone, undefined)
    const pg = await server.client(db)
    const { rows } = await pg.query("SELECT value FROM tollgate_meta WHERE key = 'version'")
    t.equal(rows[0].value, '1', 'a write that changes nothing moves no version')
  })

  t.test('a copy that was away catches up from the log; past the log, it is replaced whole', async (t) => {
    const db = await freshDatabase(server)
    const a = await pgCopy(t, server, db, {}, still)
    const path = join(tempDir(t), 'b.mdb')
    const b1 = await pgCopy(t, server, db, { path }, still)
    const kept = await a.store.insert('services', { name: 'kept', host: 'k.test' })
    const dropped = await a.store.insert('services', { name: 'dropped', host: 'd.test' })
    await b1.replica.sync()
    t.ok(b1.store.get('services', dropped.id))
    await b1.replica.close()
    await b1.store.close()

    // Away: changes the log still holds.
    await a.store.update('services', { id: kept.id }, { host: 'k2.test' })
    const b2 = await pgCopy(t, server, db, { path }, still)
    t.equal(b2.store.get('services', kept.id)?.host, 'k2.test', 'caught up at start')
    t.equal(b2.store.version(), 3)
    await b2.replica.close()
    await b2.store.close()

    // Away longer than the log reaches back.
    await a.store.delete('services', { id: dropped.id })
    await a.store.insert('services', { name: 'new', host: 'n.test' })
    const pg = await server.client(db)
    await pg.query('DELETE FROM tollgate_changes')
    const b3 = await pgCopy(t, server, db, { path }, still)
    t.equal(b3.store.version(), 5)
    t.equal(b3.store.get('services', dropped.id), undefined, 'a row deleted while away is gone')
    t.same([...b3.store.each('services')].map((s) => s.name).sort(), ['kept', 'new'])
    const events: ChangeEvent[] = []
    b3.store.onChange((e) => events.push(e))
    await a.store.insert('services', { name: 'after', host: 'a.test' })
    await pg.query('DELETE FROM tollgate_changes')
    await b3.replica.sync()
    t.ok(events.some((e) => e.op === 'replace' && e.entity === 'services'), 'a resync announces a replacement of everything')
    t.ok(b3.store.find('services', { name: 'after' }))
  })

  t.test('a database reset under a copy: the copy follows it back to empty', async (t) => {
    const db = await freshDatabase(server)
    const a = await pgCopy(t, server, db, {}, still)
    await a.store.insert('services', { name: 's', host: 's.test' })
    await a.store.insert('services', { name: 't', host: 't.test' })
    const pg = await server.client(db)
    await pg.query('TRUNCATE tollgate_entities, tollgate_changes')
    await pg.query("UPDATE tollgate_meta SET value = 0 WHERE key = 'version'")
    await a.replica.sync()
    t.same([...a.store.each('services')], [])
    t.equal(a.store.version(), 0)
    await a.store.insert('services', { name: 's', host: 's.test' })
    t.equal(a.store.version(), 1, 'and writes from there')
  })

  t.test('a node that now has a plugin entity it lacked loads its rows', async (t) => {
    const db = await freshDatabase(server)
    const a = await pgCopy(t, server, db, { entities: [testCredentials] }, still)
    const c = await a.store.insert('consumers', { username: 'alice' })
    await a.store.insert('test_credentials', { consumer: { id: c.id }, key: 'k1' })
    const path = join(tempDir(t), 'b.mdb')
    const b1 = await pgCopy(t, server, db, { path }, still)
    t.ok(b1.store.get('consumers', c.id))
    await b1.replica.close()
    await b1.store.close()
    const b2 = await pgCopy(t, server, db, { path, entities: [testCredentials] }, still)
    t.equal(b2.store.find('test_credentials', { key: 'k1' })?.key, 'k1')
    await a.store.delete('consumers', { id: c.id })
    await b2.replica.sync()
    t.equal(b2.store.find('test_credentials', { key: 'k1' }), undefined, "a cascade made on one node deletes the children on the other")
  })

  t.test('TTL rows: the expiry travels with the row, and expired rows are purged through the database', async (t) => {
    const db = await freshDatabase(server)
    const a = await pgCopy(t, server, db, { entities: [testCredentials] }, still)
    const b = await pgCopy(t, server, db, { entities: [testCredentials] }, still)
    const c = await a.store.insert('consumers', { username: 'alice' })
    await a.store.insert('test_credentials', { consumer: { id: c.id }, key: 'short' }, { ttl: 1 })
    await a.store.insert('test_credentials', { consumer: { id: c.id }, key: 'long' }, { ttl: 3600 })
    await b.replica.sync()
    const long = b.store.find('test_credentials', { key: 'long' })
    t.ok(typeof long?.ttl === 'number' && long.ttl > 3500 && long.ttl <= 3600, 'the ttl is the same on the other node')
    await until(() => b.store.find('test_credentials', { key: 'short' }) === undefined, 'the short one to expire')
    t.equal(await b.store.purgeExpired(), 1)
    const pg = await server.client(db)
    const { rows } = await pg.query("SELECT value->>'key' AS key FROM tollgate_entities WHERE entity = 'test_credentials'")
    t.same(rows, [{ key: 'long' }], 'the purge deleted it in the database')
    await a.replica.sync()
    t.equal(await a.store.purgeExpired(), 0, 'and the other node has nothing left to purge')
  })
}

if (postgresAvailable(t)) {
  t.test('a database that does not exist stops the start with the reason: waiting would not cure it', async (t) => {
    const server = await startPostgres(t)
    const err = await pgCopy(t, server, 'no_such_database').catch((e: unknown) => e)
    t.ok(err instanceof ConfigError, 'a configuration error: the CLI prints it and exits 1')
    t.match((err as Error).message, /^cannot use postgres:\/\/postgres@127\.0\.0\.1:\d+\/no_such_database: database "no_such_database" does not exist$/)
  })
}
