// Builds the standalone @tollgate/sdk package in sdk/ from the gateway's compiled output:
//   sdk/dist/index.js  the SDK and the parts of core it runs (the test kit drives the real
//                      PDK, router and runtime), bundled by esbuild into one module; its
//                      packages (typebox, lmdb) stay imports, so they are its dependencies;
//   sdk/types/         the declaration files of dist/sdk/src/index.d.ts and all it reaches,
//                      in their dist/ layout, so their relative imports hold.
// A plugin project then depends on a version range of @tollgate/sdk, not a path into a
// checkout. Nothing in the SDK is identity-checked by the gateway (DbError carries a
// Symbol.for brand; channels are looked up by name), so a plugin's own copy works with it.
//
// The gateway's bundled plugins import '@tollgate/sdk' too, as third-party ones do: their
// compiled files get a relative path to the gateway's own dist/sdk instead, so that they run
// against the gateway's modules (one copy in memory) and need no node_modules/@tollgate/sdk
// in the packed gateway.
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dist = join(root, 'dist')
const sdk = join(root, 'sdk')

const SPEC = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])@tollgate\/sdk\2/g
function rewrite (dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = join(dir, entry.name)
    if (entry.isDirectory()) { rewrite(file); continue }
    if (!entry.name.endsWith('.js')) continue
    const text = readFileSync(file, 'utf8')
    if (!text.includes('@tollgate/sdk')) continue
    let to = relative(dirname(file), join(dist, 'sdk', 'src', 'index.js')).split(sep).join('/')
    if (!to.startsWith('.')) to = `./${to}`
    const out = text.replace(SPEC, (_m, lead, q) => `${lead}${q}${to}${q}`)
    if (out !== text) writeFileSync(file, out)
  }
}
rewrite(join(dist, 'plugins'))
// --link-only (the quick build): the bundled plugins' imports, not the SDK package.
if (process.argv.includes('--link-only')) process.exit(0)

rmSync(join(sdk, 'dist'), { recursive: true, force: true })
await build({
  entryPoints: [join(dist, 'sdk', 'src', 'index.js')],
  outfile: join(sdk, 'dist', 'index.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  legalComments: 'none',
  logLevel: 'warning',
})

// Declarations: follow relative imports from the SDK's entry, copy each file once.
const types = join(sdk, 'types')
rmSync(types, { recursive: true, force: true })
const seen = new Set()
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.[^'"]+)['"]/g
function copyTypes (file) {
  if (seen.has(file)) return
  seen.add(file)
  const text = readFileSync(file, 'utf8')
  const target = join(types, relative(dist, file))
  mkdirSync(dirname(target), { recursive: true })
  // Source maps of declarations point into a checkout; the package ships without them.
  writeFileSync(target, text.replace(/\n\/\/# sourceMappingURL=.*$/, '\n'))
  for (const m of text.matchAll(IMPORT)) copyTypes(resolve(dirname(file), m[1].replace(/\.js$/, '.d.ts')))
}
copyTypes(join(dist, 'sdk', 'src', 'index.d.ts'))
cpSync(join(root, 'LICENSE'), join(sdk, 'LICENSE'))
