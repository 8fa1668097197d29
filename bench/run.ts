// `npm run bench`: Tollgate against a bare Node proxy and peer gateways, in one run.
// Starts its own upstream and contestants (child processes on 127.0.0.1), drives load
// with autocannon (or wrk when on PATH), interleaves rounds (A B C A B C ...), and prints
// a markdown table of medians with each contestant's ratio to the bare proxy. Every load
// run is bounded by --duration and targets only 127.0.0.1.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer as createHttpServer } from 'node:http'
import { createServer } from 'node:net'
import { availableParallelism, tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { parseWrk, type LoadResult } from './wrk.js'
import { autocannon, ensurePeers } from './peers.js'
import { cpuSeconds, descendants } from './proc.js'
import { loadPlugins } from '../core/runtime/loader.js'
import { LmdbStore } from '../core/store/index.js'
import { bundledPlugins } from '../plugins/index.js'
import { PLUGIN_BENCHES, PLUGINS_MEASURED_ELSEWHERE, benchName, missing, type PluginBench } from './plugins.js'
import { TLS_CERT, TLS_KEY, handshakePath, handshakes, resumes, tlsStatus, writeNginxTlsConfig, type HandshakeRun } from './tls.js'
import { runChart, type BenchRun } from './chart.js'
import { beside, readRun, writeHistory, writeSvg } from './chart-files.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const TSX = ['--import', 'tsx']

const { values: opts } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '50' },
    only: { type: 'string' },
    credentials: { type: 'string', default: '1000000' },
    routes: { type: 'string', default: '10000' },
    out: { type: 'string' },
    pin: { type: 'boolean', default: true },
    soak: { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
    loader: { type: 'string', default: 'auto' },
    profile: { type: 'string' },
    baseline: { type: 'string' },
    'tls-clients': { type: 'string', default: '8' },
    'tls-duration': { type: 'string' },
    chart: { type: 'string' },
    'chart-from': { type: 'string' },
    history: { type: 'boolean', default: false },
  },
})
const RESULTS = join(ROOT, 'bench', 'results')
const OUT = opts.out ?? RESULTS
/** The committed charts README.md shows (docs/bench/). */
const LATEST_SVG = join(ROOT, 'docs', 'bench', 'latest.svg')
const HISTORY_SVG = join(ROOT, 'docs', 'bench', 'history.svg')
/** Full runs (no --only) keep their JSON here too, committed: the history a fresh clone draws. */
const HISTORY = join(ROOT, 'bench', 'history')
// Charts from results already on disk: no load, nothing started.
if (opts.history) {
  const pinned = opts.pin && !opts['no-pin']
  const { code, message } = writeHistory([HISTORY, RESULTS, ...(opts.out === undefined ? [] : [opts.out])], opts.chart ?? (pinned ? HISTORY_SVG : join(ROOT, 'docs', 'bench', 'history-no-pin.svg')), pinned)
  ;(code === 0 ? process.stdout : process.stderr).write(message)
  process.exit(code)
}
if (opts['chart-from'] !== undefined) {
  const to = opts.chart ?? LATEST_SVG
  try {
    writeSvg(to, runChart(readRun(opts['chart-from'])))
  } catch (err) {
    process.stderr.write(`--chart-from: ${(err as Error).message}\n`)
    process.exit(1)
  }
  process.stdout.write(`chart of ${opts['chart-from']} written to ${to}\n`)
  process.exit(0)
}
const DURATION = Number(opts.duration)
const ROUNDS = Number(opts.rounds)
const WARMUP = Number(opts.warmup)
const CONNECTIONS = Number(opts.connections)
/** openssl s_time processes in parallel for the TLS handshake runs (each one connection at a time). */
const TLS_CLIENTS = Number(opts['tls-clients'])
/** Seconds of each handshake run (new, resumed); --duration unless said. */
const TLS_DURATION = opts['tls-duration'] === undefined ? DURATION : Number(opts['tls-duration'])
/** `--only tls`: TLS key-auth against nginx and the bare proxy over TLS, with the plain pair beside them (issue #21). */
const TLS_CONTESTANTS = ['bare', 'tollgate-key-auth', 'nginx-tls', 'bare-tls', 'tollgate-key-auth-tls']
const which = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0
// Counted once, before main() pins this process: availableParallelism() follows this
// process's affinity, so afterwards it says 1.
const CPUS = availableParallelism()
const PIN = opts.pin && opts['no-pin'] !== true && which('taskset') && CPUS >= 2
if (!['auto', 'wrk', 'autocannon'].includes(opts.loader as string)) {
  process.stderr.write(`--loader must be auto, wrk or autocannon (got '${String(opts.loader)}')\n`)
  process.exit(2)
}
if (opts.loader === 'wrk' && !which('wrk')) {
  process.stderr.write('--loader wrk: wrk is not on PATH (Debian: apt-get install wrk)\n')
  process.exit(2)
}
if (opts.baseline !== undefined && !existsSync(join(opts.baseline, 'dist', 'core', 'cli', 'main.js'))) {
  process.stderr.write(`--baseline ${opts.baseline}: not a built Tollgate checkout (run npm install there first)\n`)
  process.exit(2)
}
/** wrk when it is on PATH (it costs the shared CPU less than autocannon), else autocannon. */
const LOADER: 'wrk' | 'autocannon' = opts.loader === 'autocannon' ? 'autocannon' : opts.loader === 'wrk' || which('wrk') ? 'wrk' : 'autocannon'
// The peer gateways and autocannon come from bench/package.json, installed on the first run.
ensurePeers()

function freePort (): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => { const { port } = s.address() as { port: number }; s.close(() => resolve(port)) })
  })
}

// Children stay in the harness's session. Linux's scheduler autogroups give each session an
// equal share of a busy CPU: a child in a session of its own (detached) would get, with all
// its worker processes together, as much CPU as wrk alone, which holds back exactly the
// contestant that runs several processes (measured: 2 workers / 1 worker 1.27-1.33x
// detached, 1.39x with autogroups off). At exit the whole tree is killed, found through
// /proc: killing only nginx's master (or a cluster primary) would leave its workers running.
const children: ChildProcess[] = []

process.on('exit', () => {
  for (const c of children) {
    if (c.pid === undefined || c.exitCode !== null) continue
    const tree = descendants(c.pid)
    // Without /proc, SIGTERM: nginx's master and Tollgate's primary stop their workers on it.
    if (tree.length === 0 && !existsSync('/proc/self')) { c.kill('SIGTERM'); continue }
    for (const pid of [c.pid, ...tree]) { try { process.kill(pid, 'SIGKILL') } catch {} }
  }
})
process.on('SIGINT', () => process.exit(130))

/**
 * Starts a process (node, or `command`; pinned to `cpu` when pinning; -1: not pinned) and
 * waits until `ready` says it is up.
 */
