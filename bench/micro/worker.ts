// The cost of isolation: one phase of a header-setting plugin run in-process vs through the
// isolation pool (snapshot in, mutations out), one at a time and 50 in flight.
// Run: npm run bench:micro -- worker   (uses the compiled build: npm run build first)
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { contextFromSnapshot, type Snapshot } from '../../core/isolation/snapshot.js'
import { IsolationPool } from '../../core/isolation/pool.js'
import { createLogger } from '../../core/log.js'
import { Kong } from '../../core/pdk/index.js'
import { EntityCache } from '../../core/runtime/entity-cache.js'
import { loadPlugins } from '../../core/runtime/loader.js'
import { LmdbStore } from '../../core/store/index.js'
import { SharedMemory } from '../../core/shm/index.js'

const pluginPath = fileURLToPath(new URL('../../dist/examples/header-injector/index.js', import.meta.url))
const registry = await loadPlugins([pluginPath], process.cwd(), [], ['header-injector'])
const plugin = registry.get('header-injector') as NonNullable<ReturnType<typeof registry.get>>
const dir = mkdtempSync(join(tmpdir(), 'tollgate-worker-bench-'))
const store = new LmdbStore({ path: join(dir, 'db.mdb'), plugins: registry, entities: registry.entities(), ttlPurgeInterval: 0 })
const log = createLogger('error')
const pool = new IsolationPool({ plugins: [pluginPath], cwd: process.cwd(), storePath: join(dir, 'db.mdb'), shmPath: join(dir, 'shm.mdb'), nodeId: store.nodeId(), size: 2, timeoutMs: 5000, maxMemoryMb: 128, log, version: () => store.version() })
await pool.warm()
const conf = { upstream: { 'x-bench': '1' }, response: {} }

function snapshot (): Snapshot {
  return {
    id: 'x', phase: 2, startedAt: Date.now(), method: 'GET', url: '/bench', httpVersion: '1.1',
    rawHeaders: ['host', 'bench.test', 'user-agent', 'autocannon', 'apikey', 'bench-key', 'accept', '*/*'],
    clientIp: '127.0.0.1', clientPort: 40000, localPort: 8000, normalizedPath: '/bench',
    match: undefined, consumer: undefined, credential: undefined, shared: {}, pluginCtx: {},
    upstream: { scheme: 'http', method: 'GET', path: '/bench', query: undefined, headers: { host: 'upstream:80', 'user-agent': 'autocannon', accept: '*/*', 'x-forwarded-for': '127.0.0.1' }, body: undefined },
    body: undefined, exit: undefined, source: 'service', status: 0, responseHeaders: {}, serviceStatus: undefined, upstreamHeaders: undefined, responseBody: undefined,
  }
}

const env = { db: new EntityCache(store), log, nodeId: store.nodeId(), shm: new SharedMemory({ path: join(dir, 'shm.mdb') }) }
/** Keeps this thread busy for `us`, as the in-process plugins before an isolated one would. */
function busy (us: number): void {
  const until = performance.now() + us / 1000
  while (performance.now() < until);
}
async function rate (name: string, n: number, inFlight: number, one: () => unknown, aside = 0): Promise<void> {
  let done = 0
  const start = performance.now()
  const cpu = process.cpuUsage()
  await Promise.all(Array.from({ length: inFlight }, async () => { while (done < n) { done++; await one() } }))
  // `aside`: microseconds each call spends on something else first, not counted as the phase's.
  const s = (performance.now() - start) / 1000 - aside * n / 1e6
  // Every thread's CPU (the main thread's and the workers'), user and system: what a
  // phase costs the machine, which is what a loaded gateway runs out of.
  const used = process.cpuUsage(cpu)
  console.log(`| ${name} | ${Math.round(n / s).toLocaleString('en-US')} | ${(s / n * 1e6).toFixed(1)} us | ${((used.user + used.system) / n).toFixed(1)} us |`)
}
console.log('| case | phases/s | per phase | CPU per phase |\n|---|---:|---:|---:|')
const inProcess = (): unknown => (plugin.access as (k: Kong, c: unknown) => unknown)(new Kong(contextFromSnapshot(snapshot(), plugin.name), env, plugin.name), conf)
const isolated = async (): Promise<void> => { await pool.run(contextFromSnapshot(snapshot(), plugin.name), plugin, 'access', { id: 'bench', config: conf }) }
for (let round = 0; round < 2; round++) {
  await rate('in-process', 200_000, 1, inProcess)
  await rate('isolated, 1 in flight', 5_000, 1, isolated)
  // As on a quiet gateway: the pool hears the phase is coming when the request's plugins
  // start (PluginRunner.expect), and in-process plugins run 30 us before the isolated one.
  await rate('isolated, 1 in flight, roused 30 us ahead', 5_000, 1, async () => { pool.expect(); busy(30); await isolated() }, 30)
  await rate('isolated, 50 in flight', 20_000, 50, isolated)
}
await pool.close()
await store.close()
rmSync(dir, { recursive: true, force: true })
