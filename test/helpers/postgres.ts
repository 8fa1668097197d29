// A real, throwaway PostgreSQL server for one test file: initdb in a temp dir (as the
// `postgres` user when running as root, since initdb refuses root), pg_ctl on a free
// 127.0.0.1 port with fsync off, stopped by its PID when the test ends. Each test takes a
// database of its own (createDatabase), so one server serves a whole file. pg_ctl runs
// asynchronously, so gateways in the test's own process go on serving while it stops or
// starts the server (an outage under load).

import { spawn, spawnSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import pg from 'pg'
import type { PgSettings } from '../../core/store/pg/settings.js'
import { closedPort, until } from './gateway.js'

/** Where Debian's PostgreSQL binaries are; PG_BINDIR overrides. */
function binDir (): string | undefined {
  if (process.env.PG_BINDIR !== undefined) return process.env.PG_BINDIR
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a))
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin')
}

/**
 * Whether tests that need PostgreSQL can run here. Under CI (CI=true) a missing server
 * fails the test instead: .ci/run installs it, and a silent skip would hide a broken setup.
 */
export function postgresAvailable (t: Test): boolean {
  if (binDir() !== undefined) return true
  if (process.env.CI === 'true') t.fail('PostgreSQL is not installed (CI=true: .ci/run must install postgresql-15)')
  else t.plan(0, 'PostgreSQL is not installed: skipping (apt-get install -y postgresql-15)')
  return false
}

export interface PgServer {
  port: number
  /** Settings for the gateway or a client, on database `database`. */
  settings (database: string, over?: Partial<PgSettings>): PgSettings
  /** The same as configuration keys (TOLLGATE_* environment or overrides). */
  env (database: string): Record<string, string>
  /** Creates an empty database; resolves to its name. */
  createDatabase (name?: string): Promise<string>
  /** A connected client of `database`, closed at test end. */
  client (database?: string): Promise<pg.Client>
  /** pg_ctl stop: `immediate` is a crash (no checkpoint), as when the machine dies. */
  stop (mode?: 'fast' | 'immediate'): Promise<void>
  /** Starts it again on the same port and data. */
  start (): Promise<void>
  pid (): number | undefined
}

let databases = 0

export async function startPostgres (t: Test): Promise<PgServer> {
  const bin = binDir()
  if (bin === undefined) throw new Error('PostgreSQL is not installed')
  const root = process.getuid?.() === 0
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-pg-'))
  const data = join(dir, 'data')
  if (root) {
    const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' })
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' })
    chownSync(dir, Number(id.stdout.trim()), Number(gid.stdout.trim()))
  }
  const run = (cmd: string, args: string[]): Promise<{ status: number | null, output: string }> => new Promise((resolve, reject) => {
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
  const init = await run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C'])
  if (init.status !== 0) throw new Error(`initdb failed: ${init.output}`)
  const port = await closedPort()
  const pidFile = join(data, 'postmaster.pid')
  const pid = (): number | undefined => {
    try { return Number(readFileSync(pidFile, 'utf8').split('\n')[0]) } catch { return undefined }
  }
  const start = async (): Promise<void> => {
    // fsync off: only PostgreSQL ever crashes here, not the machine, so what it wrote is in
    // the OS's cache. synchronous_commit stays on: off, a stop('immediate') loses the commits
    // of the last few hundred ms, which the nodes already copied (the database goes back).
    const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=32MB`
    const r = await run('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '60', '-o', opts, 'start'])
    if (r.status !== 0) throw new Error(`pg_ctl start failed: ${r.output}\n${readLog()}`)
  }
  const readLog = (): string => { try { return readFileSync(join(dir, 'log'), 'utf8').slice(-2000) } catch { return '' } }
  const stop = async (mode: 'fast' | 'immediate' = 'fast'): Promise<void> => {
    if (pid() === undefined) return
    const r = await run('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop'])
    if (r.status !== 0) throw new Error(`pg_ctl stop failed: ${r.output}\n${readLog()}`)
  }
  await start()
  const clients: pg.Client[] = []
  t.teardown(async () => {
    for (const c of clients) await c.end().catch(() => {})
    await stop('immediate').catch(() => {})
    // Whatever pg_ctl could not stop is stopped by its PID.
    const p = pid()
    if (p !== undefined) { try { process.kill(p, 'SIGKILL') } catch {} }
    rmSync(dir, { recursive: true, force: true })
  })
  const settings = (database: string, over: Partial<PgSettings> = {}): PgSettings => ({
    host: '127.0.0.1',
    port,
    user: 'postgres',
    password: '',
    database,
    schema: '',
    ssl: false,
    sslVerify: false,
    timeout: 5000,
    poolSize: 4,
    maxConcurrent: 0,
    updateFrequency: 5,
    ...over,
  })
  const client = async (database = 'postgres'): Promise<pg.Client> => {
    const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database })
    c.on('error', () => {})
    await c.connect()
    clients.push(c)
    return c
  }
  const admin = await client()
  await until(async () => { try { await admin.query('SELECT 1'); return true } catch { return false } }, `PostgreSQL on port ${port} to answer`)
  return {
    port,
    settings,
    env: (database) => ({ TOLLGATE_DATABASE: 'postgres', TOLLGATE_PG_HOST: '127.0.0.1', TOLLGATE_PG_PORT: String(port), TOLLGATE_PG_USER: 'postgres', TOLLGATE_PG_DATABASE: database }),
    createDatabase: async (name = `t${process.pid}_${++databases}`) => {
      // A client of its own, closed at once: a file creates many databases.
      const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' })
      c.on('error', () => {})
      await c.connect()
      try {
        await c.query(`CREATE DATABASE "${name}"`)
      } finally {
        await c.end().catch(() => {})
      }
      return name
    },
    client,
    stop,
    start,
    pid,
  }
}