async function start (name: string, args: string[], cpu: number, ready: () => Promise<boolean>, env: Record<string, string> = {}, command = process.execPath): Promise<ChildProcess> {
  // Not pinned is said explicitly: a child inherits this process's affinity, which is CPU 1
  // alone once main() has pinned it, so a plain spawn would hold it there with wrk.
  const cmd = PIN ? 'taskset' : command
  const full = PIN ? ['-c', cpu >= 0 ? String(cpu) : `0-${CPUS - 1}`, command, ...args] : args
  const child = spawn(cmd, full, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let output = ''
  child.stdout?.on('data', (d: Buffer) => { output += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { output += d.toString() })
  const deadline = Date.now() + 60_000
  // What the last readiness check met, for the error: a process that runs but never answers
  // as expected (a 401, a refused connection) says so.
  let last = 'no check finished'
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited: ${output}`)
    if (await ready().then((ok) => { last = ok ? 'ready' : 'not ready'; return ok }, (err: unknown) => { last = String((err as Error).cause ?? err); return false })) return child
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`${name} did not start within 60 s (last check: ${last}): ${output}`)
}

const httpOk = (url: string, headers: Record<string, string> = {}) => async (): Promise<boolean> => (await fetch(url, { headers, signal: AbortSignal.timeout(10_000) })).status < 500

function rss (pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m === null ? undefined : Number(m[1]) * 1024
  } catch { return undefined }
}

/** node's flags for --profile DIR: one V8 CPU profile per thread under DIR/<name>/. */
function cpuProfileArgs (name: string): string[] {
  return opts.profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${join(opts.profile, name)}`]
}

interface Run { rps: number, p50: number, p99: number, errors: number, cpuUsPerReq?: number }

interface Contestant {
  name: string
  url: string
  headers?: Record<string, string>
  child?: ChildProcess
  runs: Run[]
  rssIdle?: number
  rssAfter?: number
  note?: string
  /** A TLS contestant: its port, the request of its handshake runs (tls.ts handshakePath), and those runs. */
  tls?: { port: number, path: string, resumed?: boolean, full: TlsRun[], resumedRuns: TlsRun[] }
}

interface TlsRun extends HandshakeRun { cpuUsPerConn?: number }

// --- Tollgate set-up: seed the store directly (fast for 10,000 routes / 1M keys), then start.

const HEADER_PLUGIN = join(ROOT, 'dist', 'examples', 'header-injector', 'index.js')

interface TollgateOptions {
  routes: number
  keyAuth: boolean
  credentials: number
  workers?: number
  headerPlugin?: 'in-process' | 'isolated'
  unpinned?: boolean
  /** Another built checkout of Tollgate to run instead of this one (--baseline). */
  root?: string
  /** rate-limiting (local policy) on top, with a limit the run never reaches. */
  rateLimit?: boolean
  /** proxy-cache (memory strategy) on the route: the ready check stores the answer, the runs are hits. */
  proxyCache?: boolean
  /** The service's host names an upstream with this many targets (all the bench upstream). */
  balanced?: { targets: number, algorithm: 'round-robin' | 'consistent-hashing' }
  /** One of bench/plugins.ts's set-ups on the route (`tollgate-plugin-<id>`). */
  plugin?: PluginBench
  /** The proxy listener with TLS (Kong's `proxy_listen = ... ssl http2`, `ssl_cert`, `ssl_cert_key`): the test certificate. */
  tls?: boolean
}

/** Names of the plugins bundled in this tree: a plugin bench whose plugins are not all here is skipped. */
const BUNDLED = new Set(bundledPlugins.map((p) => p.name))

/**
 * http-log's loopback collector, in this process (pinned with wrk and the upstream, on
 * CPU 1 when pinning): reads each batch and discards it, counting requests. Started on
 * first use.
 */
let collector: { url: string, count: number } | undefined
async function logCollector (): Promise<{ url: string, count: number }> {
  if (collector !== undefined) return collector
  const port = await freePort()
  const c = { url: `http://127.0.0.1:${port}/log`, count: 0 }
  const server = createHttpServer((req, res) => {
    req.on('data', () => {})
    req.on('end', () => { c.count++; res.writeHead(200, { 'content-length': '0' }).end() })
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  server.unref()
  collector = c
  return c
}

/**
 * Loopback addresses for balanced contestants' targets: 127.0.0.1, 127.0.0.2, ... The
 * bench upstream listens on each of them (Linux routes all of 127/8 to lo), so every
 * target is a distinct address with its own connection pool, as real targets are.
 */
const TARGET_ADDRESSES = 1000
const targetIp = (i: number): string => `127.0.${Math.floor(i / 250)}.${(i % 250) + 1}`

async function seedTollgate (prefix: string, upstreamPort: number, o: TollgateOptions, logUrl: string): Promise<void> {
  const plugins = await loadPlugins(o.headerPlugin === undefined ? ['bundled'] : ['bundled', HEADER_PLUGIN])
  const store = new LmdbStore({ path: join(prefix, 'tollgate.mdb'), plugins, entities: plugins.entities(), ttlPurgeInterval: 0 })
  let svc
  if (o.balanced === undefined) {
    svc = await store.insert('services', { name: 'bench', url: `http://127.0.0.1:${upstreamPort}` })
  } else {
    // Consistent hashing on the client address: every bench request hashes the same value,
    // which measures the hashing and the ring lookup, not the spread.
    const up = await store.insert('upstreams', o.balanced.algorithm === 'consistent-hashing'
      ? { name: 'bench.upstream', hash_on: 'ip' }
      : { name: 'bench.upstream' })
    for (let i = 0; i < o.balanced.targets; i++) await store.insert('targets', { target: `${targetIp(i)}:${upstreamPort}`, upstream: { id: up.id } })
    svc = await store.insert('services', { name: 'bench', host: 'bench.upstream', port: upstreamPort })
  }
  const batch = async (n: number, make: (i: number) => Promise<unknown>): Promise<void> => {
    for (let i = 0; i < n; i += 1000) await Promise.all(Array.from({ length: Math.min(1000, n - i) }, (_, k) => make(i + k)))
  }
  // Decoy routes first; the measured route is /bench, matched by prefix.
  await batch(o.routes - 1, (i) => store.insert('routes', { paths: [`/r${i}/api`], service: { id: svc.id } }))
  const route = await store.insert('routes', { name: 'bench', paths: ['/bench'], service: { id: svc.id } }) as { id: string }
  // A plugin bench's plugins sit on the route, as a team would configure them per API.
  if (o.plugin !== undefined) await o.plugin.seed({ store, route, dir: prefix, collector: logUrl, has: (n) => BUNDLED.has(n) })
  if (o.keyAuth) {
    const consumer = await store.insert('consumers', { username: 'bench' })
    await batch(o.credentials - 1, (i) => store.insert('keyauth_credentials', { key: `decoy-key-${i}`, consumer: { id: consumer.id } }))
    await store.insert('keyauth_credentials', { key: 'bench-key', consumer: { id: consumer.id } })
    await store.insert('plugins', { name: 'key-auth' })
  }
  if (o.rateLimit === true) await store.insert('plugins', { name: 'rate-limiting', config: { year: 1e12, policy: 'local' } })
  if (o.proxyCache === true) await store.insert('plugins', { name: 'proxy-cache', config: { strategy: 'memory', cache_ttl: 3600 } })
  if (o.headerPlugin !== undefined) await store.insert('plugins', { name: 'header-injector', config: { upstream: { 'x-bench': '1' } } })
  await store.close()
}

async function startTollgate (name: string, upstreamPort: number, o: TollgateOptions): Promise<Contestant> {
  const prefix = mkdtempSync(join(tmpdir(), 'tollgate-bench-'))
  process.on('exit', () => rmSync(prefix, { recursive: true, force: true }))
  const t0 = performance.now()
  const logs = o.plugin?.needs.includes('http-log') === true ? await logCollector() : undefined
  await seedTollgate(prefix, upstreamPort, o, logs?.url ?? 'http://127.0.0.1:9/unused')
  const seeded = (performance.now() - t0) / 1000
  const port = await freePort()
  const admin = await freePort()
  const headers: Record<string, string> = { ...(o.keyAuth ? { apikey: 'bench-key' } : {}), ...o.plugin?.headers }
  const url = `${o.tls === true ? 'https' : 'http'}://127.0.0.1:${port}/bench`
  const tls = o.tls === true ? { port, path: handshakePath('/bench', headers), full: [], resumedRuns: [] } : undefined
  // Several workers get every CPU: pinning them to one would measure nothing.
  // --profile: V8 CPU profiles of the gateway and its worker threads, one file per thread,
  // written when the harness stops it with SIGTERM at the end.
  const profile = cpuProfileArgs(name)
  const child = await start(name, [...profile, join(o.root ?? ROOT, 'bin', 'tollgate.js'), 'start', '--prefix', prefix], (o.workers ?? 1) > 1 || o.unpinned === true ? -1 : 0, async () => {
    // A readiness check without a deadline could hang the loop on one stuck connection.
    const status = tls === undefined ? (await fetch(url, { headers, signal: AbortSignal.timeout(10_000) })).status : await tlsStatus(port, tls.path)
    if (status !== 200) throw new Error(`status ${status}`)
    return true
  }, {
    ...(o.tls === true ? { TOLLGATE_SSL_CERT: TLS_CERT, TOLLGATE_SSL_CERT_KEY: TLS_KEY } : {}),
    // `http2` as nginx-tls's `listen ... ssl http2` and Kong's 8443: offered by ALPN; wrk and s_time speak HTTP/1.1.
    TOLLGATE_PROXY_LISTEN: `127.0.0.1:${port}${o.tls === true ? ' ssl http2' : ''}`, TOLLGATE_ADMIN_LISTEN: `127.0.0.1:${admin}`, TOLLGATE_LOG_LEVEL: 'error',
    // The Manager is not measured, and its fixed ports would collide; a --baseline checkout
    // from before it knows no such key.
    ...(existsSync(join(o.root ?? ROOT, 'dist', 'core', 'admin', 'gui.js')) ? { TOLLGATE_ADMIN_GUI_LISTEN: 'off' } : {}),
    TOLLGATE_WORKER_PROCESSES: String(o.workers ?? 1),
    ...(o.headerPlugin === undefined ? {} : { TOLLGATE_PLUGINS: `bundled,${HEADER_PLUGIN}` }),
    ...(o.headerPlugin === 'isolated' ? { TOLLGATE_ISOLATED_PLUGINS: 'header-injector' } : {}),
  })
  // Over TLS, key-auth must be what answers: the handshake runs read no status.
  if (tls !== undefined && o.keyAuth) {
    const status = await tlsStatus(port, handshakePath('/bench', {}))
    if (status !== 401) throw new Error(`${name} answers ${status}, not 401, without a key`)
  }
  let note = seeded > 2 ? `seeded in ${seeded.toFixed(0)} s` : undefined
  if (o.plugin !== undefined) {
    // Ready is a 200 with the bench's headers; this proves the plugin does its work too
    // (a refusal without credentials, a header it adds, a line it logs).
    await o.plugin.check({ url, headers, admin: `http://127.0.0.1:${admin}`, dir: prefix, collected: () => logs?.count ?? 0 })
    const absent = (o.plugin.optional ?? []).filter((n) => !BUNDLED.has(n))
    note = [o.plugin.note, absent.length > 0 ? `${absent.join(', ')} not bundled in this tree yet: left out` : undefined, note].filter((x) => x !== undefined).join('; ')
  }
  return { name, url, headers, child, runs: [], note, tls }
}

/** express-gateway with key-auth: a user and a credential made through its Admin API. */
async function startExpressGateway (upstreamPort: number): Promise<Contestant> {
  const port = await freePort()
  const admin = await freePort()
  const adminUrl = `http://127.0.0.1:${admin}`
  const child = await start('express-gateway', [...TSX, 'bench/contestants/express-gateway.ts', String(port), String(admin), String(upstreamPort)], 0,
    async () => (await fetch(`${adminUrl}/users`)).status === 200, { LOG_LEVEL: 'error' })
  const post = async (path: string, body: unknown): Promise<Record<string, string>> => {
    const res = await fetch(`${adminUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    if (res.status >= 300) throw new Error(`express-gateway admin ${path}: ${res.status} ${await res.text()}`)
    return await res.json() as Record<string, string>
  }
  const user = await post('/users', { username: 'bench', firstname: 'bench', lastname: 'bench' })
  const cred = await post('/credentials', { consumerId: user.id, type: 'key-auth' })
  const headers = { apikey: `${cred.keyId as string}:${cred.keySecret as string}` }
  const url = `http://127.0.0.1:${port}/bench`
  if ((await fetch(url, { headers })).status !== 200) throw new Error('express-gateway does not proxy with its key')
  if ((await fetch(url, { headers: { apikey: 'wrong:key' } })).status !== 401) throw new Error('express-gateway lets a wrong key through')
  return { name: 'express-gateway', url, headers, child, runs: [], note: 'key-auth' }
}

// --- Load -------------------------------------------------------------------------------

async function load (c: Contestant, seconds: number): Promise<Contestant['runs'][number]> {
  const cpu0 = cpuSeconds(c.child?.pid)
  const r = LOADER === 'wrk' ? await wrk(c, seconds) : await cannon(c, seconds)
  const cpu1 = cpuSeconds(c.child?.pid)
  return {
    rps: r.rps,
    p50: r.p50,
    p99: r.p99,
    errors: r.errors,
    // CPU time per request: steadier than requests/s on a shared machine, where a
    // neighbour's load takes CPU away from every contestant by turns.
    cpuUsPerReq: cpu0 === undefined || cpu1 === undefined || r.total === 0 ? undefined : (cpu1 - cpu0) * 1e6 / r.total,
  }
}


async function cannon (c: Contestant, seconds: number): Promise<LoadResult> {
  const result = await (await autocannon())({ url: c.url, headers: c.headers, connections: CONNECTIONS, duration: seconds, pipelining: 1 })
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
    total: result.requests.total,
  }
}

/** One wrk run (one thread, on the harness's CPU), its text report parsed. */
async function wrk (c: Contestant, seconds: number): Promise<LoadResult> {
  const args = ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', '--timeout', '10s']
  for (const [k, v] of Object.entries(c.headers ?? {})) args.push('-H', `${k}: ${v}`)
  args.push(c.url)
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let text = ''
    child.stdout.on('data', (d: Buffer) => { text += d.toString() })
    child.stderr.on('data', (d: Buffer) => { text += d.toString() })
    child.on('error', reject)
    child.on('close', (code) => code === 0 ? resolve(text) : reject(new Error(`wrk exited with ${String(code)}: ${text}`)))
  })
  return parseWrk(out)
}


const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s.length === 0 ? NaN : (s[Math.floor((s.length - 1) / 2)] as number + (s[Math.ceil((s.length - 1) / 2)] as number)) / 2 }
const ms = (n: number): string => Number.isInteger(n) ? String(n) : n.toFixed(2)
const mb = (n: number | undefined): string => n === undefined ? '' : `${(n / 1048576).toFixed(0)} MB`

async function main (): Promise<void> {
  const only = opts.only === undefined ? undefined : new Set(opts.only.split(','))
  // `--only plugins`: the plugin bundle's contestants (issue #20) with the two they are
  // measured against, bare and tollgate.
  if (only?.delete('plugins') === true) for (const n of ['bare', 'tollgate', ...PLUGIN_BENCHES.map(benchName)]) only.add(n)
  if (only?.delete('tls') === true) for (const n of TLS_CONTESTANTS) only.add(n)
  // The baseline is asked for by name already (--baseline), --only or not.
  const wanted = (name: string): boolean => only === undefined || only.has(name) || (name === 'baseline-key-auth' && opts.baseline !== undefined)
  // DB-less loading (bench/declarative.ts) is its own harness: a gateway per round, no
  // load generator. Run unpinned, before pinning this process (children inherit it).
  const declarative = (): void => {
    const r = spawnSync(process.execPath, [...TSX, join(ROOT, 'bench', 'declarative.ts'), '--rounds', String(ROUNDS)], { stdio: 'inherit', cwd: ROOT })
    if (r.status !== 0) process.stderr.write(`declarative bench failed (exit ${String(r.status)})\n`)
  }
  // database = postgres against lmdb (bench/postgres.ts): its own PostgreSQL and gateways,
  // pinned by itself as this harness pins; started before this process pins itself.
  const postgres = (): void => {
    const args = ['--rounds', String(ROUNDS), '--duration', String(DURATION), '--warmup', String(WARMUP), '--connections', String(CONNECTIONS), '--loader', String(opts.loader), '--out', OUT]
    if (!PIN) args.push('--no-pin')
    const r = spawnSync(process.execPath, [...TSX, join(ROOT, 'bench', 'postgres.ts'), ...args], { stdio: 'inherit', cwd: ROOT })
    if (r.status !== 0) process.stderr.write(`postgres bench ${r.status === 2 ? 'skipped' : 'failed'} (exit ${String(r.status)})\n`)
  }
  for (const [name, run] of [['declarative', declarative], ['postgres', postgres]] as const) {
    if (only === undefined || !only.has(name)) continue
    run()
    only.delete(name)
    if (only.size === 0) process.exit(0)
  }
  if (PIN) spawnSync('taskset', ['-p', '-c', '1', String(process.pid)])

  const upstreamPort = await freePort()
  let upstreamKind = 'node'
  if (which('nginx')) {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-nginx-'))
    mkdirSync(join(dir, 'logs'))
    writeFileSync(join(dir, 'nginx.conf'), `worker_processes 1; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/logs/error.log;
events { worker_connections 4096; }
http { access_log off; server { ${Array.from({ length: TARGET_ADDRESSES }, (_, i) => `listen ${targetIp(i)}:${upstreamPort};`).join(' ')} location / { default_type application/json; return 200 '{"hello":"world"}'; } } }`)
    const child = spawn(PIN ? 'taskset' : 'nginx', PIN ? ['-c', '1', 'nginx', '-p', dir, '-c', 'nginx.conf'] : ['-p', dir, '-c', 'nginx.conf'], { stdio: 'ignore' })
    children.push(child)
    upstreamKind = 'nginx'
  } else {
    await start('upstream', [...TSX, 'bench/contestants/upstream.ts', String(upstreamPort), String(TARGET_ADDRESSES)], 1, httpOk(`http://127.0.0.1:${upstreamPort}/`))
  }
  const upstreamUrl = `http://127.0.0.1:${upstreamPort}/bench`
  for (let i = 0; i < 100 && !(await httpOk(upstreamUrl)().catch(() => false)); i++) await new Promise((r) => setTimeout(r, 100))
  const loader = LOADER === 'wrk' ? 'wrk (1 thread)' : `autocannon${which('wrk') ? '' : ' (no wrk on PATH)'}`
  process.stderr.write(`upstream: ${upstreamKind} on 127.0.0.1:${upstreamPort}; load: ${loader}; ${CONNECTIONS} connections, ${DURATION} s x ${ROUNDS} rounds; pinning: ${PIN ? 'contestant cpu 0, upstream and load cpu 1' : 'off'}\n`)

  const contestants: Contestant[] = []
  const add = async (name: string, make: () => Promise<Contestant>): Promise<void> => {
    if (!wanted(name)) return
    process.stderr.write(`starting ${name}...\n`)
    try {
      const c = await make()
      c.rssIdle = rss(c.child?.pid)
      contestants.push(c)
    } catch (err) {
      process.stderr.write(`  ${name} skipped: ${(err as Error).message.split('\n')[0] ?? ''}\n`)
    }
  }
  const simple = (name: string, script: string) => async (): Promise<Contestant> => {
    const port = await freePort()
    const url = `http://127.0.0.1:${port}/bench`
    const profile = cpuProfileArgs(name)
    const child = await start(name, [...profile, ...TSX, script, String(port), String(upstreamPort)], 0, httpOk(url))
    return { name, url, child, runs: [] }
  }

  await add('upstream', async () => ({ name: 'upstream', url: upstreamUrl, runs: [], note: 'direct, no proxy' }))
  await add('bare', simple('bare', 'bench/contestants/bare-proxy.ts'))
  await add('tollgate', () => startTollgate('tollgate', upstreamPort, { routes: 1, keyAuth: false, credentials: 0 }))
  await add('tollgate-key-auth', () => startTollgate('tollgate-key-auth', upstreamPort, { routes: 1, keyAuth: true, credentials: 10 }))
  // --baseline DIR: the same key-auth set-up served by another built checkout (a commit
  // before a change, say), measured in the same interleaved rounds as this tree.
  if (opts.baseline !== undefined) {
    const root = opts.baseline
    await add('baseline-key-auth', () => startTollgate('baseline-key-auth', upstreamPort, { routes: 1, keyAuth: true, credentials: 10, root }))
  }
  // TLS (issue #21): Tollgate with key-auth on a TLS proxy listener against nginx as a TLS
  // proxy and the bare proxy over TLS, all with the test certificate in front of the same
  // plain-HTTP upstream. Besides wrk's keep-alive runs, each gets handshake runs below.
  await add('nginx-tls', async () => {
    if (!which('nginx')) throw new Error('nginx is not on PATH (Debian: apt-get install nginx-light)')
    const port = await freePort()
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-nginx-tls-'))
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
    mkdirSync(join(dir, 'logs'))
    writeNginxTlsConfig(dir, port, upstreamPort)
    const path = handshakePath('/bench', {})
    const child = await start('nginx-tls', ['-p', dir, '-c', 'nginx.conf'], 0, async () => await tlsStatus(port, path) === 200, {}, 'nginx')
    return { name: 'nginx-tls', url: `https://127.0.0.1:${port}/bench`, child, runs: [], note: 'nginx, 1 worker, ssl_session_cache shared', tls: { port, path, full: [], resumedRuns: [] } }
  })
  await add('bare-tls', async () => {
    const port = await freePort()
    const path = handshakePath('/bench', {})
    const child = await start('bare-tls', [...cpuProfileArgs('bare-tls'), ...TSX, 'bench/contestants/bare-proxy.ts', String(port), String(upstreamPort), TLS_CERT, TLS_KEY], 0, async () => await tlsStatus(port, path) === 200)
    return { name: 'bare-tls', url: `https://127.0.0.1:${port}/bench`, child, runs: [], tls: { port, path, full: [], resumedRuns: [] } }
  })
  await add('tollgate-key-auth-tls', () => startTollgate('tollgate-key-auth-tls', upstreamPort, { routes: 1, keyAuth: true, credentials: 10, tls: true }))
  // Load balancing: a service behind an upstream against the same service by host, and
  // 1,000 targets against 2, for round-robin and consistent hashing.
  await add('tollgate-upstream-2', () => startTollgate('tollgate-upstream-2', upstreamPort, { routes: 1, keyAuth: false, credentials: 0, balanced: { targets: 2, algorithm: 'round-robin' } }))
  await add('tollgate-upstream-1000', () => startTollgate('tollgate-upstream-1000', upstreamPort, { routes: 1, keyAuth: false, credentials: 0, balanced: { targets: 1000, algorithm: 'round-robin' } }))
  await add('tollgate-hash-2', () => startTollgate('tollgate-hash-2', upstreamPort, { routes: 1, keyAuth: false, credentials: 0, balanced: { targets: 2, algorithm: 'consistent-hashing' } }))
  await add('tollgate-hash-1000', () => startTollgate('tollgate-hash-1000', upstreamPort, { routes: 1, keyAuth: false, credentials: 0, balanced: { targets: 1000, algorithm: 'consistent-hashing' } }))
  await add('tollgate-key-auth-rate-limiting', () => startTollgate('tollgate-key-auth-rate-limiting', upstreamPort, { routes: 1, keyAuth: true, credentials: 10, rateLimit: true }))
  // A cache hit against the same route uncached (`tollgate`): the upstream is not called.
  await add('tollgate-proxy-cache-hit', () => startTollgate('tollgate-proxy-cache-hit', upstreamPort, { routes: 1, keyAuth: false, credentials: 0, proxyCache: true }))
  // The plugin bundle (issue #20): tollgate + one plugin on the route, each against
  // `tollgate` (acl against key-auth), and the stack against `bare`. A set-up whose plugins
  // are not bundled here (prometheus until it lands) is skipped, with a note.
  for (const p of PLUGIN_BENCHES) {
    const name = benchName(p)
    if (!wanted(name)) continue
    const absent = missing(p, BUNDLED)
    if (absent.length > 0) { process.stderr.write(`${name} skipped: plugin ${absent.map((n) => `'${n}'`).join(', ')} not in bundledPlugins (plugins/index.ts) in this tree\n`); continue }
    await add(name, () => startTollgate(name, upstreamPort, { routes: 1, keyAuth: false, credentials: 0, plugin: p }))
  }
  await add('tollgate-10-routes', () => startTollgate('tollgate-10-routes', upstreamPort, { routes: 10, keyAuth: false, credentials: 0 }))
  await add('tollgate-many-routes', () => startTollgate('tollgate-many-routes', upstreamPort, { routes: Number(opts.routes), keyAuth: false, credentials: 0 }))
  await add('tollgate-many-keys', () => startTollgate('tollgate-many-keys', upstreamPort, { routes: 1, keyAuth: true, credentials: Number(opts.credentials) }))
  await add('tollgate-header-plugin', () => startTollgate('tollgate-header-plugin', upstreamPort, { routes: 1, keyAuth: true, credentials: 10, headerPlugin: 'in-process' }))
  await add('tollgate-header-isolated', () => startTollgate('tollgate-header-isolated', upstreamPort, { routes: 1, keyAuth: true, credentials: 10, headerPlugin: 'isolated' }))
  // Scaling is measured between two unpinned contestants: pinning one worker to CPU 0
  // would leave CPU 1 to the load generator and upstream alone, which 2 workers do not get.
  await add('tollgate-1-worker', () => startTollgate('tollgate-1-worker', upstreamPort, { routes: 1, keyAuth: true, credentials: 10, unpinned: true }))
  await add('tollgate-2-workers', () => startTollgate('tollgate-2-workers', upstreamPort, { routes: 1, keyAuth: true, credentials: 10, workers: 2 }))
  await add('fastify-http-proxy', simple('fastify-http-proxy', 'bench/contestants/fastify-proxy.ts'))
  await add('fast-gateway', simple('fast-gateway', 'bench/contestants/fast-gateway.ts'))
  await add('express-gateway', () => startExpressGateway(upstreamPort))

  if (opts.soak !== undefined) {
    // One long run per contestant, sampling its RSS each second: is memory flat under load?
    const seconds = Number(opts.soak)
    const lines = ['| contestant | req/s | RSS idle | RSS min | RSS max | RSS at end | end - first sample | RSS every 10 s (MB) |', '|---|---:|---:|---:|---:|---:|---:|---|']
    for (const c of contestants) {
      const samples: number[] = []
      const timer = setInterval(() => { const r = rss(c.child?.pid); if (r !== undefined) samples.push(r) }, 1000)
      const r = await load(c, seconds)
      clearInterval(timer)
      const first = samples[0] ?? NaN
      const last = samples[samples.length - 1] ?? NaN
      // The curve, not only its ends: a heap that settles rises and flattens, a leak keeps climbing.
      const curve = samples.filter((_, i) => i % 10 === 9).map((x) => (x / 1048576).toFixed(0)).join(' ')
      lines.push(`| ${c.name} | ${Math.round(r.rps).toLocaleString('en-US')} | ${mb(c.rssIdle)} | ${mb(Math.min(...samples))} | ${mb(Math.max(...samples))} | ${mb(last)} | ${((last - first) / 1048576).toFixed(1)} MB | ${curve} |`)
    }
    process.stdout.write(`${lines.join('\n')}\n`)
    process.exit(0)
  }
  if (WARMUP > 0) for (const c of contestants) await load(c, WARMUP)
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of contestants) {
      const r = await load(c, DURATION)
      c.runs.push(r)
      process.stderr.write(`round ${round + 1}/${ROUNDS} ${c.name}: ${Math.round(r.rps)} req/s, p99 ${r.p99} ms${r.cpuUsPerReq === undefined ? '' : `, ${r.cpuUsPerReq.toFixed(1)} us CPU/req`}${r.errors > 0 ? `, ${r.errors} errors` : ''}\n`)
    }
  }
  // TLS handshakes (issue #21): per round and TLS contestant, a run of full handshakes and
  // one of resumed sessions, each connection sending one request. Each is checked first:
  // does a node client's second connection resume the first one's session?
  const tlsOnes = contestants.filter((c) => c.tls !== undefined)
  if (tlsOnes.length > 0 && !which('openssl')) process.stderr.write('TLS handshake runs skipped: openssl is not on PATH\n')
  else if (tlsOnes.length > 0) {
    for (const c of tlsOnes) {
      const t = c.tls as NonNullable<Contestant['tls']>
      const r = await resumes(t.port, t.path)
      t.resumed = r.resumed
      process.stderr.write(`${c.name}: ${r.protocol}, ${r.status === 200 ? '' : `status ${r.status}, `}${r.resumed ? 'resumes a TLS session' : 'DOES NOT resume a TLS session'} (node client, second connection with the first one's ticket)\n`)
    }
    const hs = async (c: Contestant, reuse: boolean): Promise<TlsRun> => {
      const t = c.tls as NonNullable<Contestant['tls']>
      const cpu0 = cpuSeconds(c.child?.pid)
      const r = await handshakes(t.port, t.path, TLS_DURATION, TLS_CLIENTS, reuse)
      const cpu1 = cpuSeconds(c.child?.pid)
      return { ...r, cpuUsPerConn: cpu0 === undefined || cpu1 === undefined || r.connections === 0 ? undefined : (cpu1 - cpu0) * 1e6 / r.connections }
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of tlsOnes) {
        const t = c.tls as NonNullable<Contestant['tls']>
        const full = await hs(c, false)
        const resumed = await hs(c, true)
        t.full.push(full)
        t.resumedRuns.push(resumed)
        process.stderr.write(`round ${round + 1}/${ROUNDS} ${c.name}: ${Math.round(full.rate)} new handshakes/s, ${Math.round(resumed.rate)} resumed/s (${resumed.reused} of ${resumed.connections} resumed)\n`)
      }
    }
  }
  for (const c of contestants) c.rssAfter = rss(c.child?.pid)

  const floor = contestants.find((c) => c.name === 'bare')
  const floorRps = floor === undefined ? NaN : median(floor.runs.map((r) => r.rps))
  const floorP99 = floor === undefined ? NaN : median(floor.runs.map((r) => r.p99))
  const lines = [
    `| contestant | req/s (median) | vs bare proxy | p50 ms | p99 ms | p99 vs bare | CPU us/req | errors | RSS idle | RSS after | note |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ]
  const summary = contestants.map((c) => {
    const rps = median(c.runs.map((r) => r.rps))
    const p99 = median(c.runs.map((r) => r.p99))
    const cpu = c.runs.every((r) => r.cpuUsPerReq !== undefined) ? median(c.runs.map((r) => r.cpuUsPerReq as number)) : undefined
    return { name: c.name, rps, cpuUsPerReq: cpu, ratio: rps / floorRps, p50: median(c.runs.map((r) => r.p50)), p99, p99Delta: p99 - floorP99, errors: c.runs.reduce((a, r) => a + r.errors, 0), rssIdle: c.rssIdle, rssAfter: c.rssAfter, runs: c.runs, note: c.note }
  })
  for (const s of summary) {
    lines.push(`| ${s.name} | ${Math.round(s.rps).toLocaleString('en-US')} | ${Number.isNaN(s.ratio) ? '' : `${s.ratio.toFixed(2)}x`} | ${ms(s.p50)} | ${ms(s.p99)} | ${Number.isNaN(s.p99Delta) ? '' : `${s.p99Delta >= 0 ? '+' : ''}${s.p99Delta.toFixed(1)}`} | ${s.cpuUsPerReq === undefined ? '' : s.cpuUsPerReq.toFixed(0)} | ${s.errors} | ${mb(s.rssIdle)} | ${mb(s.rssAfter)} | ${s.note ?? ''} |`)
  }
  const byName = new Map(summary.map((s) => [s.name, s]))
  const ratio = (a: string, b: string): string => {
    const x = byName.get(a)
    const y = byName.get(b)
    if (x === undefined || y === undefined) return 'n/a'
    const perCpu = x.cpuUsPerReq === undefined || y.cpuUsPerReq === undefined ? '' : `; per CPU second: ${(y.cpuUsPerReq / x.cpuUsPerReq).toFixed(2)}x`
    // Rounds run back to back (A B A B ...), so the two runs of one round saw the same
    // machine: the median of their ratios moves less than the ratio of the medians when
    // another tenant comes and goes during the run.
    const rounds = Math.min(x.runs.length, y.runs.length)
    const paired = rounds < 2 ? '' : ` (round by round: ${median(Array.from({ length: rounds }, (_, i) => (x.runs[i] as Run).rps / (y.runs[i] as Run).rps)).toFixed(2)}x)`
    return `${(x.rps / y.rps).toFixed(2)}x${paired}${perCpu}`
  }
  const p99Delta = (a: string, b: string): string => {
    const x = byName.get(a)
    const y = byName.get(b)
    if (x === undefined || y === undefined) return 'n/a'
    const d = x.p99 - y.p99
    return `${d >= 0 ? '+' : ''}${d.toFixed(2)} ms`
  }
  if (opts.baseline !== undefined) lines.push('', `- tollgate-key-auth / baseline-key-auth (${opts.baseline}): ${ratio('tollgate-key-auth', 'baseline-key-auth')}`)
  lines.push('', `- tollgate-key-auth / bare: ${ratio('tollgate-key-auth', 'bare')} (target >= 0.9x, p99 within +1 ms)`,
    `- tollgate-key-auth / fastify-http-proxy: ${ratio('tollgate-key-auth', 'fastify-http-proxy')} (target >= 1.2x)`,
    `- tollgate-key-auth / express-gateway (key-auth): ${ratio('tollgate-key-auth', 'express-gateway')} (target >= 3x)`,
    `- tollgate-key-auth-rate-limiting / bare: ${ratio('tollgate-key-auth-rate-limiting', 'bare')} (target >= 0.85x)`,
    `- tollgate-proxy-cache-hit / tollgate (the same route uncached): ${ratio('tollgate-proxy-cache-hit', 'tollgate')} (target >= 1.5x)`,
    `- tollgate-upstream-2 / tollgate (service by host): ${ratio('tollgate-upstream-2', 'tollgate')} (target >= 0.95x)`,
    `- tollgate-upstream-1000 / tollgate-upstream-2 (round-robin): ${ratio('tollgate-upstream-1000', 'tollgate-upstream-2')} (target >= 0.95x)`,
    `- tollgate-hash-1000 / tollgate-hash-2 (consistent-hashing): ${ratio('tollgate-hash-1000', 'tollgate-hash-2')} (target >= 0.95x)`,
    `- tollgate-many-routes (${opts.routes}) / tollgate-10-routes: ${ratio('tollgate-many-routes', 'tollgate-10-routes')} (target >= 0.9x)`,
    `- tollgate-many-keys (${opts.credentials}) / tollgate-key-auth (10 keys): ${ratio('tollgate-many-keys', 'tollgate-key-auth')} (target >= 0.95x)`,
    `- tollgate-header-isolated / tollgate-header-plugin: ${ratio('tollgate-header-isolated', 'tollgate-header-plugin')}, p99 ${p99Delta('tollgate-header-isolated', 'tollgate-header-plugin')} (target >= 0.9x, p99 within +1 ms)`,
    `- tollgate-2-workers / tollgate-1-worker: ${ratio('tollgate-2-workers', 'tollgate-1-worker')} (target >= 1.4x${PIN ? '; not comparable with pinning on: the load generator and upstream are held to CPU 1 while the workers float. Measure scaling with --no-pin' : ''})`)
  // The plugin bundle's targets (issue #20), for the plugin contestants in this run.
  const pluginTargets: { name: string, against: string, target: PluginBench['target'], ratio?: number, paired?: number, perCpu?: number, met?: boolean }[] = []
  for (const p of PLUGIN_BENCHES) {
    const name = benchName(p)
    const x = byName.get(name)
    if (x === undefined) continue
    const y = byName.get(p.against)
    const t = { name, against: p.against, target: p.target }
    if (y === undefined) { lines.push(`- ${name} / ${p.against}: n/a (${p.against} not in this run)`); pluginTargets.push(t); continue }
    const rounds = Math.min(x.runs.length, y.runs.length)
    const paired = rounds < 2 ? undefined : median(Array.from({ length: rounds }, (_, i) => (x.runs[i] as Run).rps / (y.runs[i] as Run).rps))
    const perCpu = x.cpuUsPerReq === undefined || y.cpuUsPerReq === undefined ? undefined : y.cpuUsPerReq / x.cpuUsPerReq
    // The verdict is taken on the round-by-round ratio when there are rounds to pair: a 3%
    // cost is well inside the drift between rounds on this machine, which pairing removes.
    const r = paired ?? x.rps / y.rps
    const basis = paired === undefined ? 'ratio of medians' : 'round by round'
    const pct = (v: number | undefined): string => v === undefined ? 'n/a' : `${((1 - v) * 100).toFixed(1)}%`
    if (p.target.kind === 'cost') {
      const met = 1 - r <= p.target.max
      pluginTargets.push({ ...t, ratio: x.rps / y.rps, paired, perCpu, met })
      lines.push(`- ${name} / ${p.against}: ${ratio(name, p.against)}: cost ${pct(x.rps / y.rps)} (round by round ${pct(paired)}; per CPU second ${pct(perCpu)}) (target <= ${(p.target.max * 100).toFixed(0)}%, ${basis}): ${met ? 'met' : 'MISSED'}`)
    } else if (p.target.kind === 'ratio') {
      const met = r >= p.target.min
      pluginTargets.push({ ...t, ratio: x.rps / y.rps, paired, perCpu, met })
      lines.push(`- ${name} / ${p.against}: ${ratio(name, p.against)} (target >= ${p.target.min}x, ${basis}): ${met ? 'met' : 'MISSED'}${x.note === undefined ? '' : ` [${x.note}]`}`)
    } else {
      pluginTargets.push({ ...t, ratio: x.rps / y.rps, paired, perCpu })
      lines.push(`- ${name} / ${p.against}: ${ratio(name, p.against)} (no target: ${p.target.why})`)
    }
  }
  if (pluginTargets.length > 0) {
    for (const [plugin, where] of Object.entries(PLUGINS_MEASURED_ELSEWHERE)) lines.push(`- ${plugin}: measured by ${where}`)
    const costs = pluginTargets.filter((t) => t.target.kind === 'cost' && t.met !== undefined)
    lines.push(`- plugins within 3%: ${costs.filter((t) => t.met === true).length} of ${costs.length}${costs.some((t) => t.met === false) ? ` (missed: ${costs.filter((t) => t.met === false).map((t) => t.name.replace('tollgate-plugin-', '')).join(', ')})` : ''}`)
  }
  const tlsSummary = tlsReport(contestants, byName, lines)
  const markdown = `${lines.join('\n')}\n`
  process.stdout.write(markdown)

  mkdirSync(OUT, { recursive: true })
  const now = new Date()
  const file = join(OUT, `${now.toISOString().replace(/[:.]/g, '-')}.json`)
  const record = {
    date: now.toISOString(),
    machine: { cpus: CPUS, node: process.version },
    settings: { duration: DURATION, rounds: ROUNDS, connections: CONNECTIONS, upstream: upstreamKind, pinned: PIN, tlsClients: TLS_CLIENTS, tlsDuration: TLS_DURATION },
    results: summary,
    pluginTargets,
    tls: tlsSummary,
  }
  writeFileSync(file, JSON.stringify(record, null, 2))
  process.stderr.write(`results written to ${file}\n`)
  // The chart is drawn from the JSON as written (NaN as null), as --chart-from would draw it.
  const chart = runChart(JSON.parse(JSON.stringify(record)) as BenchRun)
  writeFileSync(beside(file, 'md'), markdown)
  writeSvg(beside(file, 'svg'), chart)
  process.stderr.write(`table and chart written to ${beside(file, 'md')}, ${beside(file, 'svg')}\n`)
  // Only a run of the whole default set replaces the chart README.md shows: a subset
  // (--only) would pass for the full picture.
  if (only === undefined) {
    mkdirSync(HISTORY, { recursive: true })
    writeFileSync(join(HISTORY, basename(file)), JSON.stringify(record, null, 2))
  }
  const charts = [...(only === undefined ? [PIN ? LATEST_SVG : join(ROOT, 'docs', 'bench', 'latest-no-pin.svg')] : []), ...(opts.chart === undefined ? [] : [opts.chart])]
  for (const to of charts) { writeSvg(to, chart); process.stderr.write(`chart written to ${to}\n`) }
  if (opts.profile !== undefined) await stopForProfiles(contestants)
  if (only === undefined) {
    // Unpinned like the --only run: this process's children would inherit its CPU.
    if (PIN) spawnSync('taskset', ['-p', '-c', `0-${CPUS - 1}`, String(process.pid)])
    declarative()
    postgres()
  }
  process.exit(0)
}

interface TlsSummary { name: string, keepAliveRps: number, newPerSecond: number, resumedPerSecond: number, cpuUsPerNew?: number, cpuUsPerResumed?: number, resumedShare: number, resumedByNode?: boolean }

/**
 * The TLS section (issue #21): per TLS contestant, keep-alive requests/s (wrk's runs),
 * new and resumed handshakes a second (medians), and Tollgate's ratios to nginx and to the
 * bare proxy for each, round by round too. Appends to `lines`; returns the JSON's part.
 */
function tlsReport (contestants: Contestant[], byName: Map<string, { rps: number, runs: Run[], cpuUsPerReq?: number }>, lines: string[]): { clients: number, contestants: TlsSummary[], ratios: Record<string, Record<string, { medians: number, rounds?: number, perCpu?: number }>> } | undefined {
  const tlsOnes = contestants.filter((c) => c.tls !== undefined && c.tls.full.length > 0)
  if (tlsOnes.length === 0) return undefined
  const cpu = (runs: TlsRun[]): number | undefined => runs.every((r) => r.cpuUsPerConn !== undefined) ? median(runs.map((r) => r.cpuUsPerConn as number)) : undefined
  const rows: TlsSummary[] = tlsOnes.map((c) => {
    const t = c.tls as NonNullable<Contestant['tls']>
    const connections = t.resumedRuns.reduce((a, r) => a + r.connections, 0)
    return {
      name: c.name,
      keepAliveRps: byName.get(c.name)?.rps ?? NaN,
      newPerSecond: median(t.full.map((r) => r.rate)),
      resumedPerSecond: median(t.resumedRuns.map((r) => r.rate)),
      cpuUsPerNew: cpu(t.full),
      cpuUsPerResumed: cpu(t.resumedRuns),
      resumedShare: connections === 0 ? 0 : t.resumedRuns.reduce((a, r) => a + r.reused, 0) / connections,
      resumedByNode: t.resumed,
    }
  })
  const n = (x: number): string => Math.round(x).toLocaleString('en-US')
  const us = (x: number | undefined): string => x === undefined ? '' : x.toFixed(0)
  lines.push('', `TLS: keep-alive req/s from the runs above; handshakes: ${TLS_CLIENTS} openssl s_time clients, one request a connection (HTTP/1.0), medians`, '',
    '| contestant | keep-alive req/s | new handshakes/s | CPU us/new | busy | resumed/s | CPU us/resumed | busy | resumed (s_time) | resumes (node client) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|')
  // Busy: the share of one CPU the contestant used during the runs (rate x CPU a connection).
  // Well under 100%, the clients, not the contestant, set the rate: compare CPU us then.
  const busy = (rate: number, cpuUs: number | undefined): string => cpuUs === undefined ? '' : `${(rate * cpuUs / 1e4).toFixed(0)}%`
  for (const r of rows) lines.push(`| ${r.name} | ${n(r.keepAliveRps)} | ${n(r.newPerSecond)} | ${us(r.cpuUsPerNew)} | ${busy(r.newPerSecond, r.cpuUsPerNew)} | ${n(r.resumedPerSecond)} | ${us(r.cpuUsPerResumed)} | ${busy(r.resumedPerSecond, r.cpuUsPerResumed)} | ${(r.resumedShare * 100).toFixed(0)}% | ${r.resumedByNode === true ? 'yes' : '**no**'} |`)
  const ratios: Record<string, Record<string, { medians: number, rounds?: number, perCpu?: number }>> = {}
  const of = (c: Contestant | undefined, kind: string): number[] => c === undefined ? [] : kind === 'keep-alive' ? c.runs.map((r) => r.rps) : ((kind === 'new' ? c.tls?.full : c.tls?.resumedRuns) ?? []).map((r) => r.rate)
  const named = (name: string): Contestant | undefined => contestants.find((c) => c.name === name)
  const cpuOf = (name: string, kind: string): number | undefined => {
    const row = rows.find((r) => r.name === name)
    if (kind === 'keep-alive') return byName.get(name)?.cpuUsPerReq
    return kind === 'new' ? row?.cpuUsPerNew : row?.cpuUsPerResumed
  }
  for (const against of ['nginx-tls', 'bare-tls', 'tollgate-key-auth']) {
    const x = named('tollgate-key-auth-tls')
    const y = named(against)
    if (x === undefined || y === undefined) { lines.push(`- tollgate-key-auth-tls / ${against}: n/a (${x === undefined ? 'tollgate-key-auth-tls' : against} not in this run)`); continue }
    const parts: string[] = []
    ratios[against] = {}
    // Plain key-auth has no handshakes: against it, keep-alive only (what TLS costs Tollgate).
    for (const kind of against === 'tollgate-key-auth' ? ['keep-alive'] : ['keep-alive', 'new', 'resumed']) {
      const a = of(x, kind)
      const b = of(y, kind)
      const rounds = Math.min(a.length, b.length)
      const m = median(a) / median(b)
      const paired = rounds < 2 ? undefined : median(Array.from({ length: rounds }, (_, i) => (a[i] as number) / (b[i] as number)))
      const cx = cpuOf('tollgate-key-auth-tls', kind)
      const cy = cpuOf(against, kind)
      const perCpu = cx === undefined || cy === undefined ? undefined : cy / cx
      ratios[against][kind] = { medians: m, rounds: paired, perCpu }
      parts.push(`${kind} ${m.toFixed(2)}x${paired === undefined ? '' : ` (round by round ${paired.toFixed(2)}x)`}${perCpu === undefined ? '' : ` (per CPU second ${perCpu.toFixed(2)}x)`}`)
    }
    lines.push(`- tollgate-key-auth-tls / ${against}: ${parts.join('; ')}`)
  }
  for (const r of rows) if (r.resumedByNode !== true || r.resumedShare < 0.99) lines.push(`- ${r.name}: sessions NOT resumed (s_time ${(r.resumedShare * 100).toFixed(0)}%, node client ${r.resumedByNode === true ? 'yes' : 'no'}): its resumed/s are full handshakes`)
  return { clients: TLS_CLIENTS, contestants: rows, ratios }
}

/** Stops the contestants with SIGTERM (a clean exit writes --cpu-prof files) and waits. */
async function stopForProfiles (contestants: Contestant[]): Promise<void> {
  await Promise.all(contestants.filter((c) => c.child !== undefined && c.child.exitCode === null).map((c) => new Promise<void>((resolve) => {
    c.child?.once('exit', () => resolve())
    c.child?.kill('SIGTERM')
  })))
  process.stderr.write(`CPU profiles written under ${opts.profile as string}\n`)
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
