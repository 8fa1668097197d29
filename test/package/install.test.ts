// What a user gets from the packed packages, on a machine with nothing else on it:
// - the gateway's tarball (scripts/pack.mjs, its dependencies locked by npm-shrinkwrap.json)
//   extracted and installed with `npm ci --omit=dev`, the Dockerfile's runtime steps; Kong's
//   Key Authentication guide against it; then a plugin project scaffolded by that install,
//   depending on the packed SDK, tested, built, and loaded isolated into the gateway;
// - the same tarball as an npm user installs it: `npm install --omit=dev ./tollgate-x.tgz`;
// - the production install from a checkout: `npm ci --omit=dev`.
//
// Packing skips the build (--no-build, --ignore-scripts): `npm test` built dist/ just before
// (pretest), and a rebuild here would rewrite dist/ under the test files running beside this one.
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { request } from 'undici'
import { form, runCommand, startGateway, type Exit } from '../helpers/process.js'
import { startMockUpstream } from '../helpers/mock-upstream.js'
import { tempDir } from '../helpers/store.js'

const REPO = fileURLToPath(new URL('../../', import.meta.url))
const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version

/**
 * Runs a command to completion (bounded at 5 minutes: an npm install from the cache takes
 * seconds), without the test runner's own settings (tap's, tsx's loader in NODE_OPTIONS,
 * npm's of `npm test`): they must not reach a separate install.
 */
function run (cmd: string, args: string[], cwd: string): Promise<Exit> {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!/^(TAP|TOLLGATE_|NODE_OPTIONS|npm_)/i.test(k)) env[k] = v
  return runCommand(cmd, args, { cwd, env, timeoutMs: 300_000 })
}
const npm = (args: string[], cwd: string): Promise<Exit> => run('npm', [...args, '--no-audit', '--no-fund', '--prefer-offline'], cwd)

interface Packed { filename: string, files: Array<{ path: string }> }
async function pack (t: Test, dir: string, workspace?: string): Promise<Packed> {
  const r = workspace === undefined
    ? await run(process.execPath, [join(REPO, 'scripts', 'pack.mjs'), '--no-build', '--json', '--destination', dir], REPO)
    : await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir, '--workspace', workspace], REPO)
  t.equal(r.code, 0, `pack: ${r.stderr}`)
  return (JSON.parse(r.stdout) as Packed[])[0] as Packed
}

/** The version of each package the lockfile puts at the top of node_modules. */
function lockedVersions (lockfile: string): Map<string, string> {
  const lock = JSON.parse(readFileSync(lockfile, 'utf8')) as { packages: Record<string, { version?: string }> }
  const out = new Map<string, string>()
  for (const [path, entry] of Object.entries(lock.packages)) {
    const m = /^node_modules\/((?:@[^/]+\/)?[^/]+)$/.exec(path)
    if (m !== null && entry.version !== undefined) out.set(m[1] as string, entry.version)
  }
  return out
}

async function proxied (url: string, headers: Record<string, string> = {}): Promise<{ status: number, body: any }> {
  const res = await request(url, { headers })
  const text = await res.body.text()
  return { status: res.statusCode, body: JSON.parse(text) }
}

