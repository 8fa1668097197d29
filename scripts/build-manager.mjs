// Builds Tollgate Manager (manager/) into dist/manager/: type-checks with `tsc -p manager`,
// then bundles with esbuild (minified, ES2020) into app.js and app.css beside index.html.
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = join(root, 'dist', 'manager')
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')

try {
  execFileSync(process.execPath, [tsc, '-p', join(root, 'manager')], { stdio: 'inherit' })
} catch {
  console.error('build-manager: manager/ does not type-check')
  process.exit(1)
}
rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })
await build({
  entryPoints: { app: join(root, 'manager', 'src', 'main.tsx') },
  outdir: out,
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2020',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  logLevel: 'warning',
})
copyFileSync(join(root, 'manager', 'index.html'), join(out, 'index.html'))
