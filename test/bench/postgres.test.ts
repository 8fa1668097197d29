// A smoke run of bench/postgres.ts (database = postgres against lmdb): tiny load, few
// writes and changes. It checks the harness works end to end (PostgreSQL, three gateways,
// the summary and the JSON) and leaves nothing running, not any figure.
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { postgresAvailable } from '../helpers/postgres.js'
import { tempDir } from '../helpers/store.js'

if (postgresAvailable(t)) t.test('npm run bench:postgres, in miniature', async (t) => {
  const out = tempDir(t)
  const script = fileURLToPath(new URL('../../bench/postgres.ts', import.meta.url))
  const args = ['--import', 'tsx', script, '--duration', '1', '--rounds', '2', '--warmup', '0', '--connections', '2', '--writes', '10', '--changes', '5', '--no-pin', '--out', out]
  const marker = `${process.pid}-${Date.now()}`
  const { code, stdout, stderr } = await new Promise<{ code: number | null, stdout: string, stderr: string }>((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BENCH_SMOKE_RUN: marker } })
    let so = ''
    let se = ''
    child.stdout.on('data', (d: Buffer) => { so += d.toString() })
    child.stderr.on('data', (d: Buffer) => { se += d.toString() })
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000)
    child.on('exit', (c) => { clearTimeout(timer); resolve({ code: c, stdout: so, stderr: se }) })
  })
  t.equal(code, 0, stderr)
  t.match(stdout, /\| lmdb \| [\d,]+ \|/)
  t.match(stdout, /\| postgres \| [\d,]+ \|/)
  t.match(stdout, /- postgres \/ lmdb: \d+\.\d{3}x \(round by round \d+\.\d{3}x/)
  t.match(stdout, /from A's 201: p50 [\d.]+ ms, p99 [\d.]+ ms/)
  t.match(stdout, /tollgate listener pg-a: 1, tollgate listener pg-b: 1/, 'one LISTEN connection per node, named by node')
  const files = readdirSync(out).filter((f) => f.endsWith('.json'))
  t.equal(files.length, 1)
  const json = JSON.parse(readFileSync(join(out, files[0] as string), 'utf8')) as { throughput: { lmdb: { errors: number, rps: number }, postgres: { errors: number, rps: number } }, writes: { failures: string[] }, propagation: { missed: string[] } }
  for (const mode of ['lmdb', 'postgres'] as const) {
    t.equal(json.throughput[mode].errors, 0, `${mode}: no errors`)
    t.ok(json.throughput[mode].rps > 0, `${mode}: served requests`)
  }
  t.same(json.writes.failures, [])
  t.same(json.propagation.missed, [])
  // Nothing it started outlives it: gateways, nginx, PostgreSQL (started through runuser).
  const pgPort = Number(/PostgreSQL (\d+)/.exec(stderr)?.[1])
  const refused = await new Promise<boolean>((resolve) => {
    const s = connect(pgPort, '127.0.0.1')
    s.once('connect', () => { s.destroy(); resolve(false) })
    s.once('error', () => resolve(true))
  })
  t.ok(refused, `PostgreSQL (port ${pgPort}) is stopped once the bench exits`)
  if (existsSync('/proc/self/environ')) {
    const left: string[] = []
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        if (readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`BENCH_SMOKE_RUN=${marker}`)) left.push(`${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ')}`)
      } catch {}
    }
    t.same(left, [], 'no process the bench started is left running')
  }
})
