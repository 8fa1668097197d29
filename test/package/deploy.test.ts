// The deployment files, checked as far as this machine allows (it has no Docker engine):
// the Dockerfile linted by dockerfile-utils (the validator VS Code's Docker support uses) and
// read for what the README promises of it; the systemd unit verified by systemd-analyze; the
// settings all three pass in the environment accepted by the gateway's configuration; and
// docker-compose.yml's tollgate service, with its command and environment, started against
// a real PostgreSQL. The install steps the Dockerfile runs are the ones install.test.ts runs.
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { validate } from 'dockerfile-utils'
import { load as loadYaml } from 'js-yaml'
import t from 'tap'
import { request } from 'undici'
import { loadConfig } from '../../core/config/index.js'
import { BIN, form, runCli, startGateway } from '../helpers/process.js'
import { postgresAvailable, startPostgres } from '../helpers/postgres.js'
import { tempDir } from '../helpers/store.js'

const REPO = fileURLToPath(new URL('../../', import.meta.url))
const read = (f: string): string => readFileSync(join(REPO, f), 'utf8')

interface Instruction { stage: number, op: string, args: string }
/** The Dockerfile's instructions, continuation lines joined, with the stage each is in. */
function instructions (text: string): Instruction[] {
  const out: Instruction[] = []
  let stage = -1
  for (const line of text.replace(/\\\n/g, ' ').split('\n')) {
    const m = /^\s*([A-Z]+)\s+(.*)$/.exec(line)
    if (m === null || line.trimStart().startsWith('#')) continue
    if (m[1] === 'FROM') stage++
    out.push({ stage, op: m[1] as string, args: (m[2] as string).trim() })
  }
  return out
}

