// `npm run bench -- --only postgres` (or `npm run bench:postgres`): what database = postgres
// costs against database = lmdb (issue #19). Starts a throwaway PostgreSQL 15 on 127.0.0.1
// (test/helpers/pg-server.ts), bootstraps it with `tollgate migrations bootstrap`, and runs
// three gateways with `tollgate start`: L (database = lmdb) and A and B (database = postgres,
// one database), each with one service and route (/bench) to a local upstream.
//
//   1. Proxy throughput, L against A: the same set-up and worker_processes, wrk (or
//      autocannon) on /bench, rounds alternating L A A L L A ..., medians and the ratio.
//      Half way through, both are restarted in the other order (A first). The proxy reads
//      the local LMDB copy in both modes: target A / L >= 0.97.
//   2. Admin API write latency: --writes sequential POST /consumers on L and on A, in
//      alternating batches of 50; p50 and p99 of each.
//   3. Propagation: --changes routes created one at a time on A's Admin API; for each, the
//      time from A's 201 (and from sending the POST) until B's proxy routes it (200).
//      Target: p99 under 1 s.
//   4. PostgreSQL connections held per node (pg_stat_activity by application_name).
//
// Prints a markdown summary and writes a JSON file to bench/results/. Only 127.0.0.1 is a
// target; every step is bounded, and the whole run by --limit seconds.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { Client } from 'undici'
import { launchPostgres, pgBinDir, type PgProcess } from '../test/helpers/pg-server.js'
import { parseWrk, type LoadResult } from './wrk.js'
import { autocannon } from './peers.js'
import { cpuSeconds, descendants } from './proc.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const { values: opts } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '50' },
    workers: { type: 'string', default: '1' },
    writes: { type: 'string', default: '500' },
    changes: { type: 'string', default: '100' },
    loader: { type: 'string', default: 'auto' },
    'no-pin': { type: 'boolean', default: false },
    limit: { type: 'string', default: '600' },
    out: { type: 'string', default: join(ROOT, 'bench', 'results') },
  },
})
const DURATION = Number(opts.duration)
const ROUNDS = Number(opts.rounds)
const WARMUP = Number(opts.warmup)
const CONNECTIONS = Number(opts.connections)
const WORKERS = Number(opts.workers)
const WRITES = Number(opts.writes)
const CHANGES = Number(opts.changes)
const STEP_MS = 60_000
const which = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0
if (!['auto', 'wrk', 'autocannon'].includes(opts.loader as string)) {
  process.stderr.write(`--loader must be auto, wrk or autocannon (got '${String(opts.loader)}')\n`)
  process.exit(2)
}
const LOADER: 'wrk' | 'autocannon' = opts.loader === 'autocannon' ? 'autocannon' : opts.loader === 'wrk' || which('wrk') ? 'wrk' : 'autocannon'
// As bench/run.ts: the gateway on CPU 0, upstream and load generator on CPU 1; with several
// workers the gateway is not pinned. PostgreSQL is never pinned.
// Counted once, before main() pins this process: availableParallelism() follows this
// process's affinity, so afterwards it says 1.
const CPUS = availableParallelism()
const PIN = opts['no-pin'] !== true && which('taskset') && CPUS >= 2

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s.length === 0 ? NaN : (s[Math.floor((s.length - 1) / 2)]! + s[Math.ceil((s.length - 1) / 2)]!) / 2 }
const pct = (xs: number[], p: number): number => { const s = [...xs].sort((a, b) => a - b); return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.ceil(s.length * p) - 1)]! }
const f1 = (n: number): string => n.toFixed(1)
const ms = (n: number): string => Number.isInteger(n) ? String(n) : n.toFixed(2)
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

// --- processes ------------------------------------------------------------------------

const children: ChildProcess[] = []
const dirs: string[] = []
let server: PgProcess | undefined

function cleanUp (): void {
  for (const c of children) {
    if (c.pid === undefined || c.exitCode !== null) continue
    for (const pid of [c.pid, ...descendants(c.pid)]) { try { process.kill(pid, 'SIGKILL') } catch {} }
  }
  children.length = 0
  server?.destroy()
  server = undefined
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
}
process.on('exit', cleanUp)
process.on('SIGINT', () => process.exit(130))
process.on('SIGTERM', () => process.exit(143))

