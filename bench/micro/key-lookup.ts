// key-auth's credential lookup: the cached path the proxy uses and the LMDB read behind it,
// with 10 and N keys (N = KEYS, default 200,000). Run: npm run bench:micro -- key-lookup
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadPlugins } from '../../core/runtime/loader.js'
import { EntityCache } from '../../core/runtime/entity-cache.js'
import { LmdbStore } from '../../core/store/index.js'
import { compare, table } from './measure.js'

const N = Number(process.env.KEYS ?? 200_000)
const plugins = await loadPlugins(['bundled'])

async function storeWith (keys: number): Promise<{ store: LmdbStore, dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-keys-'))
  const store = new LmdbStore({ path: join(dir, 'db.mdb'), plugins, entities: plugins.entities(), ttlPurgeInterval: 0 })
  const c = await store.insert('consumers', { username: 'bench' })
  for (let i = 0; i < keys; i += 1000) {
    await Promise.all(Array.from({ length: Math.min(1000, keys - i) }, (_, k) => store.insert('keyauth_credentials', { key: `key-${i + k}`, consumer: { id: c.id } })))
  }
  return { store, dir }
}

const small = await storeWith(10)
const large = await storeWith(N)
const smallCache = new EntityCache(small.store)
const largeCache = new EntityCache(large.store)
// The proxy sees a working set of keys; here 1,000 distinct ones.
const rows = compare([
  { name: 'cached, 10 keys', fn: (i) => smallCache.find('keyauth_credentials', { key: `key-${i % 10}` }) },
  { name: `cached, ${N.toLocaleString('en-US')} keys`, fn: (i) => largeCache.find('keyauth_credentials', { key: `key-${(i * 7919) % 1000}` }) },
  { name: 'LMDB read, 10 keys', fn: (i) => small.store.find('keyauth_credentials', { key: `key-${i % 10}` }) },
  { name: `LMDB read, ${N.toLocaleString('en-US')} keys`, fn: (i) => large.store.find('keyauth_credentials', { key: `key-${(i * 7919) % N}` }) },
], 200_000)
console.log(table(rows, 'lookups/s'))
for (const s of [small, large]) { await s.store.close(); rmSync(s.dir, { recursive: true, force: true }) }
