// The isolation pool driven directly (core/isolation/pool.ts), for what the gateway tests
// cannot pin down: which phases go at once on a quiet pool (the lone path, answered while
// the host watches) and which wait for the turn's flush and travel together.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { contextFromSnapshot, type Snapshot } from '../../../core/isolation/snapshot.js'
import { IsolatedPluginError, IsolationPool } from '../../../core/isolation/pool.js'
import { createLogger } from '../../../core/log.js'
import { loadPlugins } from '../../../core/runtime/loader.js'
import { LmdbStore } from '../../../core/store/index.js'

// Threads load compiled plugins, as in the gateway.
const pluginPath = fileURLToPath(new URL('../../../dist/examples/header-injector/index.js', import.meta.url))

function snapshot (): Snapshot {
  return {
    id: 'r', phase: 2, startedAt: Date.now(), method: 'GET', url: '/p', httpVersion: '1.1',
    rawHeaders: ['host', 'pool.test'], clientIp: '127.0.0.1', clientPort: 40000, localPort: 8000, normalizedPath: '/p',
    match: undefined, consumer: undefined, credential: undefined, shared: {}, pluginCtx: {},
    upstream: { scheme: 'http', method: 'GET', path: '/p', query: undefined, headers: { host: 'upstream' }, body: undefined },
    body: undefined, exit: undefined, source: 'service', status: 0, responseHeaders: {}, serviceStatus: undefined, upstreamHeaders: undefined, responseBody: undefined,
  }
}

const registry = await loadPlugins([pluginPath], process.cwd(), [], ['header-injector'])
const plugin = registry.get('header-injector') as NonNullable<ReturnType<typeof registry.get>>

async function startPool (t: Test, alone?: () => boolean): Promise<IsolationPool> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-pool-test-'))
  const store = new LmdbStore({ path: join(dir, 'db.mdb'), plugins: registry, entities: registry.entities(), ttlPurgeInterval: 0 })
  const pool = new IsolationPool({ plugins: [pluginPath], cwd: process.cwd(), storePath: join(dir, 'db.mdb'), shmPath: join(dir, 'shm.mdb'), nodeId: store.nodeId(), size: 1, timeoutMs: 30_000, maxMemoryMb: 128, log: createLogger('error'), version: () => store.version(), alone })
  t.teardown(async () => {
    await pool.close()
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })
  await pool.warm()
  return pool
}

t.test('a lone phase goes at once; the others reaching the pool in its turn wait for the flush', async (t) => {
  const pool = await startPool(t)
  const instance = (n: number): { id: string, config: Record<string, unknown> } => ({ id: `i${n}`, config: { upstream: { 'x-n': String(n) }, response: {} } })

  // One at a time: each goes at once. Answered while the host watched, run() returns
  // nothing; on a machine too busy for that, a promise. Either way the change is applied.
  for (let n = 0; n < 20; n++) {
    const ctx = contextFromSnapshot(snapshot(), plugin.name)
    const r = pool.run(ctx, plugin, 'access', instance(n))
    if (r !== undefined) await r
    if (ctx.upstream?.headers['x-n'] !== String(n)) t.fail(`lone phase ${n} not applied: ${JSON.stringify(ctx.upstream?.headers)}`)
  }

  // Three in one turn: only the first may go at once; the other two wait for the turn's
  // flush, so they return promises, and leave together.
  const ctxs = [0, 1, 2].map(() => contextFromSnapshot(snapshot(), plugin.name))
  const results = ctxs.map((ctx, n) => pool.run(ctx, plugin, 'access', instance(100 + n)))
  t.ok(results[1] instanceof Promise && results[2] instanceof Promise, 'the later phases of a turn wait for the flush')
  await Promise.all(results)
  t.same(ctxs.map((c) => c.upstream?.headers['x-n']), ['100', '101', '102'], 'each got its own config\'s change')

  // A batch of one after that batch of three: the pool is quiet again after it.
  const again = contextFromSnapshot(snapshot(), plugin.name)
  await pool.run(again, plugin, 'access', instance(6))
  t.equal(again.upstream?.headers['x-n'], '6')

  // A failure on the lone path is the phase's, thrown or rejected as with any handler.
  const broken = { ...plugin, name: 'not-loaded' }
  let failure: unknown
  try {
    await pool.run(contextFromSnapshot(snapshot(), 'not-loaded'), broken, 'access', instance(7))
  } catch (err) {
    failure = err
  }
  t.ok(failure instanceof IsolatedPluginError, 'an IsolatedPluginError')
  t.match((failure as Error).message, /plugin 'not-loaded' has no access handler in this worker/)

  // And the pool still serves lone phases after it.
  const ctx = contextFromSnapshot(snapshot(), plugin.name)
  const r = pool.run(ctx, plugin, 'access', instance(8))
  if (r !== undefined) await r
  t.equal(ctx.upstream?.headers['x-n'], '8')
})

t.test('with other requests open in the process, a phase waits for the flush even on a quiet pool', async (t) => {
  let others = true
  const pool = await startPool(t, () => !others)
  for (let n = 0; n < 5; n++) {
    const ctx = contextFromSnapshot(snapshot(), plugin.name)
    const r = pool.run(ctx, plugin, 'access', { id: 'i', config: { upstream: { 'x-n': String(n) }, response: {} } })
    t.ok(r instanceof Promise, `phase ${n} waits for the turn's flush`)
    await r
    t.equal(ctx.upstream?.headers['x-n'], String(n))
  }
  // Alone again: the next phase may go at once (its answer is then applied on return).
  others = false
  const ctx = contextFromSnapshot(snapshot(), plugin.name)
  const r = pool.run(ctx, plugin, 'access', { id: 'i', config: { upstream: { 'x-n': 'alone' }, response: {} } })
  if (r === undefined) t.equal(ctx.upstream?.headers['x-n'], 'alone', 'answered and applied before run() returned')
  else await r
  t.equal(ctx.upstream?.headers['x-n'], 'alone')
})
