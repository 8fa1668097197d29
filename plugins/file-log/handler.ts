// file-log (Kong's kong/plugins/file-log/handler.lua): in the log phase, the request's
// kong.log.serialize() as one JSON line appended to conf.path. The file is opened for
// append (created with mode 0644) and kept open per path; with reopen it is closed and
// opened again before each write. Writes happen after the response, in order per path,
// and a failure is logged, never the request's. Lines that arrive while a write is in
// flight go out together in the next one: one appendFile (a thread-pool job and a
// promise chain) per line cost about half the gateway's throughput under load in the
// plugin bench (`tollgate-plugin-file-log`), and Kong's own per-line write is a cheap
// synchronous C call this cannot copy without blocking the event loop.
import { open, type FileHandle } from 'node:fs/promises'
import type { Kong } from '@tollgate/sdk'
import type { FileLogConfig } from './schema.js'

interface OpenFile { handle?: FileHandle, chain: Promise<void>, pending: string[] }
const files = new Map<string, OpenFile>()

async function write (f: OpenFile, path: string, reopen: boolean, line: string, warn: (...a: unknown[]) => void): Promise<void> {
  if (f.handle !== undefined && reopen) {
    await f.handle.close().catch(() => {})
    f.handle = undefined
  }
  if (f.handle === undefined) {
    try {
      f.handle = await open(path, 'a', 0o644)
    } catch (err) {
      warn('[file-log] failed to open the file: ', (err as Error).message)
      return
    }
  }
  try {
    await f.handle.appendFile(line)
  } catch (err) {
    warn('[file-log] failed to write to the file: ', (err as Error).message)
    await f.handle.close().catch(() => {})
    f.handle = undefined
  }
}

export function log (kong: Kong, conf: FileLogConfig): void {
  const line = `${JSON.stringify(kong.log.serialize())}\n`
  let f = files.get(conf.path)
  if (f === undefined) files.set(conf.path, f = { chain: Promise.resolve(), pending: [] })
  const file = f
  file.pending.push(line)
  // A write is queued only for the first line waiting: it takes every line waiting when it
  // runs, so the lines that come meanwhile are queued by the next first one.
  if (file.pending.length > 1) return
  const err = kong.log.err.bind(kong.log)
  file.chain = file.chain.then(() => {
    const lines = file.pending.join('')
    file.pending = []
    return write(file, conf.path, conf.reopen, lines, err)
  })
}

/** Files no enabled config names any more are closed. */
export function configure (configs: Array<{ config: FileLogConfig }>): void {
  const used = new Set(configs.map((c) => c.config.path))
  for (const [path, f] of files) {
    if (used.has(path)) continue
    files.delete(path)
    f.chain = f.chain.then(async () => { await f.handle?.close().catch(() => {}) })
  }
}
