// The thread that parses and loads a declarative configuration for POST /config (see
// offthread.ts): it opens the node's store itself, so the proxy's thread keeps serving the
// old configuration while the new one is read, checked and written, and sees the new one
// only once it is committed whole.

import { parentPort, workerData } from 'node:worker_threads'
import { useKeyHashing } from '../../plugins/key-auth/hashing.js'
import { DbError } from '../errors.js'
import { loadPlugins } from '../runtime/loader.js'
import { LmdbStore } from '../store/index.js'
import { DeclarativeError } from './errors.js'
import { parseAndLoad } from './dbless.js'
import type { ThreadInput, ThreadOutput } from './offthread.js'

async function run (data: ThreadInput): Promise<ThreadOutput> {
  useKeyHashing(data.keyauthPepper)
  const plugins = await loadPlugins(data.plugins, data.cwd)
  const dicts = new Set(data.sharedDicts)
  plugins.useEnv({ sharedDictDeclared: (name) => dicts.has(name) })
  const store = new LmdbStore({ path: data.storePath, plugins, entities: plugins.entities(), ttlPurgeInterval: 0 })
  try {
    return { ok: true, body: await parseAndLoad(store, data.input, { filename: data.filename }) }
  } catch (err) {
    if (DeclarativeError.is(err)) return { ok: false, kind: 'declarative', fields: err.fields, flattened: err.flattenedErrors, unattributed: err.unattributed }
    if (DbError.is(err)) return { ok: false, kind: 'db', code: err.code, message: err.message, fields: err.fields }
    return { ok: false, kind: 'other', message: (err as Error).stack ?? String(err) }
  } finally {
    await store.close()
  }
}

run(workerData as ThreadInput).then((out) => parentPort!.postMessage(out), (err: unknown) => {
  parentPort!.postMessage({ ok: false, kind: 'other', message: (err as Error).stack ?? String(err) } satisfies ThreadOutput)
})
