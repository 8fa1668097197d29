// `npm run build` (and npm's prepare, prestart, pretest): compiles the gateway with tsc, builds
// Tollgate Manager, then the standalone @tollgate/sdk package (scripts/build-sdk.mjs).
//
// A production install (`npm ci --omit=dev`, as the Dockerfile's runtime stage and the
// systemd guide do it) has no TypeScript: there it keeps the dist/ built before, and says so;
// with no dist/ either, it stops with what to run instead.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(import.meta.url)
let tsc
try {
  tsc = require.resolve('typescript/bin/tsc')
} catch {
  if (existsSync(join(root, 'dist', 'core', 'cli', 'main.js')) && existsSync(join(root, 'dist', 'manager', 'index.html'))) {
    console.error('tollgate: TypeScript is not installed (a production install): using the build already in dist/')
    process.exit(0)
  }
  console.error(`tollgate: cannot build: TypeScript is not installed (a production install), and dist/ holds no build.
  Build first where the dev dependencies are (npm ci && npm run build), then copy dist/ along,
  or install the packed tarball (npm pack; npm install -g ./tollgate-<version>.tgz), which carries dist/.`)
  process.exit(1)
}
const run = (args) => execFileSync(process.execPath, args, { cwd: root, stdio: 'inherit' })
try {
  run([tsc, '-b'])
} catch {
  console.error('tollgate: tsc -b failed (above)')
  process.exit(1)
}
run([join(root, 'scripts', 'build-manager.mjs')])
run([join(root, 'scripts', 'build-sdk.mjs')])
