// A smoke run of the benchmark harness: tiny duration, a few contestants. It checks the
// harness works end to end (processes, load, table, JSON, the plugin contestants' ready
// checks), not any figure.
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { leftovers, portClosed, runBench } from '../helpers/bench.js'
import { tempDir } from '../helpers/store.js'
import { PLUGIN_BENCHES, PLUGINS_MEASURED_ELSEWHERE, benchName, missing, type PluginBench } from '../../bench/plugins.js'
import { bundledPlugins } from '../../plugins/index.js'

// Two plugin contestants and their baseline, kept few: each is a gateway to start (a few
// seconds on a busy 2-core machine). The stack's ready check covers key-auth, acl, cors
// and prometheus (its /metrics counts the route).
const PLUGIN_SMOKE = ['tollgate', 'tollgate-plugin-http-log', 'tollgate-plugin-stack']
// One TLS contestant (issue #21), Tollgate's: key-auth on a TLS proxy listener, wrk's https
// runs and, with openssl on PATH, a resumption check and quarter-second handshake runs.
const TLS_SMOKE = ['tollgate-key-auth-tls']

t.test('npm run bench, in miniature', async (t) => {
  const out = tempDir(t)
  // Every process the harness starts carries a marker; none may be left once it exits.
  const run = await runBench('run.ts', ['--duration', '1', '--rounds', '2', '--warmup', '0', '--connections', '2', '--only', `bare,tollgate-key-auth,tollgate-2-workers,tollgate-hash-2,${PLUGIN_SMOKE.join(',')},${TLS_SMOKE.join(',')}`, '--tls-duration', '0.25', '--out', out, '--no-pin'])
  const { code, stdout, stderr } = run
  t.equal(code, 0, stderr)
  t.match(stderr, /upstream: (node|nginx) on 127\.0\.0\.1:\d+/, 'says which upstream it started')
  t.match(stderr, /load: (wrk|autocannon)/, 'and which load generator drives it')
  // Nothing it started outlives it: nginx's workers, for one, once survived their master.
  const upstreamPort = Number(/upstream: \w+ on 127\.0\.0\.1:(\d+)/.exec(stderr)?.[1])
  t.ok(await portClosed(upstreamPort), `the upstream (port ${upstreamPort}) is gone once the harness exits`)
  // The children share the harness's session now (see bench/run.ts), so the harness finds
  // and kills whole process trees itself: a cluster primary's workers included.
  t.same(leftovers(run), [], 'no process the harness started is left running')
  t.match(stdout, /\| bare \| [\d,]+ \| 1\.00x \|/)
  t.match(stdout, /\| tollgate-key-auth \| [\d,]+ \| \d\.\d\dx \|/)
  t.match(stdout, /- tollgate-key-auth \/ bare: \d+\.\d\dx \(round by round: \d+\.\d\dx\)/, 'the ratio of medians and the median of per-round ratios')
  const files = readdirSync(out).filter((f) => f.endsWith('.json'))
  t.equal(files.length, 1)
  const json = JSON.parse(readFileSync(join(out, files[0] as string), 'utf8')) as { results: { name: string, errors: number, rps: number }[], tls?: { contestants: { name: string, newPerSecond: number, resumedPerSecond: number, resumedShare: number, resumedByNode: boolean }[] } }
  // Beside the JSON: the table as printed, and the run's chart (bench/chart.ts), a bar per contestant.
  const stamp = join(out, (files[0] as string).replace(/\.json$/, ''))
  t.equal(readFileSync(`${stamp}.md`, 'utf8'), stdout, '<stamp>.md is the markdown printed')
  t.equal(readFileSync(`${stamp}.svg`, 'utf8').match(/data-metric="rps"/g)?.length, json.results.length, '<stamp>.svg has a bar per contestant')
  // tollgate-hash-2: a service balanced over an upstream, its targets on loopback addresses besides 127.0.0.1.
  // The plugin contestants started only if their ready checks passed: http-log's collector
  // got an entry, the stack refused a missing key (401) and an outsider (403), sent CORS
  // headers and counted the request on /metrics.
  t.same(json.results.map((r) => r.name), ['bare', 'tollgate', 'tollgate-key-auth', 'tollgate-key-auth-tls', 'tollgate-hash-2', 'tollgate-plugin-http-log', 'tollgate-plugin-stack', 'tollgate-2-workers'])
  // TLS: keep-alive over https is in the results (errors 0 below); the handshake runs need openssl.
  if (/TLS handshake runs skipped: openssl is not on PATH/.test(stderr)) t.comment('no openssl on PATH: handshake runs not checked')
  else {
    t.match(stderr, /tollgate-key-auth-tls: TLSv1\.3, resumes a TLS session/, 'TLS 1.3, and the resumption check passed')
    t.match(stdout, /\| tollgate-key-auth-tls \| [\d,]+ \| [\d,]+ \| \d* \| \d*%? \| [\d,]+ \|/, 'a row of the TLS table')
    const tls = json.tls?.contestants.find((c) => c.name === 'tollgate-key-auth-tls')
    t.ok(tls !== undefined && tls.newPerSecond > 0 && tls.resumedPerSecond > 0, 'new and resumed handshakes were made')
    t.equal(tls?.resumedShare, 1, 'every connection of the resumed runs resumed')
    t.match(stdout, /- tollgate-key-auth-tls \/ tollgate-key-auth: keep-alive \d+\.\d\dx/, 'what TLS costs key-auth')
  }
  t.match(stdout, /- tollgate-plugin-http-log \/ tollgate: \d+\.\d\dx .*: cost -?\d+\.\d% \(round by round -?\d+\.\d%; per CPU second -?\d+\.\d%\) \(target <= 3%, round by round\): (met|MISSED)/, 'a plugin\'s cost against tollgate, met or missed')
  t.match(stdout, /- tollgate-plugin-stack \/ bare: \d+\.\d\dx \(round by round: \d+\.\d\dx\).* \(target >= 0\.8x, round by round\): (met|MISSED)/, 'the stack against bare, met or missed')
  for (const r of json.results) {
    t.equal(r.errors, 0, `${r.name}: no errors`)
    t.ok(r.rps > 0, `${r.name}: served requests`)
  }
})