/** `KEY=value` pairs of ENV instructions (the `ENV a=b c=d` form). */
function envOf (ins: Instruction[]): Record<string, string> {
  const env: Record<string, string> = {}
  for (const i of ins.filter((x) => x.op === 'ENV')) for (const m of i.args.matchAll(/([A-Z_]+)=("[^"]*"|\S+)/g)) env[m[1] as string] = (m[2] as string).replace(/^"|"$/g, '')
  return env
}

t.test('the Dockerfile: lints clean, two stages, a non-root runtime on Node 20 slim', async (t) => {
  const text = read('Dockerfile')
  t.same(validate(text).map((d) => `${d.range.start.line + 1}: ${d.message}`), [], 'dockerfile-utils finds nothing')
  const ins = instructions(text)
  const froms = ins.filter((i) => i.op === 'FROM')
  t.equal(froms.length, 2, 'a build stage and a runtime stage')
  for (const f of froms) t.match(f.args, /^node:20-[a-z]+-slim\b/, `${f.args}: Node 20, slim`)
  const runtime = ins.filter((i) => i.stage === 1)
  const buildName = /\bAS\s+(\S+)/i.exec(froms[0]?.args ?? '')?.[1]
  t.ok(runtime.some((i) => i.op === 'COPY' && i.args.startsWith(`--from=${buildName ?? '?'} `)), 'the runtime takes the packed tarball from the build stage')
  t.ok(runtime.some((i) => i.op === 'RUN' && /tar -xzf \/tmp\/tollgate-\*\.tgz .*npm ci --omit=dev/.test(i.args)), 'and installs it with npm ci --omit=dev against its shrinkwrap, as install.test.ts does')
  t.ok(ins.some((i) => i.stage === 0 && i.op === 'RUN' && /scripts\/pack\.mjs/.test(i.args)), 'packed by scripts/pack.mjs, which locks the dependencies')
  t.ok(ins.some((i) => i.stage === 0 && i.op === 'RUN' && /npm ci\b/.test(i.args)), 'the build stage installs from the lockfile')
  const user = runtime.filter((i) => i.op === 'USER').at(-1)?.args
  t.ok(user !== undefined && !/^(root|0)(:|$)/.test(user), `runs as a non-root user (${user ?? 'none'})`)
  const env = envOf(runtime)
  t.equal(env.TOLLGATE_PREFIX, '/var/lib/tollgate')
  t.match(runtime.find((i) => i.op === 'VOLUME')?.args ?? '', env.TOLLGATE_PREFIX as string, 'the prefix is a volume')
  const exposed = runtime.filter((i) => i.op === 'EXPOSE').flatMap((i) => i.args.split(/\s+/))
  for (const port of ['8000', '8001']) t.ok(exposed.includes(port), `exposes ${port}`)
  t.match(runtime.find((i) => i.op === 'HEALTHCHECK')?.args ?? '', /CMD \["tollgate", "health"\]/, 'HEALTHCHECK runs tollgate health')
  t.match(runtime.find((i) => i.op === 'CMD')?.args ?? '', /\["tollgate", "start"\]/)
  t.same(loadConfig({ env, cwd: REPO }).prefix, '/var/lib/tollgate', "the image's environment is a valid configuration")

  // Every file the build stage copies before `COPY . .` exists, and .dockerignore keeps out what the build remakes.
  for (const i of ins.filter((x) => x.stage === 0 && x.op === 'COPY' && !x.args.startsWith('.'))) {
    for (const src of i.args.split(/\s+/).slice(0, -1)) t.doesNotThrow(() => readFileSync(join(REPO, src)), `COPY ${src}: present`)
  }
  const ignored = read('.dockerignore').split('\n')
  for (const p of ['**/node_modules', 'dist', '.git']) t.ok(ignored.includes(p), `.dockerignore: ${p}`)
})

t.test('deploy/tollgate.service: systemd-analyze verifies it, and its environment is a valid configuration', async (t) => {
  const unit = read('deploy/tollgate.service')
  const env: Record<string, string> = {}
  for (const m of unit.matchAll(/^Environment=([A-Z_]+)=(.*)$/gm)) env[m[1] as string] = m[2] as string
  t.equal(env.TOLLGATE_PREFIX, '/var/lib/tollgate')
  t.match(unit, /^StateDirectory=tollgate$/m, 'systemd makes the prefix, owned by the service user')
  t.match(unit, /^KillSignal=SIGTERM$/m, 'SIGTERM stops it (gracefully: install.test.ts)')
  t.match(unit, /^ExecStart=\S+\/tollgate start$/m)
  t.equal(loadConfig({ env, cwd: REPO }).prefix, '/var/lib/tollgate')

  const which = spawnSync('sh', ['-c', 'command -v systemd-analyze'], { encoding: 'utf8' })
  if (which.status !== 0) {
    if (process.env.CI === 'true') t.fail('systemd-analyze is not installed (CI=true: .ci/run must install systemd)')
    else t.comment('systemd-analyze is not installed: not verified (apt-get install -y systemd)')
    return
  }
  // verify wants ExecStart's program to exist: the checkout's CLI stands in for the installed one.
  const file = join(tempDir(t), 'tollgate.service')
  writeFileSync(file, unit.replace(/^ExecStart=\S+/m, `ExecStart=${BIN}`))
  const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' })
  t.equal(r.status, 0, r.stderr)
  t.equal(r.stderr.split('\n').filter((l) => l.includes('tollgate.service')).join('\n'), '', 'no warnings about the unit')
})

t.test("docker-compose.yml's tollgate service, its command and environment, on a real PostgreSQL", async (t) => {
  if (!postgresAvailable(t)) return
  const compose = loadYaml(read('docker-compose.yml')) as { services: Record<string, { command?: string[], environment?: Record<string, string>, depends_on?: Record<string, unknown>, build?: string, image?: string }> }
  const svc = compose.services.tollgate
  t.ok(svc !== undefined && compose.services.postgres !== undefined, 'a tollgate and a postgres service')
  if (svc === undefined) return
  t.equal(svc.build, '.', "built from this checkout's Dockerfile")
  t.ok(svc.depends_on?.postgres !== undefined, 'started after PostgreSQL is healthy')
  t.equal(compose.services.postgres?.image, 'postgres:15')
  const command = svc.command ?? []
  t.same(command.slice(0, 2), ['tollgate', 'start'])

  const pg = await startPostgres(t)
  const database = await pg.createDatabase()
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(svc.environment ?? {})) env[k] = String(v).replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')
  t.equal(env.TOLLGATE_DATABASE, 'postgres')
  // The container's addresses become this machine's loopback; the rest is the file's.
  Object.assign(env, pg.env(database), { TOLLGATE_ADMIN_LISTEN: '127.0.0.1:0', TOLLGATE_ADMIN_GUI_LISTEN: 'off', TOLLGATE_PREFIX: tempDir(t) })
  const gw = await startGateway(t, command.slice(2), env)
  t.match(gw.output(), /migrat|bootstrap/i, '--run-migrations bootstrapped the schema')
  t.equal((await form(`${gw.admin}/services`, 'POST', { name: 'compose', url: 'http://127.0.0.1:9/' })).status, 201, 'the Admin API stores in PostgreSQL')
  const rows = await (await pg.client(database)).query("SELECT value->>'name' AS name FROM tollgate_entities WHERE entity = 'services'")
  t.same(rows.rows.map((r: { name: string }) => r.name), ['compose'], 'written to PostgreSQL')
  const health = await runCli(['health'], { TOLLGATE_PREFIX: env.TOLLGATE_PREFIX as string })
  t.equal(health.code, 0, `the image's HEALTHCHECK command: ${health.stdout}${health.stderr}`)
  const status = await request(`${gw.admin}/status`)
  t.equal(status.statusCode, 200)
  t.match(await status.body.json(), { database: { reachable: true } })
})
