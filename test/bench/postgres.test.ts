// A smoke run of bench/postgres.ts (database = postgres against lmdb): tiny load, few
// writes and changes. It checks the harness works end to end (PostgreSQL, three gateways,
// the summary and the JSON) and leaves nothing running, not any figure.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { leftovers, portClosed, runBench } from '../helpers/bench.js'
import { postgresAvailable } from '../helpers/postgres.js'
import { tempDir } from '../helpers/store.js'

if (postgresAvailable(t)) t.test('npm run bench:postgres, in miniature', async (t) => {
  const out = tempDir(t)
  const run = await runBench('postgres.ts', ['--duration', '1', '--rounds', '2', '--warmup', '0', '--connections', '2', '--writes', '10', '--changes', '5', '--no-pin', '--out', out])
  const { code, stdout, stderr } = run
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
  t.ok(await portClosed(pgPort), `PostgreSQL (port ${pgPort}) is stopped once the bench exits`)
  t.same(leftovers(run), [], 'no process the bench started is left running')
})