t.test('every bundled plugin has a bench contestant (or is measured by another)', async (t) => {
  const benched = new Set(PLUGIN_BENCHES.flatMap((p) => p.needs))
  for (const p of bundledPlugins) t.ok(benched.has(p.name) || p.name in PLUGINS_MEASURED_ELSEWHERE, `${p.name} is benched`)
  // run.ts skips, with a note, a set-up whose plugins are not all bundled.
  t.same(missing(PLUGIN_BENCHES.find((p) => p.id === 'acl') as PluginBench, new Set(['acl'])), ['key-auth'], 'a set-up names the plugins this tree lacks')
  t.same(new Set(PLUGIN_BENCHES.map(benchName)).size, PLUGIN_BENCHES.length, 'contestant names are unique')
})

/** Runs the harness with arguments it should refuse; resolves with its exit code and stderr. */
function refused (args: string[]): Promise<{ code: number | null, stderr: string }> {
  const script = fileURLToPath(new URL('../../bench/run.ts', import.meta.url))
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
    let se = ''
    child.stderr.on('data', (d: Buffer) => { se += d.toString() })
    child.on('exit', (c) => resolve({ code: c, stderr: se }))
  })
}

t.test('a bad --loader is refused with a message, before anything starts', async (t) => {
  const { code, stderr } = await refused(['--loader', 'ab'])
  t.equal(code, 2)
  t.match(stderr, /--loader must be auto, wrk or autocannon \(got 'ab'\)/)
})

t.test('a --baseline that is not a built checkout is refused', async (t) => {
  const dir = tempDir(t)
  const { code, stderr } = await refused(['--baseline', dir])
  t.equal(code, 2)
  t.match(stderr, /--baseline .*: not a built Tollgate checkout/)
})
