#!/usr/bin/env node
// `npm test`: c8 over tap, exactly as before, then the failing points again at the very end.
//
// Why: CI keeps only the tail of a run's output, and a run prints some 18,000 TAP lines.
// A failure scrolls far out of that tail: a CI run failed with `fail: 1` in its summary and
// nothing anywhere in what it kept to say which test (2026-12-05). The recap puts each
// failing point, the subtests it sits in and its diagnostics after the coverage summary.
//
// Arguments go to tap (`npm test -- test/core/dirs.test.ts`); the exit code is c8's.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** At most this many lines of one failure's diagnostics, and of the whole recap. */
const BLOCK_LINES = 40
const RECAP_LINES = 400

const indentOf = (line) => line.length - line.trimStart().length

/**
 * The failing points of a TAP stream: each with the path of subtest names down to it and its
 * YAML diagnostics. TODO and SKIP points are not failures. A file that failed as a whole
 * (a crash, a timeout) is a point of its own, with what tap says of its exit.
 */
function failures (text) {
  const lines = text.split('\n')
  const out = []
  /** Subtest names by indentation: `# Subtest: x` at indent i names the points at i + 4. */
  const names = []
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    const sub = /^(\s*)# Subtest: (.*)$/.exec(line)
    if (sub !== null) {
      const depth = sub[1].length / 4
      names.length = depth
      names[depth] = sub[2]
      continue
    }
    const m = /^(\s*)not ok \d+ - (.*)$/.exec(line)
    if (m === null || /#\s*(TODO|SKIP)\b/i.test(m[2])) continue
    const depth = m[1].length / 4
    // The point's own subtest names, outermost first (its parents are at depths below).
    const path = names.slice(0, depth).filter((n) => n !== undefined)
    const diag = []
    // Its diagnostics: the indented YAML block (`---` ... `...`) right after it.
    if (lines[i + 1] !== undefined && lines[i + 1].trim() === '---' && indentOf(lines[i + 1]) > m[1].length) {
      for (let j = i + 1; j < lines.length; j++) {
        diag.push(lines[j])
        if (lines[j].trim() === '...' && indentOf(lines[j]) === indentOf(lines[i + 1])) break
      }
    }
    out.push({ path, name: m[2].replace(/\s*# time=[\d.]+ms$/, ''), diag })
  }
  return out
}

/** What is printed after the run: every failing point with its diagnostics, in the stream's order; '' when none failed. */
function recap (text) {
  const found = failures(text)
  if (found.length === 0) return ''
  const out = ['', `# ${found.length} failing point${found.length === 1 ? '' : 's'} (a subtest that failed is listed after the points in it):`]
  for (const f of found) {
    out.push(`not ok - ${[...f.path, f.name].join(' > ')}`)
    const diag = f.diag.length > BLOCK_LINES ? [...f.diag.slice(0, BLOCK_LINES), `    ... (${f.diag.length - BLOCK_LINES} more lines)`] : f.diag
    const base = indentOf(f.diag[0] ?? '')
    out.push(...diag.map((l) => `  ${l.slice(Math.min(base, indentOf(l)))}`))
    if (out.length > RECAP_LINES) {
      out.push('# ... the rest are in the output above')
      break
    }
  }
  return `${out.join('\n')}\n`
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('..', import.meta.url))
  const c8 = join(root, 'node_modules', 'c8', 'bin', 'c8.js')
  // On a terminal tap's own reporter already ends with the failures, and it needs the
  // terminal to draw: the output is left alone there.
  const tty = process.stdout.isTTY === true
  // tap by its path: npm puts node_modules/.bin on PATH for `npm test`, not for `node scripts/test.mjs`.
  const tap = join(root, 'node_modules', '.bin', 'tap')
  const child = spawn(process.execPath, [c8, tap, ...process.argv.slice(2)], { stdio: ['inherit', tty ? 'inherit' : 'pipe', 'inherit'] })
  // The whole stream is kept for the recap: about 1 MB for the suite.
  const chunks = []
  child.stdout?.on('data', (chunk) => {
    chunks.push(chunk)
    process.stdout.write(chunk)
  })
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal))
  child.on('close', (code) => {
    const text = recap(Buffer.concat(chunks).toString('utf8'))
    const finish = () => process.exit(code ?? 1)
    if (text === '') finish()
    else process.stdout.write(text, finish)
  })
}
