// `npm run bench -- --only declarative` (or `npm run bench:declarative`): how long a DB-less
// node takes to load a large declarative configuration (10,000 services, 10,000 routes,
// 100,000 consumers each with a key-auth key: issue #18's target is under 20 s), and
// whether its proxy keeps serving the old configuration, whole, until the new one is.
//
// For each worker_processes setting and round:
//   1. `tollgate start` with database = off and a small configuration (route /old);
//   2. POST /config with the large file while two probe loops run: each asks /old, /r0 and
//      /r9999 in turn on its own connection and classifies what it saw as the old
//      configuration, the new one, the switch falling between two of its requests, or a
//      mix no atomic switch can give (which must never happen); every answer's latency is
//      kept, as the proxy's stall;
//   3. the load time is the POST's, from sending to the 201 (parse, checks, one LMDB
//      transaction, and Kong's answer: every entity as stored, 50 MB of JSON).
// It also times a cold start on the large file (declarative_config), spawn to listening.
// Only 127.0.0.1 is ever a target; every run is bounded (a POST or start over 120 s fails).

import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Client, request } from 'undici'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    services: { type: 'string', default: '10000' },
    consumers: { type: 'string', default: '100000' },
    workers: { type: 'string', default: '1,2' },
  },
})
const ROUNDS = Number(opts.rounds)
const SERVICES = Number(opts.services)
const CONSUMERS = Number(opts.consumers)
const LIMIT_MS = 120_000

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s.length === 0 ? NaN : (s[Math.floor((s.length - 1) / 2)]! + s[Math.ceil((s.length - 1) / 2)]!) / 2 }
const pct = (xs: number[], p: number): number => { const s = [...xs].sort((a, b) => a - b); return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(s.length * p))]! }
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`

/** The large file: every service with one route, every consumer with one key, YAML as people write it. */
function bigConfig (upstreamPort: number): string {
  const out = ['_format_version: "3.0"', 'services:']
  for (let i = 0; i < SERVICES; i++) {
    out.push(`- name: svc-${i}`, `  url: http://127.0.0.1:${upstreamPort}/s${i}`, '  routes:', `  - name: route-${i}`, `    paths: [/r${i}]`)
  }
  out.push('consumers:')
  for (let i = 0; i < CONSUMERS; i++) out.push(`- username: user-${i}`, '  keyauth_credentials:', `  - key: key-${i}-${i.toString(36).padStart(8, '0')}`)
  return `${out.join('\n')}\n`
}

const smallConfig = (upstreamPort: number): string => `_format_version: "3.0"
services:
- name: old
  url: http://127.0.0.1:${upstreamPort}/old
  routes:
  - name: old
    paths: [/old]
`

interface Gateway { child: ChildProcess, proxy: string, admin: string, exited: Promise<void> }

async function startGateway (prefix: string, env: Record<string, string>): Promise<{ gw: Gateway, ms: number }> {
  const t0 = performance.now()
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'tollgate.js'), 'start', '--prefix', prefix], {
    env: { ...process.env, TOLLGATE_PROXY_LISTEN: '127.0.0.1:0', TOLLGATE_ADMIN_LISTEN: '127.0.0.1:0', TOLLGATE_ADMIN_GUI_LISTEN: 'off', TOLLGATE_LOG_LEVEL: 'info', TOLLGATE_DATABASE: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return await new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`start took over ${LIMIT_MS} ms`)) }, LIMIT_MS)
    child.stderr!.on('data', (d: Buffer) => { out += d.toString() })
    const early = (code: number | null): void => { clearTimeout(timer); reject(new Error(`tollgate exited (${String(code)}): ${out}`)) }
    child.once('exit', early)
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const line = out.split('\n').find((l) => l.includes('"tollgate started"'))
      if (line === undefined) return
      clearTimeout(timer)
      child.off('exit', early)
      const m = JSON.parse(line) as { proxy: string[], admin: string[] }
      resolve({ gw: { child, proxy: `http://${m.proxy[0]!}`, admin: `http://${m.admin[0]!}`, exited }, ms: performance.now() - t0 })
    })
  })
}

async function stop (gw: Gateway): Promise<void> {
  gw.child.kill('SIGTERM')
  await gw.exited
}

async function status (client: Client, path: string): Promise<{ status: number, ms: number }> {
  const t0 = performance.now()
  try {
    const res = await client.request({ method: 'GET', path, headersTimeout: LIMIT_MS, bodyTimeout: LIMIT_MS })
    await res.body.dump()
    return { status: res.statusCode, ms: performance.now() - t0 }
  } catch {
    return { status: 0, ms: performance.now() - t0 }
  }
}

interface Round { loadMs: number, probes: number, old: number, fresh: number, switching: number, mixed: number, failed: number, p50: number, p99: number, max: number }

