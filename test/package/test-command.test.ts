// `npm test` (scripts/test.mjs): c8 over tap, then the failing points again at the end,
// where CI's tail of the output keeps them. Run here on throwaway test files in a temp
// directory (a project of their own, so the nested c8 writes its coverage there and not
// over this run's).
import { symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { runCommand, type Exit } from '../helpers/process.js'
import { tempDir } from '../helpers/store.js'

const REPO = fileURLToPath(new URL('../../', import.meta.url))

/** Runs scripts/test.mjs in `dir` with its output piped (as in CI), without this run's tap and tsx settings. */
function npmTest (dir: string, files: string[]): Promise<Exit> {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!/^(TAP|NODE_OPTIONS|npm_)/i.test(k)) env[k] = v
  // Set, not left out: node copies its own NODE_V8_COVERAGE into a child's environment when
  // the environment given lacks it, and c8 takes that as its directory and empties it first,
  // which lost this run's coverage of every file before this one (2026-12-05). Empty, c8
  // uses the temp project's own coverage/tmp.
  env.NODE_V8_COVERAGE = ''
  return runCommand(process.execPath, [join(REPO, 'scripts', 'test.mjs'), ...files], { cwd: dir, env, timeoutMs: 120_000 })
}

function project (t: Test, files: Record<string, string>): string {
  const dir = tempDir(t, 'tollgate-test-command-')
  // The same plugin set as this repository's, so tap does not rebuild itself for it.
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module', tap: { plugin: ['!@tapjs/typescript'], 'disable-coverage': true } }))
  // tap loads itself and its plugins from the project it runs in.
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'))
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return dir
}

t.test('a failing run ends with its failing points, each with its subtests and diagnostics', async (t) => {
  const dir = project(t, {
    'failing.test.mjs': `import t from 'tap'
t.test('outer', async (t) => {
  t.equal(1, 1, 'passes')
  t.test('inner', async (t) => {
    t.equal(2 + 2, 5, 'arithmetic is wrong on purpose')
    t.todo('a todo is not a failure')
  })
})
t.test('a skip is not a failure', { skip: 'on purpose' }, async () => {})
t.test('thrown', async () => { throw new Error('thrown on purpose') })
`,
    'passing.test.mjs': `import t from 'tap'\nt.pass('fine')\n`,
  })
  const r = await npmTest(dir, ['failing.test.mjs', 'passing.test.mjs'])
  t.equal(r.code, 1, 'the exit code is the run\'s')
  const at = r.stdout.lastIndexOf('failing point')
  t.ok(at > r.stdout.lastIndexOf('ok 2 - passing.test.mjs'), 'the recap comes after the whole TAP stream')
  const tail = r.stdout.slice(at)
  t.match(tail, /^failing points \(/)
  // Each failing point under its file and subtests, innermost first; todo, skip and passing points are not there.
  t.same(tail.split('\n').filter((l) => l.startsWith('not ok')), [
    'not ok - failing.test.mjs > outer > inner > arithmetic is wrong on purpose',
    'not ok - failing.test.mjs > outer > inner',
    'not ok - failing.test.mjs > outer',
    'not ok - failing.test.mjs > thrown > thrown on purpose',
    'not ok - failing.test.mjs > thrown',
    'not ok - failing.test.mjs',
  ])
  t.match(tail, /arithmetic is wrong on purpose\n {2}---\n(.*\n)*? {2}diff: \|\n(.*\n)*? {4}-5\n {4}\+4\n/, 'with its YAML block, the diff in it')
  t.match(tail, /> thrown on purpose\n {2}---\n(.*\n)*? {4}Test\.<anonymous> \(failing\.test\.mjs:10:/, 'a thrown error with its stack')
  t.match(tail, /not ok - failing\.test\.mjs\n {2}---\n(.*\n)*? {2}exitCode: 1\n/, 'the file with its exit code')
})

t.test('a passing run prints no recap and exits 0', async (t) => {
  const dir = project(t, { 'passing.test.mjs': `import t from 'tap'\nt.pass('fine')\n` })
  const r = await npmTest(dir, ['passing.test.mjs'])
  t.equal(r.code, 0, 'the exit code is 0')
  t.match(r.stdout, /ok 1 - passing\.test\.mjs/)
  t.notMatch(r.stdout, /failing point/)
})
