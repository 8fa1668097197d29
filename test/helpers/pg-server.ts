// A throwaway PostgreSQL server, without tap: used by test/helpers/postgres.ts (which ties
// it to a test's teardown) and by bench/postgres.ts. initdb in a temp dir (as the
// `postgres` user when running as root, since initdb refuses root), pg_ctl on a free
// 127.0.0.1 port with fsync off; `destroy` stops it (by PID if pg_ctl cannot) and removes
// the directory.

import { spawn, spawnSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Where Debian's PostgreSQL binaries are (the newest version installed); PG_BINDIR overrides. */
export function pgBinDir (): string | undefined {
  if (process.env.PG_BINDIR !== undefined) return process.env.PG_BINDIR
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a))
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin')
}

/** A port on 127.0.0.1 nothing listens on (bound, then closed). */
async function freePort (): Promise<number> {
  const s = createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const port = (s.address() as AddressInfo).port
  await new Promise<void>((resolve) => s.close(() => resolve()))
  return port
}

export interface PgProcess {
  port: number
  /** The temp directory: data, log and the Unix socket. */
  dir: string
  /**
   * pg_ctl stop: `immediate` is a crash (no checkpoint), as when the machine dies. Runs
   * asynchronously, so gateways in the caller's own process go on serving meanwhile.
   */
  stop (mode?: 'fast' | 'immediate'): Promise<void>
  /** Starts it again on the same port and data. */
  start (): Promise<void>
  pid (): number | undefined
  /** Runs one of the server's binaries (psql, createdb, ...) as its owner. */
  run (cmd: string, args: string[]): { status: number | null, output: string }
  /** Stops it (a crash stop, then SIGKILL if need be) and removes its directory. */
  destroy (): void
}

/** initdb and start; superuser `postgres`, trust authentication, on 127.0.0.1 only. */
export async function launchPostgres (opts: { maxConnections?: number } = {}): Promise<PgProcess> {
  const bin = pgBinDir()
  if (bin === undefined) throw new Error('PostgreSQL is not installed (Debian: apt-get install -y postgresql-15)')
  const root = process.getuid?.() === 0
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-pg-'))
  const data = join(dir, 'data')
  if (root) {
    const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' })
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' })
    chownSync(dir, Number(id.stdout.trim()), Number(gid.stdout.trim()))
  }
  const run = (cmd: string, args: string[]): { status: number | null, output: string } => {
    const r = root
      ? spawnSync('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args], { encoding: 'utf8' })
      : spawnSync(join(bin, cmd), args, { encoding: 'utf8' })
    return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}` }
  }
  const runAsync = (cmd: string, args: string[]): Promise<{ status: number | null, output: string }> => new Promise((resolve, reject) => {
    const child = root
      ? spawn('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(join(bin, cmd), args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (d: Buffer) => { output += d.toString() })
    child.stderr.on('data', (d: Buffer) => { output += d.toString() })
    child.once('error', reject)
    // 'close': the output is all read (pg_ctl start leaves the server holding no pipe of it).
    child.once('close', (status) => resolve({ status, output }))
  })
  const init = run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C'])
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true })
    throw new Error(`initdb failed: ${init.output}`)
  }
  const port = await freePort()
  const pidFile = join(data, 'postmaster.pid')
  const pid = (): number | undefined => {
    try { return Number(readFileSync(pidFile, 'utf8').split('\n')[0]) } catch { return undefined }
  }
  const readLog = (): string => { try { return readFileSync(join(dir, 'log'), 'utf8').slice(-2000) } catch { return '' } }
  const start = async (): Promise<void> => {
    // fsync off: only PostgreSQL ever crashes here, not the machine, so what it wrote is in
    // the OS's cache. synchronous_commit stays on: off, a stop('immediate') loses the commits
    // of the last few hundred ms, which the nodes already copied (the database goes back).
    const o = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=${opts.maxConnections ?? 200} -c shared_buffers=32MB`
    const r = await runAsync('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '60', '-o', o, 'start'])
    if (r.status !== 0) throw new Error(`pg_ctl start failed: ${r.output}\n${readLog()}`)
  }
  const stop = async (mode: 'fast' | 'immediate' = 'fast'): Promise<void> => {
    if (pid() === undefined) return
    const r = await runAsync('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop'])
    if (r.status !== 0) throw new Error(`pg_ctl stop failed: ${r.output}\n${readLog()}`)
  }
  const destroy = (): void => {
    if (pid() !== undefined) run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', '-t', '60', 'stop'])
    // Whatever pg_ctl could not stop is stopped by its PID.
    const p = pid()
    if (p !== undefined) { try { process.kill(p, 'SIGKILL') } catch {} }
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await start()
  } catch (err) {
    destroy()
    throw err
  }
  return { port, dir, stop, start, pid, run, destroy }
}
