import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { SDK_VERSION } from '../../../core/meta.js'
import { runCli } from '../../helpers/process.js'
import { tempDir } from '../../helpers/store.js'

t.test('tollgate plugin init scaffolds a plugin whose test passes', async (t) => {
  const dir = tempDir(t)
  const r = await runCli(['plugin', 'init', 'greeter', '--dir', dir])
  t.equal(r.code, 0, r.stderr)
  const root = join(dir, 'greeter')
  t.match(r.stdout, /created:/)
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
  t.equal(pkg.dependencies['@tollgate/sdk'], `^${SDK_VERSION}`, 'a version range of the published SDK')
  // What `npm install` would link, without the registry: the SDK from this checkout.
  const repo = fileURLToPath(new URL('../../../', import.meta.url))
  mkdirSync(join(root, 'node_modules', '@tollgate'), { recursive: true })
  symlinkSync(join(repo, 'sdk'), join(root, 'node_modules', '@tollgate', 'sdk'))
  const test = spawnSync(process.execPath, ['--import', join(repo, 'node_modules', 'tsx', 'dist', 'loader.mjs'), '--test', 'index.test.ts'], { cwd: root, encoding: 'utf8', timeout: 60_000 })
  t.equal(test.status, 0, `${test.stdout}${test.stderr}`)
  t.match(test.stdout, /# pass 1/)

  const again = await runCli(['plugin', 'init', 'greeter', '--dir', dir])
  t.equal(again.code, 1)
  t.match(again.stderr, /already exists/)
  const bad = await runCli(['plugin', 'init', 'Bad Name', '--dir', dir])
  t.equal(bad.code, 1)
  t.match(bad.stderr, /must be lower-case/)
  if (process.platform === 'linux') {
    // /proc answers mkdir with ENOENT, on which node's recursive mkdir spun for ever.
    const refused = await runCli(['plugin', 'init', 'greeter', '--dir', '/proc'])
    t.equal(refused.code, 1)
    t.equal(refused.stderr, 'Error: cannot write the plugin to /proc/greeter: ENOENT; choose a writable --dir\n')
  }
})

t.test('--sdk points the project at a local SDK: a folder or a packed tarball', async (t) => {
  const dir = tempDir(t)
  const repo = fileURLToPath(new URL('../../../', import.meta.url))
  const r = await runCli(['plugin', 'init', 'local', '--dir', dir, '--sdk', join(repo, 'sdk')])
  t.equal(r.code, 0, r.stderr)
  const pkg = JSON.parse(readFileSync(join(dir, 'local', 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
  t.equal(pkg.dependencies['@tollgate/sdk'], `file:${join(repo, 'sdk')}`)

  const missing = await runCli(['plugin', 'init', 'other', '--dir', dir, '--sdk', join(dir, 'tollgate-sdk-9.9.9.tgz')])
  t.equal(missing.code, 1)
  t.match(missing.stderr, /--sdk .*tollgate-sdk-9\.9\.9\.tgz: no such file or directory/)
  t.notOk(existsSync(join(dir, 'other')), 'and nothing is written')
  // A checkout's sdk/ before `npm run build` made the package in it.
  const unbuilt = join(dir, 'unbuilt-sdk')
  mkdirSync(unbuilt)
  const early = await runCli(['plugin', 'init', 'other', '--dir', dir, '--sdk', unbuilt])
  t.equal(early.code, 1)
  t.match(early.stderr, /the SDK package is not built there; run `npm run build`/)
  const usage = await runCli(['plugin', 'init', 'other', '--dir', dir, '--sdk'])
  t.not(usage.code, 0)
  t.match(usage.stderr, /argument missing|usage/i)
})
