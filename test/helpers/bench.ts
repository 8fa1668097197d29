// Running a bench script as a smoke test: its output, and whether anything it started
// (gateways, nginx, PostgreSQL) outlived it.

import { spawn } from 'node:child_process'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { connect } from 'node:net'
import { fileURLToPath } from 'node:url'
import { ensurePeers } from '../../bench/peers.js'

export interface BenchRun { code: number | null, stdout: string, stderr: string, marker: string }

/**
 * Runs bench/`name` with `args` (killed after 90 s). Every process it starts inherits
 * BENCH_SMOKE_RUN=`marker`, which `leftovers` looks for.
 */
export function runBench (name: string, args: string[]): Promise<BenchRun> {
  const script = fileURLToPath(new URL(`../../bench/${name}`, import.meta.url))
  // Installed here, not inside the run, so that the first install does not count against its 90 s.
  ensurePeers()
  const marker = `${process.pid}-${Date.now()}`
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BENCH_SMOKE_RUN: marker } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000)
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr, marker }) })
  })
}

/** The processes (pid and command line) a bench run started that are still running; [] without /proc. */
export function leftovers (run: BenchRun): string[] {
  if (!existsSync('/proc/self/environ')) return []
  const left: string[] = []
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`BENCH_SMOKE_RUN=${run.marker}`)) left.push(`${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ')}`)
    } catch {}
  }
  return left
}

/** Whether nothing listens on 127.0.0.1:`port` any more. */
export function portClosed (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1')
    s.once('connect', () => { s.destroy(); resolve(false) })
    s.once('error', () => resolve(true))
  })
}