function freePort (): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => { const { port } = s.address() as AddressInfo; s.close(() => resolve(port)) })
  })
}

/**
 * `cmd args`, on CPU `cpu` when pinning; -1: on any CPU (said explicitly: a child inherits
 * this process's affinity, CPU 1 once it has pinned itself).
 */
function spawnOn (cpu: number, cmd: string, args: string[], options: Parameters<typeof spawn>[2]): ChildProcess {
  const cpus = cpu >= 0 ? String(cpu) : `0-${CPUS - 1}`
  const child = PIN ? spawn('taskset', ['-c', cpus, cmd, ...args], options) : spawn(cmd, args, options)
  children.push(child)
  return child
}

interface Gateway { name: string, child: ChildProcess, proxy: string, admin: string, prefix: string, env: Record<string, string> }

/** `tollgate start` under a new prefix (or `prefix`, again); resolves once it logs its addresses. */
async function startGateway (name: string, env: Record<string, string>, prefix?: string): Promise<Gateway> {
  if (prefix === undefined) {
    prefix = mkdtempSync(join(tmpdir(), `tollgate-bench-pg-${name}-`))
    dirs.push(prefix)
  }
  const at = prefix
  const child = spawnOn(WORKERS > 1 ? -1 : 0, process.execPath, [join(ROOT, 'bin', 'tollgate.js'), 'start', '--prefix', prefix], {
    cwd: ROOT,
    env: { ...process.env, TOLLGATE_PROXY_LISTEN: '127.0.0.1:0', TOLLGATE_ADMIN_LISTEN: '127.0.0.1:0', TOLLGATE_ADMIN_GUI_LISTEN: 'off', TOLLGATE_LOG_LEVEL: 'info', TOLLGATE_WORKER_PROCESSES: String(WORKERS), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  return await new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${STEP_MS} ms: ${out}`)), STEP_MS)
    const early = (code: number | null): void => { clearTimeout(timer); reject(new Error(`${name} exited (${String(code)}): ${out}`)) }
    child.once('exit', early)
    child.stderr!.on('data', (d: Buffer) => { if (out.length < 100_000) out += d.toString() })
    child.stdout!.on('data', (d: Buffer) => {
      if (out.length < 100_000) out += d.toString()
      const line = out.split('\n').find((l) => l.includes('"tollgate started"'))
      if (line === undefined) return
      clearTimeout(timer)
      child.off('exit', early)
      out = '' // read on, discarded, so the pipe never fills
      const m = JSON.parse(line) as { proxy: string[], admin: string[] }
      resolve({ name, child, proxy: `http://${m.proxy[0]!}`, admin: `http://${m.admin[0]!}`, prefix: at, env })
    })
  })
}

async function stopGateway (gw: Gateway): Promise<void> {
  if (gw.child.exitCode !== null) return
  const exited = new Promise<void>((resolve) => gw.child.once('exit', () => resolve()))
  gw.child.kill('SIGTERM')
  await Promise.race([exited, sleep(15_000)])
}

/** One Admin API (or proxy) call on a keep-alive client; resolves to status and JSON body. */
async function call (client: Client, method: string, path: string, body?: unknown): Promise<{ status: number, body: any }> {
  const res = await client.request({
    method: method as 'GET',
    path,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  })
  const text = await res.body.text()
  let parsed: unknown = text
  try { parsed = JSON.parse(text) } catch {}
  return { status: res.statusCode, body: parsed }
}

async function admin$ (gw: Gateway, method: string, path: string, body?: unknown): Promise<any> {
  const client = new Client(gw.admin)
  try {
    const r = await call(client, method, path, body)
    if (r.status >= 300) throw new Error(`${gw.name}: ${method} ${path} answered ${r.status} ${JSON.stringify(r.body)}`)
    return r.body
  } finally {
    await client.close()
  }
}

