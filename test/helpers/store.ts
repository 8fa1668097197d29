import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { LmdbStore, type StoreOptions } from '../../core/store/index.js'

/** A fresh temp directory, removed when the test ends. */
export function tempDir (t: Test, name = 'tollgate-'): string {
  const dir = mkdtempSync(join(tmpdir(), name))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A real LMDB store in a temp dir, closed when the test ends. */
export function tempStore (t: Test, opts: Partial<StoreOptions> = {}): LmdbStore {
  const store = new LmdbStore({ path: join(tempDir(t), 'tollgate.mdb'), ttlPurgeInterval: 0, ...opts })
  t.teardown(() => store.close())
  return store
}
