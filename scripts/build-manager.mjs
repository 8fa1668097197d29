// Builds Tollgate Manager (manager/) into dist/manager/: type-checks with `tsc -p manager`,
// then bundles with esbuild (minified, ES2020) into app-<hash>.js and app-<hash>.css, which
// index.html (manager/index.html with those names filled in) loads after /kconfig.js.
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = join(root, 'dist', 'manager')

// --no-check (the quick build of `npm install`): bundle only; `npm run build` and `npm test` type-check.
if (!process.argv.includes('--no-check')) {
  try {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
    execFileSync(process.execPath, [tsc, '-p', join(root, 'manager')], { stdio: 'inherit' })
  } catch {
    console.error('build-manager: manager/ does not type-check')
    process.exit(1)
  }
}
rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })
const result = await build({
  entryPoints: { app: join(root, 'manager', 'src', 'main.tsx') },
  outdir: out,
  // Content-hashed names: the gateway serves them as immutable.
  entryNames: '[name]-[hash]',
  metafile: true,
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2020',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  logLevel: 'warning',
})
const outputs = Object.keys(result.metafile.outputs).map((f) => basename(f))
const named = (ext) => {
  const f = outputs.find((o) => o.startsWith('app-') && o.endsWith(ext))
  if (f === undefined) throw new Error(`build-manager: no app${ext} in the bundle`)
  return f
}
const html = readFileSync(join(root, 'manager', 'index.html'), 'utf8')
  .replace('"/app.js"', `"/${named('.js')}"`)
  .replace('"/app.css"', `"/${named('.css')}"`)
writeFileSync(join(out, 'index.html'), html)
// The bundle carries Preact's and uPlot's code: their MIT notices ship beside it.
const notices = ['preact', 'uplot'].map((pkg) => {
  const text = readFileSync(join(root, 'node_modules', pkg, 'LICENSE'), 'utf8')
  return `${pkg}\n${'-'.repeat(pkg.length)}\n${text.trim()}\n`
})
writeFileSync(join(out, 'THIRD-PARTY-LICENSES.txt'), `Tollgate Manager bundles the following packages.\n\n${notices.join('\n')}`)
