// file-log (Kong's kong/plugins/file-log/handler.lua): in the log phase, the request's
// kong.log.serialize() as one JSON line appended to conf.path. The file is opened for
// append (created with mode 0644) and kept open per path; with reopen it is closed and
// opened again before each line. Writes happen after the response, in order per path,
// and a failure is logged, never the request's.
import { open, type FileHandle } from 'node:fs/promises'
import type { Kong } from '@tollgate/sdk'
import type { FileLogConfig } from './schema.js'

interface OpenFile { handle?: FileHandle, chain: Promise<void> }
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
  if (f === undefined) files.set(conf.path, f = { chain: Promise.resolve() })
  const file = f
  const err = kong.log.err.bind(kong.log)
  file.chain = file.chain.then(() => write(file, conf.path, conf.reopen, line, err))
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
