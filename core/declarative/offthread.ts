// POST /config off the proxy's thread. Parsing, checking and writing 100,000 consumers takes
// seconds of CPU; in the proxy's own thread (worker_processes = 1) it would stop the proxy
// for as long, where Kong's workers yield while they load. So a thread of its own does it
// (load-thread.ts) and this thread, once the thread has committed, refreshes its snapshot
// and announces the new configuration: until then it serves the old one.

import { Worker } from 'node:worker_threads'
import { DbError, type FieldErrors } from '../errors.js'
import { workerExecArgv } from '../isolation/pool.js'
import { keyHashingPepper } from '../../plugins/key-auth/hashing.js'
import type { EntityStore } from '../store/index.js'
import { DeclarativeError, type ErrorTree, type FlatEntityError } from './errors.js'

export interface ThreadInput {
  storePath: string
  /** The `plugins` setting: the thread loads the same plugins by name. */
  plugins: string[]
  cwd: string
  sharedDicts: string[]
  input: string | Record<string, unknown>
  filename?: string
  /** Set from this process's (key-auth's keyauth_hash_keys), not by the caller. */
  keyauthPepper?: string
}

export type ThreadOutput =
  | { ok: true, body: string }
  | { ok: false, kind: 'declarative', fields: Record<string, ErrorTree>, flattened: FlatEntityError[], unattributed: Record<string, ErrorTree> }
  | { ok: false, kind: 'db', code: number, message: string, fields?: FieldErrors }
  | { ok: false, kind: 'other', message: string }

// Threads run the compiled module: node 20 does not apply tsx's loader hooks in them
// (see isolation/pool.ts).
const THREAD = import.meta.url.endsWith('.ts')
  ? new URL('../../dist/core/declarative/load-thread.js', import.meta.url)
  : new URL('./load-thread.js', import.meta.url)

/**
 * Parses and loads `input` as the whole configuration in another thread, then makes this
 * process see it. Resolves to POST /config's answer (dbless.ts parseAndLoad); rejects with the
 * DeclarativeError or DbError the thread met.
 */
export async function loadOffThread (store: EntityStore, data: ThreadInput): Promise<string> {
  const out = await new Promise<ThreadOutput>((resolve, reject) => {
    const worker = new Worker(THREAD, { workerData: { ...data, keyauthPepper: keyHashingPepper() }, execArgv: workerExecArgv() })
    let settled = false
    worker.once('message', (m: ThreadOutput) => { settled = true; resolve(m) })
    worker.once('error', (err) => { if (!settled) { settled = true; reject(err) } })
    worker.once('exit', (code) => { if (!settled) { settled = true; reject(new Error(`the declarative load thread exited with code ${code}`)) } })
  })
  if (!out.ok) {
    if (out.kind === 'declarative') throw new DeclarativeError(out.fields, out.flattened, out.unattributed)
    if (out.kind === 'db') throw new DbError(out.code, out.message, out.fields)
    throw new Error(`declarative load failed: ${out.message}`)
  }
  store.adoptReplace()
  return out.body
}