async function postRound (prefix: string, workers: number, big: string, upstreamPort: number): Promise<Round> {
  const { gw } = await startGateway(prefix, { TOLLGATE_WORKER_PROCESSES: String(workers), TOLLGATE_DECLARATIVE_CONFIG_STRING: smallConfig(upstreamPort) })
  try {
    let loading = true
    const seen = { probes: 0, old: 0, fresh: 0, switching: 0, mixed: 0, failed: 0 }
    const latencies: number[] = []
    // One connection per probe loop, so each loop asks one process: /old, /r0, /r<last> in
    // that order. An atomic switch shows the old answers, the new ones, or the switch falling
    // between two of the three (/old 200 then /r0 or /r<last> 200): never /r0 without /r<last>.
    const probe = async (): Promise<void> => {
      const client = new Client(gw.proxy)
      try {
        while (loading) {
          const o = await status(client, '/old')
          const a = await status(client, '/r0')
          const z = await status(client, `/r${SERVICES - 1}`)
          latencies.push(o.ms, a.ms, z.ms)
          seen.probes++
          const codes = `${o.status} ${a.status} ${z.status}`
          if ([o.status, a.status, z.status].some((c) => c === 0 || c >= 500)) seen.failed++
          else if (codes === '200 404 404') seen.old++
          else if (codes === '404 200 200') seen.fresh++
          else if (codes === '200 200 200' || codes === '200 404 200') seen.switching++
          else seen.mixed++
        }
      } finally {
        await client.close()
      }
    }
    const probes = [probe(), probe()]
    const t0 = performance.now()
    const res = await request(`${gw.admin}/config`, { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: big, headersTimeout: LIMIT_MS, bodyTimeout: LIMIT_MS })
    await res.body.dump()
    const loadMs = performance.now() - t0
    if (res.statusCode !== 201) throw new Error(`POST /config answered ${res.statusCode}`)
    // A little longer, so the switch itself is seen from every worker.
    const until = performance.now() + 2000
    while (performance.now() < until) await new Promise((resolve) => setTimeout(resolve, 50))
    loading = false
    await Promise.all(probes)
    return { loadMs, ...seen, p50: pct(latencies, 0.5), p99: pct(latencies, 0.99), max: latencies.reduce((a, b) => Math.max(a, b), 0) }
  } finally {
    await stop(gw)
  }
}

async function main (): Promise<void> {
  const upstream = createServer((req, res) => { res.setHeader('content-type', 'application/json'); res.end('{"ok":true}') })
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  const upstreamPort = (upstream.address() as AddressInfo).port
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-declarative-'))
  try {
    const big = bigConfig(upstreamPort)
    const file = join(dir, 'kong.yml')
    writeFileSync(file, big)
    process.stderr.write(`declarative: ${SERVICES} services + ${SERVICES} routes + ${CONSUMERS} consumers with keys (${(big.length / 1048576).toFixed(1)} MB YAML), ${ROUNDS} rounds\n`)

    const lines = [
      '| workers | POST /config load (median) | rounds | probes | old config | new config | at the switch | mixed | failed | probe latency p50 / p99 / max |',
      '|---:|---:|---|---:|---:|---:|---:|---:|---:|---|',
    ]
    for (const workers of String(opts.workers).split(',').map(Number)) {
      const rounds: Round[] = []
      for (let r = 0; r < ROUNDS; r++) {
        rmSync(join(dir, 'prefix'), { recursive: true, force: true })
        const round = await postRound(join(dir, 'prefix'), workers, big, upstreamPort)
        process.stderr.write(`  workers ${workers} round ${r + 1}: load ${secs(round.loadMs)}; probes ${round.probes} (old ${round.old}, new ${round.fresh}, at the switch ${round.switching}, mixed ${round.mixed}, failed ${round.failed}); latency max ${round.max.toFixed(0)} ms\n`)
        rounds.push(round)
      }
      const sum = (k: keyof Round): number => rounds.reduce((a, x) => a + x[k], 0)
      lines.push(`| ${workers} | ${secs(median(rounds.map((x) => x.loadMs)))} | ${rounds.map((x) => secs(x.loadMs)).join(', ')} | ${sum('probes')} | ${sum('old')} | ${sum('fresh')} | ${sum('switching')} | ${sum('mixed')} | ${sum('failed')} | ${median(rounds.map((x) => x.p50)).toFixed(1)} / ${median(rounds.map((x) => x.p99)).toFixed(0)} / ${Math.max(...rounds.map((x) => x.max)).toFixed(0)} ms |`)
    }

    const starts: number[] = []
    for (let r = 0; r < ROUNDS; r++) {
      rmSync(join(dir, 'prefix'), { recursive: true, force: true })
      const { gw, ms } = await startGateway(join(dir, 'prefix'), { TOLLGATE_DECLARATIVE_CONFIG: file })
      const client = new Client(gw.proxy)
      const served = await status(client, `/r${SERVICES - 1}`)
      await client.close()
      await stop(gw)
      if (served.status !== 200) throw new Error(`after a start on the file, /r${SERVICES - 1} answered ${served.status}`)
      starts.push(ms)
    }
    lines.push('', `Cold start on the file (declarative_config, worker_processes 1, spawn to listening): median ${secs(median(starts))} (${starts.map(secs).join(', ')})`)
    lines.push(`Target: a load under 20 s, the proxy serving the old configuration whole until the new one is (mixed = 0, failed = 0).`)
    process.stdout.write(`\n${lines.join('\n')}\n`)
  } finally {
    upstream.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

main().then(() => process.exit(0), (err: unknown) => { process.stderr.write(`${(err as Error).stack ?? String(err)}\n`); process.exit(1) })