async function until (what: string, cond: () => Promise<boolean>, ms = STEP_MS): Promise<void> {
  const end = Date.now() + ms
  while (!(await cond().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

async function proxyStatus (gw: Gateway, path: string): Promise<number> {
  const client = new Client(gw.proxy)
  try { return (await call(client, 'GET', path)).status } finally { await client.close() }
}

// --- load -----------------------------------------------------------------------------

interface Run extends LoadResult { cpuUsPerReq?: number }

async function load (gw: Gateway, seconds: number): Promise<Run> {
  const url = `${gw.proxy}/bench`
  const cpu0 = cpuSeconds(gw.child.pid)
  let r: LoadResult
  if (LOADER === 'wrk') {
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawnOn(1, 'wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', '--timeout', '10s', url], { stdio: ['ignore', 'pipe', 'pipe'] })
      let text = ''
      child.stdout!.on('data', (d: Buffer) => { text += d.toString() })
      child.stderr!.on('data', (d: Buffer) => { text += d.toString() })
      child.on('error', reject)
      child.on('close', (code) => code === 0 ? resolve(text) : reject(new Error(`wrk exited with ${String(code)}: ${text}`)))
    })
    r = parseWrk(out)
  } else {
    const result = await (await autocannon())({ url, connections: CONNECTIONS, duration: seconds, pipelining: 1 })
    r = { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.timeouts + result.non2xx, total: result.requests.total }
  }
  const cpu1 = cpuSeconds(gw.child.pid)
  return { ...r, cpuUsPerReq: cpu0 === undefined || cpu1 === undefined || r.total === 0 ? undefined : (cpu1 - cpu0) * 1e6 / r.total }
}

// --- the bench ------------------------------------------------------------------------

