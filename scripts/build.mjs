// Builds dist/. Two modes:
//   node scripts/build.mjs          `npm run build`, pretest, prepack: tsc -b (type-checks
//                                   everything, tests and benchmarks too, and emits the
//                                   declarations), Tollgate Manager type-checked and bundled,
//                                   then the standalone @tollgate/sdk (scripts/build-sdk.mjs).
//   node scripts/build.mjs --quick  npm's prepare (`npm install`) and prestart: esbuild
//                                   transpiles core/, plugins/ and sdk/src/ file by file
//                                   (the code is isolatedModules-clean) and bundles the
//                                   Manager, unchecked: under a second, against tsc's 20 s,
//                                   which kept `npm install` over 30 s. Type errors surface
//                                   in `npm test` and `npm run build`, which CI runs.
// The packed tarball (and so the container image) always carries the full build: prepack.
//
// A production install (`npm ci --omit=dev`) has neither TypeScript nor esbuild: there it
// keeps the dist/ built before, and says so; with no dist/ either, it stops with what to run.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(import.meta.url)
const quick = process.argv.includes('--quick')

let tsc
try {
  tsc = require.resolve('typescript/bin/tsc')
  require.resolve('esbuild')
} catch {
  if (existsSync(join(root, 'dist', 'core', 'cli', 'main.js')) && existsSync(join(root, 'dist', 'manager', 'index.html'))) {
    console.error('tollgate: TypeScript is not installed (a production install): using the build already in dist/')
    process.exit(0)
  }
  console.error(`tollgate: cannot build: TypeScript is not installed (a production install), and dist/ holds no build.
  Build first where the dev dependencies are (npm ci && npm run build), then copy dist/ along,
  or install the packed tarball (npm run pack; npm install -g ./tollgate-<version>.tgz), which carries dist/.`)
  process.exit(1)
}

const run = (args) => execFileSync(process.execPath, args, { cwd: root, stdio: 'inherit' })

if (quick) {
  // tsc -b skips files whose sources it compiled before, and cannot see that this build
  // rewrote their output: after a change, a quick build and the change undone, dist/ would
  // keep the change. Without its build info, the next full build emits everything again.
  rmSync(join(root, 'dist', '.tsbuildinfo'), { force: true })
  const { build } = await import('esbuild')
  const files = []
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const f = join(dir, e.name)
      if (e.isDirectory()) walk(f)
      else if (f.endsWith('.ts') && !f.endsWith('.d.ts')) files.push(f)
    }
  }
  for (const dir of ['core', 'plugins', join('sdk', 'src')]) walk(join(root, dir))
  // tsconfig.json's target and layout (rootDir ., outDir dist), so either build's files line up.
  await build({ entryPoints: files, outdir: join(root, 'dist'), outbase: root, format: 'esm', platform: 'node', target: 'es2022', sourcemap: true, logLevel: 'warning' })
  run([join(root, 'scripts', 'build-manager.mjs'), '--no-check'])
  run([join(root, 'scripts', 'build-sdk.mjs'), '--link-only'])
} else {
  try {
    run([tsc, '-b'])
  } catch {
    console.error('tollgate: tsc -b failed (above)')
    process.exit(1)
  }
  run([join(root, 'scripts', 'build-manager.mjs')])
  run([join(root, 'scripts', 'build-sdk.mjs')])
}