t.test('the packed gateway and SDK, installed with --omit=dev into empty directories', async (t) => {
  const dir = tempDir(t, 'tollgate-pack-')

  const gw = await pack(t, dir)
  const gwFiles = gw.files.map((f) => f.path)
  for (const f of ['bin/tollgate.js', 'dist/core/cli/main.js', 'dist/core/isolation/worker.js', 'dist/plugins/key-auth/index.js', 'dist/manager/index.html', 'README.md', 'LICENSE', 'package.json', 'npm-shrinkwrap.json']) {
    t.ok(gwFiles.includes(f), `the gateway's tarball carries ${f}`)
  }
  t.same(gwFiles.filter((f) => /^(test|bench|examples|core|plugins|sdk|manager|scripts)\/|^dist\/(test|bench|examples)\/|\.map$|\.d\.ts$/.test(f)), [], 'and no sources, tests, benchmarks, maps or declarations')
  const sdk = await pack(t, dir, 'sdk')
  t.same(sdk.files.map((f) => f.path).filter((f) => !f.startsWith('types/')).sort(), ['LICENSE', 'README.md', 'dist/index.js', 'package.json'], 'the SDK: its bundle, declarations, README and license')
  t.ok(sdk.files.some((f) => f.path === 'types/sdk/src/index.d.ts'), 'with the declarations its exports name')

  // The Dockerfile's runtime steps: extract, then npm ci --omit=dev against the shrinkwrap.
  const app = join(dir, 'opt-tollgate')
  mkdirSync(app)
  let r = await run('tar', ['-xzf', join(dir, gw.filename), '-C', app, '--strip-components=1'], dir)
  t.equal(r.code, 0, r.stderr)
  const published = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as Record<string, unknown>
  t.same(['scripts', 'devDependencies', 'workspaces'].filter((k) => k in published), [], 'its package.json has no development fields')
  r = await npm(['ci', '--omit=dev'], app)
  t.equal(r.code, 0, `npm ci --omit=dev in the extracted tarball: ${r.stderr}`)
  const modules = readdirSync(join(app, 'node_modules'))
  t.notOk(modules.includes('typescript') || modules.includes('tap') || modules.includes('esbuild'), 'no development packages')
  t.notOk(existsSync(join(app, 'node_modules', '@tollgate', 'sdk')), 'the gateway does not need the SDK package: its plugins run against its own copy')
  const locked = lockedVersions(join(REPO, 'package-lock.json'))
  const drift = Object.keys(published.dependencies as Record<string, string>).concat(['find-my-way', 'light-my-request', 'pino-std-serializers'])
    .filter((name) => existsSync(join(app, 'node_modules', name)))
    .map((name) => [name, (JSON.parse(readFileSync(join(app, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version, locked.get(name)])
    .filter(([, have, want]) => have !== want)
  t.same(drift, [], "the versions are package-lock.json's, not the newest in range")
  const bin = join(app, 'bin', 'tollgate.js')
  r = await run(process.execPath, [bin, 'version'], app)
  t.same([r.code, r.stdout.trim()], [0, VERSION], 'tollgate version')

  // Kong's Key Authentication guide, in short, against the installed gateway.
  const up = await startMockUpstream(t)
  const prefix = join(dir, 'prefix')
  let gateway = await startGateway(t, ['--prefix', prefix], {}, { bin, cwd: app })
  let A = gateway.admin
  t.equal((await form(`${A}/services`, 'POST', { name: 'example_service', url: up.url })).status, 201)
  t.equal((await form(`${A}/services/example_service/routes`, 'POST', { name: 'example_route', 'paths[]': '/mock' })).status, 201)
  t.equal((await form(`${A}/plugins/`, 'POST', { name: 'key-auth', 'config.key_names': 'apikey' })).status, 201)
  t.equal((await form(`${A}/consumers/`, 'POST', { username: 'luka' })).status, 201)
  t.equal((await form(`${A}/consumers/luka/key-auth`, 'POST', { key: 'top-secret-key' })).status, 201)
  let p = await proxied(`${gateway.proxy}/mock/request`)
  t.same([p.status, p.body.message], [401, 'No API key found in request'], 'no key: 401')
  p = await proxied(`${gateway.proxy}/mock/request`, { apikey: 'bad-key' })
  t.same([p.status, p.body.message], [401, 'Invalid authentication credentials'], 'a wrong key: 401')
  p = await proxied(`${gateway.proxy}/mock/request`, { apikey: 'top-secret-key' })
  t.same([p.status, p.body.headers['x-consumer-username']], [200, 'luka'], 'the key: proxied as luka')
  r = await run(process.execPath, [bin, 'health', '--prefix', prefix], app)
  t.equal(r.code, 0, `tollgate health: ${r.stdout}${r.stderr}`)

  // A plugin project from the installed gateway's scaffold, on the packed SDK.
  r = await run(process.execPath, [bin, 'plugin', 'init', 'hello', '--dir', dir, '--sdk', join(dir, sdk.filename)], app)
  t.equal(r.code, 0, r.stderr)
  const project = join(dir, 'hello')
  r = await npm(['install'], project)
  t.equal(r.code, 0, `npm install in the plugin project: ${r.stderr}`)
  r = await run('npm', ['test'], project)
  t.equal(r.code, 0, `the scaffold's test passes on the packed SDK: ${r.stdout}${r.stderr}`)
  t.match(r.stdout, /# pass 1/)
  r = await run('npm', ['run', 'build'], project)
  t.equal(r.code, 0, `npm run build: ${r.stdout}${r.stderr}`)

  // SIGTERM stops the gateway gracefully; the next start keeps what was stored and runs the plugin isolated.
  gateway.child.kill('SIGTERM')
  t.equal((await gateway.exited).code, 0, 'SIGTERM: a clean exit')
  gateway = await startGateway(t, ['--prefix', prefix], {
    TOLLGATE_PLUGINS: `bundled, ${join(project, 'dist', 'index.js')}`,
    TOLLGATE_ISOLATED_PLUGINS: 'hello',
  }, { bin, cwd: app })
  A = gateway.admin
  t.equal((await form(`${A}/routes/example_route/plugins`, 'POST', { name: 'hello', 'config.value': 'from-a-worker' })).status, 201)
  p = await proxied(`${gateway.proxy}/mock/request`, { apikey: 'top-secret-key' })
  t.equal(p.status, 200, 'the stored key still works')
  t.equal(p.body.headers['x-hello'], 'from-a-worker', 'the packed plugin ran (isolated) and set its header upstream')
  gateway.child.kill('SIGTERM')
  t.equal((await gateway.exited).code, 0)

  // As an npm user installs a local tarball: into a project, resolved afresh within the ranges.
  const project2 = join(dir, 'user-project')
  mkdirSync(project2)
  writeFileSync(join(project2, 'package.json'), '{ "name": "user-project", "private": true }\n')
  r = await npm(['install', '--omit=dev', join(dir, gw.filename)], project2)
  t.equal(r.code, 0, `npm install --omit=dev ./${gw.filename}: ${r.stderr}`)
  r = await run(join(project2, 'node_modules', '.bin', 'tollgate'), ['version'], project2)
  t.same([r.code, r.stdout.trim()], [0, VERSION], 'its bin runs')
})

t.test('npm ci --omit=dev in a checkout: keeps the build made before, or says what to do', async (t) => {
  const dir = tempDir(t, 'tollgate-prod-')
  for (const f of ['package.json', 'package-lock.json', 'bin', 'scripts', 'dist/core', 'dist/plugins', 'dist/sdk', 'dist/manager', 'sdk/package.json']) {
    cpSync(join(REPO, f), join(dir, f), { recursive: true })
  }
  let r = await npm(['ci', '--omit=dev'], dir)
  t.equal(r.code, 0, `npm ci --omit=dev: ${r.stderr}`)
  t.match(r.stderr, /TypeScript is not installed \(a production install\): using the build already in dist\//)
  t.notOk(existsSync(join(dir, 'node_modules', 'typescript')), 'no TypeScript: the build was not redone')
  r = await run(process.execPath, [join(dir, 'bin', 'tollgate.js'), 'version'], dir)
  t.same([r.code, r.stdout.trim()], [0, VERSION])

  renameSync(join(dir, 'dist'), join(dir, 'dist.moved'))
  r = await run('npm', ['run', 'build'], dir)
  t.equal(r.code, 1, 'no TypeScript and no dist/: the build fails')
  t.match(r.stderr, /cannot build: TypeScript is not installed .*and dist\/ holds no build/)
  t.match(r.stderr, /npm ci && npm run build/, 'and says what to run')
  r = await run(process.execPath, [join(dir, 'bin', 'tollgate.js'), 'start'], dir)
  t.equal(r.code, 1)
  t.match(r.stderr, /tollgate is not built/, 'the CLI says it is not built, rather than crashing')
})

t.test('pack refuses a destination it cannot make, with a message and exit code 1', { skip: process.platform === 'linux' ? false : 'needs /proc (Linux)' }, async (t) => {
  // /proc answers mkdir with ENOENT, on which node's recursive mkdir spun for ever (core/dirs.ts).
  const r = await run(process.execPath, [join(REPO, 'scripts', 'pack.mjs'), '--no-build', '--destination', '/proc/tollgate-test'], REPO)
  t.equal(r.code, 1)
  t.equal(r.stderr, 'pack: cannot use --destination /proc/tollgate-test: ENOENT\n')
})
