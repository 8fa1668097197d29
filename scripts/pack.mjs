// `npm run pack`: the gateway's tarball, with its dependency tree locked.
//
// A plain `npm pack` works too, but npm never packs package-lock.json: an install of that
// tarball resolves every dependency afresh within its range, so two images built a week
// apart run different fastify or undici releases from the ones the tests and benchmarks
// ran. For applications npm's answer is npm-shrinkwrap.json, which does ship and which
// npm obeys when installing the package. It cannot live in the checkout (npm would prefer
// it to package-lock.json for development installs), so this stages the package in a
// temporary directory: the files `files` names, a package.json without the development
// fields (scripts, devDependencies, workspaces), and a shrinkwrap made from the production
// part of package-lock.json. Then `npm pack` there.
//
// npm honours a shrinkwrap when it installs the package from a registry; from a local
// tarball (`npm install ./tollgate-x.tgz`) it resolves afresh. The locked install of a
// tarball is the Dockerfile's: extract it, then `npm ci --omit=dev` inside, which takes
// npm-shrinkwrap.json as its lockfile.
//
//   node scripts/pack.mjs [--destination DIR] [--no-build] [--json]
import { execFileSync } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
let opts
try {
  opts = parseArgs({ options: { destination: { type: 'string', default: '.' }, 'no-build': { type: 'boolean', default: false }, json: { type: 'boolean', default: false } } }).values
} catch (err) {
  console.error(`pack: ${err.message}\nusage: node scripts/pack.mjs [--destination DIR] [--no-build] [--json]`)
  process.exit(2)
}
if (!opts['no-build']) execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' })

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'))
const KEEP = ['name', 'version', 'description', 'type', 'license', 'engines', 'bin', 'files', 'dependencies']
const published = Object.fromEntries(KEEP.filter((k) => pkg[k] !== undefined).map((k) => [k, pkg[k]]))
// npm 11 packs a shrinkwrap only when `files` names it.
published.files = [...published.files, 'npm-shrinkwrap.json']

// The lockfile's production packages: not dev-only, not the SDK workspace or its link.
const packages = { '': { name: pkg.name, version: pkg.version, license: pkg.license, dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines } }
for (const [path, entry] of Object.entries(lock.packages)) {
  if (path === '' || entry.dev === true || entry.link === true) continue
  if (!path.startsWith('node_modules/')) continue
  packages[path] = entry
}
const shrinkwrap = { name: pkg.name, version: pkg.version, lockfileVersion: 3, requires: true, packages }

const destination = resolve(opts.destination)
// The build's makeDirectory, not mkdirSync's recursive option, which spins for ever on a
// directory the filesystem will not make (core/dirs.ts).
const dirs = pathToFileURL(join(root, 'dist', 'core', 'dirs.js')).href
const { makeDirectory } = await import(dirs).catch(() => {
  console.error('pack: dist/ is not built; run `npm run build`, or leave out --no-build')
  process.exit(1)
})
try {
  makeDirectory(destination)
} catch (err) {
  console.error(`pack: cannot use --destination ${opts.destination}: ${err.code ?? err.message}`)
  process.exit(1)
}
const stage = mkdtempSync(join(tmpdir(), 'tollgate-pack-'))
try {
  for (const f of ['bin', 'dist', 'README.md', 'LICENSE']) cpSync(join(root, f), join(stage, f), { recursive: true })
  writeFileSync(join(stage, 'package.json'), `${JSON.stringify(published, null, 2)}\n`)
  writeFileSync(join(stage, 'npm-shrinkwrap.json'), `${JSON.stringify(shrinkwrap, null, 2)}\n`)
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', destination, ...(opts.json ? ['--json'] : [])], { cwd: stage, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
  process.stdout.write(out)
} catch (err) {
  console.error(`pack: ${err.message.split('\n')[0]}`)
  process.exitCode = 1
} finally {
  rmSync(stage, { recursive: true, force: true })
}