async function main (): Promise<void> {
  const limit = setTimeout(() => { process.stderr.write(`postgres bench: over --limit ${String(opts.limit)} s, stopping\n`); process.exit(1) }, Number(opts.limit) * 1000)
  limit.unref()
  if (pgBinDir() === undefined) {
    process.stderr.write('postgres bench: PostgreSQL is not installed (Debian: apt-get install -y postgresql-15; or set PG_BINDIR)\n')
    process.exit(2)
  }
  const t0 = performance.now()
  server = await launchPostgres()
  const pgMs = performance.now() - t0
  const database = 'tollgate_bench'
  const su = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'postgres', database: 'postgres' })
  su.on('error', () => {})
  await su.connect()
  await su.query(`CREATE DATABASE ${database}`)
  const pgEnv = { TOLLGATE_DATABASE: 'postgres', TOLLGATE_PG_HOST: '127.0.0.1', TOLLGATE_PG_PORT: String(server.port), TOLLGATE_PG_USER: 'postgres', TOLLGATE_PG_DATABASE: database }
  const boot = spawnSync(process.execPath, [join(ROOT, 'bin', 'tollgate.js'), 'migrations', 'bootstrap'], { cwd: ROOT, env: { ...process.env, ...pgEnv }, encoding: 'utf8', timeout: STEP_MS })
  if (boot.status !== 0) throw new Error(`tollgate migrations bootstrap failed: ${boot.stdout}${boot.stderr}`)

  // Later children are pinned by taskset; this process (and autocannon in it) joins CPU 1.
  if (PIN) spawnSync('taskset', ['-p', '-c', '1', String(process.pid)])
  const upstreamPort = await freePort()
  let upstreamKind = 'node'
  if (which('nginx')) {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-pg-nginx-'))
    dirs.push(dir)
    mkdirSync(join(dir, 'logs'))
    writeFileSync(join(dir, 'nginx.conf'), `worker_processes 1; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/logs/error.log;
events { worker_connections 4096; }
http { access_log off; server { listen 127.0.0.1:${upstreamPort}; location / { default_type application/json; return 200 '{"hello":"world"}'; } } }`)
    spawnOn(1, 'nginx', ['-p', dir, '-c', 'nginx.conf'], { stdio: 'ignore' })
    upstreamKind = 'nginx'
  } else {
    spawnOn(1, process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'contestants', 'upstream.ts'), String(upstreamPort)], { cwd: ROOT, stdio: 'ignore' })
  }
  const upstream = `http://127.0.0.1:${upstreamPort}`
  await until('the upstream', async () => { const c = new Client(upstream); try { return (await call(c, 'GET', '/')).status === 200 } finally { await c.close() } })

  const loader = LOADER === 'wrk' ? 'wrk (1 thread)' : `autocannon${which('wrk') ? '' : ' (no wrk on PATH)'}`
  process.stderr.write(`postgres bench: PostgreSQL ${server.port} (started in ${(pgMs / 1000).toFixed(1)} s); upstream ${upstreamKind}; load ${loader}, ${CONNECTIONS} connections, ${DURATION} s x ${ROUNDS} rounds; worker_processes ${WORKERS}; pinning ${PIN ? (WORKERS > 1 ? 'upstream and load on cpu 1, gateways unpinned' : 'gateway cpu 0, upstream and load cpu 1') : 'off'}\n`)

  let lmdb = await startGateway('lmdb', { TOLLGATE_DATABASE: 'lmdb' })
  let a = await startGateway('pg-a', pgEnv)
  const b = await startGateway('pg-b', pgEnv)
  for (const gw of [lmdb, a]) {
    await admin$(gw, 'POST', '/services', { name: 'bench', url: upstream })
    await admin$(gw, 'POST', '/services/bench/routes', { name: 'bench', paths: ['/bench'] })
  }
  for (const gw of [lmdb, a, b]) await until(`${gw.name} to route /bench`, async () => await proxyStatus(gw, '/bench') === 200)

  // 1. Throughput. In trials on this shared machine, which of the two gateways was started
  // first seemed to move CPU per request by up to 15%, so half way through both are
  // restarted (on the same prefixes) in the other order, and each half is reported.
  const runs: Record<'lmdb' | 'postgres', Run[]> = { lmdb: [], postgres: [] }
  let pair: Array<['lmdb' | 'postgres', Gateway]> = [['lmdb', lmdb], ['postgres', a]]
  const half = ROUNDS >= 2 ? Math.ceil(ROUNDS / 2) : ROUNDS
  if (WARMUP > 0) for (const [, gw] of pair) await load(gw, WARMUP)
  for (let round = 0; round < ROUNDS; round++) {
    if (round === half) {
      await Promise.all([stopGateway(lmdb), stopGateway(a)])
      a = await startGateway(a.name, a.env, a.prefix)
      lmdb = await startGateway(lmdb.name, lmdb.env, lmdb.prefix)
      pair = [['lmdb', lmdb], ['postgres', a]]
      for (const gw of [lmdb, a]) await until(`${gw.name} to route /bench again`, async () => await proxyStatus(gw, '/bench') === 200)
      process.stderr.write('  restarted both, postgres first\n')
      if (WARMUP > 0) for (const [, gw] of pair) await load(gw, WARMUP)
    }
    // L A, A L, L A...: whichever runs second in a round runs first in the next.
    for (const [mode, gw] of round % 2 === 0 ? pair : [...pair].reverse()) {
      const r = await load(gw, DURATION)
      runs[mode].push(r)
      process.stderr.write(`  round ${round + 1}/${ROUNDS} ${mode}: ${Math.round(r.rps)} req/s, p99 ${r.p99} ms${r.cpuUsPerReq === undefined ? '' : `, ${f1(r.cpuUsPerReq)} us CPU/req`}${r.errors > 0 ? `, ${r.errors} errors` : ''}\n`)
    }
  }

  // 2. Admin API writes, in alternating batches so drift on the machine hits both alike.
  const writes: Record<'lmdb' | 'postgres', number[]> = { lmdb: [], postgres: [] }
  const writeFailures: string[] = []
  const clients = { lmdb: new Client(lmdb.admin), postgres: new Client(a.admin) }
  for (let done = 0; done < WRITES; done += 50) {
    for (const mode of ['lmdb', 'postgres'] as const) {
      for (let i = done; i < Math.min(WRITES, done + 50); i++) {
        const s = performance.now()
        const r = await call(clients[mode], 'POST', '/consumers', { username: `writer-${i}` })
        writes[mode].push(performance.now() - s)
        if (r.status !== 201) writeFailures.push(`${mode} POST /consumers ${r.status}`)
      }
    }
  }
  await Promise.all([clients.lmdb.close(), clients.postgres.close()])
  process.stderr.write(`  admin writes: lmdb p50 ${f1(pct(writes.lmdb, 0.5))} ms, postgres p50 ${f1(pct(writes.postgres, 0.5))} ms\n`)

  // 3. Propagation, A to B, once B has caught up with the writes above.
  const versionOf = async (gw: Gateway): Promise<number> => (await admin$(gw, 'GET', '/status') as { configuration_version: number }).configuration_version
  await until('B to catch up with A', async () => await versionOf(b) === await versionOf(a))
  const fromCommit: number[] = []
  const fromSend: number[] = []
  const missed: string[] = []
  const aAdmin = new Client(a.admin)
  const bProxy = new Client(b.proxy)
  for (let i = 0; i < CHANGES; i++) {
    const sent = performance.now()
    const r = await call(aAdmin, 'POST', '/services/bench/routes', { name: `prop-${i}`, paths: [`/prop-${i}`] })
    const committed = performance.now()
    if (r.status !== 201) { missed.push(`change ${i}: A answered ${r.status}`); continue }
    let seen = false
    while (performance.now() - committed < 10_000) {
      if ((await call(bProxy, 'GET', `/prop-${i}`)).status === 200) { seen = true; break }
      await sleep(1)
    }
    const now = performance.now()
    if (!seen) { missed.push(`change ${i}: not on B after 10 s`); continue }
    fromCommit.push(now - committed)
    fromSend.push(now - sent)
  }
  await Promise.all([aAdmin.close(), bProxy.close()])
  process.stderr.write(`  propagation: p50 ${f1(pct(fromCommit, 0.5))} ms, p99 ${f1(pct(fromCommit, 0.99))} ms after A's 201\n`)

  // 4. Connections each node holds, named by node id (A, B).
  const names = new Map<string, string>()
  for (const gw of [a, b]) names.set((await admin$(gw, 'GET', '/') as { node_id: string }).node_id, gw.name)
  const { rows } = await su.query<{ application_name: string, n: string }>(
    'SELECT application_name, count(*) AS n FROM pg_stat_activity WHERE datname = $1 GROUP BY 1 ORDER BY 1', [database])
  await su.end()
  const conns = rows.map((r) => ({ name: r.application_name.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/, (id) => names.get(id) ?? id), n: Number(r.n) })).sort((x, y) => x.name < y.name ? -1 : 1)

  // --- summary ---
  const summary = (mode: 'lmdb' | 'postgres'): { rps: number, p50: number, p99: number, cpu: number | undefined, errors: number } => {
    const rs = runs[mode]
    return {
      rps: median(rs.map((r) => r.rps)),
      p50: median(rs.map((r) => r.p50)),
      p99: median(rs.map((r) => r.p99)),
      cpu: rs.every((r) => r.cpuUsPerReq !== undefined) ? median(rs.map((r) => r.cpuUsPerReq!)) : undefined,
      errors: rs.reduce((n, r) => n + r.errors, 0),
    }
  }
  const L = summary('lmdb')
  const P = summary('postgres')
  const ratio = P.rps / L.rps
  const roundRatios = runs.postgres.map((r, i) => r.rps / runs.lmdb[i]!.rps)
  const roundRatio = median(roundRatios)
  const byOrder = half < ROUNDS ? `; by start order, round by round: lmdb started first ${median(roundRatios.slice(0, half)).toFixed(3)}x, postgres first ${median(roundRatios.slice(half)).toFixed(3)}x` : ''
  const cpuRatio = L.cpu === undefined || P.cpu === undefined ? undefined : L.cpu / P.cpu
  const w = (xs: number[]): { p50: number, p99: number, max: number } => ({ p50: pct(xs, 0.5), p99: pct(xs, 0.99), max: Math.max(...xs) })
  const wL = w(writes.lmdb)
  const wP = w(writes.postgres)
  const prop = { p50: pct(fromCommit, 0.5), p99: pct(fromCommit, 0.99), max: Math.max(...fromCommit) }
  const propSend = { p50: pct(fromSend, 0.5), p99: pct(fromSend, 0.99), max: Math.max(...fromSend) }
  const met = (ok: boolean): string => ok ? 'met' : '**MISSED**'
  const lines = [
    `Proxy throughput, worker_processes ${WORKERS}, ${ROUNDS} rounds x ${DURATION} s, medians:`,
    '',
    '| database | req/s | p50 ms | p99 ms | CPU us/req | errors |',
    '|---|---:|---:|---:|---:|---:|',
    ...([['lmdb', L], ['postgres', P]] as const).map(([m, s]) => `| ${m} | ${Math.round(s.rps).toLocaleString('en-US')} | ${ms(s.p50)} | ${ms(s.p99)} | ${s.cpu === undefined ? '' : s.cpu.toFixed(0)} | ${s.errors} |`),
    '',
    `- postgres / lmdb: ${ratio.toFixed(3)}x (round by round ${roundRatio.toFixed(3)}x${cpuRatio === undefined ? '' : `; per CPU second ${cpuRatio.toFixed(3)}x`}); target >= 0.97x: ${met(ratio >= 0.97)}`,
    `- rounds (req/s): lmdb ${runs.lmdb.map((r) => Math.round(r.rps)).join(', ')}; postgres ${runs.postgres.map((r) => Math.round(r.rps)).join(', ')}${byOrder}`,
    '',
    `Admin API writes (${WRITES} sequential POST /consumers per mode, alternating batches of 50):`,
    '',
    '| database | p50 ms | p99 ms | max ms |',
    '|---|---:|---:|---:|',
    `| lmdb | ${f1(wL.p50)} | ${f1(wL.p99)} | ${f1(wL.max)} |`,
    `| postgres | ${f1(wP.p50)} | ${f1(wP.p99)} | ${f1(wP.max)} |`,
    ...(writeFailures.length > 0 ? ['', `- ${writeFailures.length} writes failed: ${writeFailures.slice(0, 3).join('; ')}`] : []),
    '',
    `Propagation (${CHANGES} routes created one at a time on node A, each polled on node B's proxy every ~1 ms until it routes):`,
    '',
    `- from A's 201: p50 ${f1(prop.p50)} ms, p99 ${f1(prop.p99)} ms, max ${f1(prop.max)} ms; target p99 < 1 s: ${met(prop.p99 < 1000 && missed.length === 0)}`,
    `- from sending the POST to A: p50 ${f1(propSend.p50)} ms, p99 ${f1(propSend.p99)} ms, max ${f1(propSend.max)} ms`,
    ...(missed.length > 0 ? [`- ${missed.length} changes not seen: ${missed.slice(0, 3).join('; ')}`] : []),
    '',
    `PostgreSQL connections at the end (pg_pool_size 4; the pools open connections as they need them): ${conns.map((c) => `${c.name}: ${c.n}`).join(', ')}`,
  ]
  process.stdout.write(`\n${lines.join('\n')}\n`)

  mkdirSync(opts.out as string, { recursive: true })
  const file = join(opts.out as string, `postgres-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
  writeFileSync(file, JSON.stringify({
    date: new Date().toISOString(),
    machine: { cpus: CPUS, node: process.version, postgres: spawnSync(join(pgBinDir()!, 'postgres'), ['--version'], { encoding: 'utf8' }).stdout.trim() },
    settings: { duration: DURATION, rounds: ROUNDS, connections: CONNECTIONS, workers: WORKERS, writes: WRITES, changes: CHANGES, upstream: upstreamKind, loader: LOADER, pinned: PIN },
    throughput: { lmdb: { ...L, runs: runs.lmdb }, postgres: { ...P, runs: runs.postgres }, ratio, roundRatio, roundRatios, restartedAfterRound: half < ROUNDS ? half : null, cpuRatio },
    writes: { lmdb: wL, postgres: wP, failures: writeFailures },
    propagation: { fromCommit: prop, fromSend: propSend, missed },
    connections: conns,
  }, null, 2))
  process.stderr.write(`results written to ${file}\n`)
  await Promise.all([lmdb, a, b].map(stopGateway))
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`postgres bench failed: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
