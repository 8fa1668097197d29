// LMDB's own promises, beyond the shared suite (suite/): committed writes survive kill -9 of
// the writing process and a clean restart, indexes included.

import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { LmdbStore } from '../../../core/store/index.js'
import { tempDir } from '../../helpers/store.js'

const WRITER = fileURLToPath(new URL('../../fixtures/store-writer.ts', import.meta.url))

/** Runs the writer and SIGKILLs it once `killAfter` writes were reported committed. */
function writeThenKill (path: string, count: number, killAfter: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, path, String(count)], { stdio: ['ignore', 'pipe', 'inherit'] })
    const committed: string[] = []
    let buf = ''
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('writer timed out')) }, 30_000)
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString()
      const lines = buf.split('\n')
      buf = lines.pop() as string
      for (const line of lines) {
        if (line.startsWith('committed ')) committed.push(line.slice(10))
        if (committed.length >= killAfter || line === 'done') child.kill('SIGKILL')
      }
    })
    child.on('exit', (_code, signal) => {
      clearTimeout(timer)
      if (signal !== 'SIGKILL') reject(new Error(`writer ended with ${signal}`))
      else resolve(committed)
    })
  })
}

t.test('committed writes survive kill -9 of the writing process', async (t) => {
  const path = join(tempDir(t), 'tollgate.mdb')
  const committed = await writeThenKill(path, 500, 40)
  t.ok(committed.length >= 40, `${committed.length} writes reported committed before the kill`)
  const store = new LmdbStore({ path, ttlPurgeInterval: 0 })
  t.teardown(() => store.close())
  for (const id of committed) t.ok(store.get('consumers', id), `consumer ${id} is there after kill -9`)
  const all = store.list('consumers', { size: 1000 }).data
  t.ok(all.length >= committed.length)
  t.equal(store.version(), all.length, 'the version counts the committed writes')
  for (const c of all) t.same(store.find('consumers', { username: c.username as string }), c, 'indexes match rows')
})

t.test('data and indexes survive a clean restart', async (t) => {
  const path = join(tempDir(t), 'tollgate.mdb')
  let store = new LmdbStore({ path, ttlPurgeInterval: 0 })
  const svc = await store.insert('services', { name: 'keep', host: 'x.test', tags: ['t'] })
  const route = await store.insert('routes', { paths: ['/'], service: { id: svc.id } })
  const version = store.version()
  const node = store.nodeId()
  await store.close()
  store = new LmdbStore({ path, ttlPurgeInterval: 0 })
  t.teardown(() => store.close())
  t.same(store.find('services', { name: 'keep' }), svc)
  t.same(store.listFor('routes', 'service', svc.id).data, [route])
  t.same(store.list('services', { tags: ['t'] }).data, [svc])
  t.equal(store.version(), version)
  t.equal(store.nodeId(), node, 'the node id is stable')
})
