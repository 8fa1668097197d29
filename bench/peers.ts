// The benchmark's own dependencies (bench/package.json: autocannon and the peer gateways)
// live outside the gateway's install: a user running Tollgate never needs express-gateway's
// 800 packages. The first bench run installs them from bench/package-lock.json.

import { execFileSync } from 'node:child_process'
import { closeSync, existsSync, openSync, readFileSync, statSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const BENCH = fileURLToPath(new URL('.', import.meta.url))
const LOCK = join(BENCH, 'package-lock.json')
// npm writes this after every install; it matches the lockfile's packages when they are in place.
const INSTALLED = join(BENCH, 'node_modules', '.package-lock.json')
const GUARD = join(BENCH, 'node_modules.installing')

function installed (): boolean {
  if (!existsSync(INSTALLED)) return false
  try {
    const want = (JSON.parse(readFileSync(LOCK, 'utf8')) as { packages: Record<string, { version?: string }> }).packages
    const have = (JSON.parse(readFileSync(INSTALLED, 'utf8')) as { packages: Record<string, { version?: string }> }).packages
    return Object.entries(want).every(([k, v]) => k === '' || have[k]?.version === v.version || (v as { optional?: boolean }).optional === true)
  } catch { return false }
}

const sleep = (ms: number): void => { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms) }

/**
 * Installs bench/package.json's dependencies when they are missing or stale. Two bench runs
 * starting at once (the test suite runs two files at a time) take turns: one installs, the
 * other waits for it.
 */
export function ensurePeers (log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): void {
  if (installed()) return
  for (;;) {
    let fd: number
    try {
      fd = openSync(GUARD, 'wx')
    } catch {
      // Someone else installs; a guard older than 10 minutes is a crashed install's.
      try { if (Date.now() - statSync(GUARD).mtimeMs > 600_000) unlinkSync(GUARD) } catch {}
      sleep(500)
      if (installed()) return
      continue
    }
    try {
      if (installed()) return
      log('bench: installing its peers and load generator into bench/node_modules (first run; bench/package.json)')
      execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: BENCH, stdio: ['ignore', 'ignore', 'inherit'] })
      return
    } finally {
      closeSync(fd)
      unlinkSync(GUARD)
    }
  }
}

/** What the bench reads of an autocannon result. */
export interface CannonResult {
  requests: { average: number, total: number }
  latency: { p50: number, p99: number }
  errors: number
  timeouts: number
  non2xx: number
}
type Cannon = (opts: { url: string, headers?: Record<string, string> | undefined, connections: number, duration: number, pipelining: number }) => Promise<CannonResult>

/**
 * autocannon, from bench/node_modules. Imported by a computed name, so that type-checking the
 * gateway (tsc -b) does not need the bench's packages installed.
 */
export async function autocannon (): Promise<Cannon> {
  ensurePeers()
  const name = 'autocannon'
  return ((await import(name)) as { default: Cannon }).default
}

if (process.argv[1] === fileURLToPath(import.meta.url)) ensurePeers()
