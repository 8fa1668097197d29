import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import type { Test } from 'tap'
import { Redis } from 'ioredis'
import { closedPort, until } from './gateway.js'

export interface RedisServer {
  port: number
  child: ChildProcess
  /** A client of this server (database `db`), closed at test end. */
  client (db?: number, password?: string): Redis
  /** Kills the server (SIGKILL) and waits for it to be gone. */
  kill (): Promise<void>
}

/**
 * Whether tests that need redis-server can run here. Under CI (CI=true) a missing binary
 * fails the test instead: .ci/run installs it, and a silent skip would hide a broken setup.
 */
export function redisAvailable (t: Test): boolean {
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0) return true
  if (process.env.CI === 'true') {
    t.fail('redis-server is not installed (CI=true: .ci/run must install it)')
  } else {
    t.plan(0, 'redis-server is not installed: skipping the Redis tests (apt-get install -y redis-server)')
  }
  return false
}

/**
 * Starts a real redis-server on a free 127.0.0.1 port, with nothing saved to disk, and
 * resolves once it answers PING. Killed by its PID when the test ends.
 */
export async function startRedis (t: Test, opts: { password?: string } = {}): Promise<RedisServer> {
  const port = await closedPort()
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']
  if (opts.password !== undefined) args.push('--requirepass', opts.password)
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout?.on('data', (d: Buffer) => { output += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { output += d.toString() })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const clients: Redis[] = []
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      process.kill(child.pid, 'SIGKILL')
      await exited
    }
  }
  t.teardown(async () => {
    for (const c of clients) c.disconnect()
    await kill()
  })
  const client = (db = 0, password = opts.password): Redis => {
    const c = new Redis({ host: '127.0.0.1', port, db, password, lazyConnect: false, maxRetriesPerRequest: 1 })
    c.on('error', () => {})
    clients.push(c)
    return c
  }
  const probe = client()
  await until(async () => {
    if (child.exitCode !== null) throw new Error(`redis-server exited: ${output}`)
    try { return (await probe.ping()) === 'PONG' } catch { return false }
  }, `redis-server on port ${port} to answer PING`)
  return { port, child, client, kill }
}
