// The file side of bench/chart.ts: reading run JSON files (bench/results/, --out dirs) and
// writing charts. Kept apart from run.ts, which starts a benchmark when imported, so the
// tests can call these directly.

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { historyChart, historySeries, type BenchRun } from './chart.js'

/** A run JSON read from `file`; throws with the file's name when it is not one. */
export function readRun (file: string): BenchRun {
  const json = JSON.parse(readFileSync(file, 'utf8')) as unknown
  if (!isRun(json)) throw new Error(`${file}: not a result of npm run bench (no date and results)`)
  return json
}

// bench/postgres.ts writes its JSON to the same directory, in another shape: those are
// passed over, as are files that do not parse.
function isRun (x: unknown): x is BenchRun {
  if (typeof x !== 'object' || x === null) return false
  const r = x as { date?: unknown, results?: unknown }
  return typeof r.date === 'string' && Array.isArray(r.results) &&
    r.results.every((row) => typeof row === 'object' && row !== null && typeof (row as { name?: unknown }).name === 'string')
}

/**
 * Every run JSON in `dirs` (a run in two of them, by its file name, is read once), in file
 * name order (the names are ISO stamps), with the files that do not parse and why, and how many
 * parsed but are not runs (bench/postgres.ts's, one per full run: not worth a line each).
 */
export function readRuns (dirs: string[]): { runs: BenchRun[], skipped: string[], others: number } {
  const runs: BenchRun[] = []
  const skipped: string[] = []
  let others = 0
  const seen = new Set<string>()
  for (const dir of dirs) {
    if (!existsSync(dir)) continue
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
      const file = resolve(dir, f)
      if (seen.has(f)) continue
      seen.add(f)
      let json: unknown
      try {
        json = JSON.parse(readFileSync(file, 'utf8'))
      } catch (err) {
        skipped.push(`${file}: ${(err as Error).message}`)
        continue
      }
      if (isRun(json)) runs.push(json)
      else others++
    }
  }
  return { runs, skipped, others }
}

/**
 * `npm run bench -- --history`: the history chart of the runs in `dirs`, written to `out`:
 * the pinned runs, or with `pinned` false the unpinned ones (their ratios differ too much
 * to share a line). Returns what to print and the exit code: 1 when no run has a floor and
 * a Tollgate ratio.
 */
export function writeHistory (dirs: string[], out: string, pinned = true): { code: number, message: string } {
  const read = readRuns(dirs)
  const { skipped } = read
  const runs = read.runs.filter((r) => (r.settings?.pinned ?? true) === pinned)
  const others = read.others + read.runs.length - runs.length
  const { runs: usable, series } = historySeries(runs)
  const notes = `${skipped.map((s) => `skipped ${s}\n`).join('')}${others > 0 ? `${others} other JSON file(s) (not npm run bench runs, or runs ${pinned ? 'without' : 'with'} pinning) passed over\n` : ''}`
  if (usable.length === 0) {
    return { code: 1, message: `${notes}no usable runs in ${dirs.join(', ')}: ${runs.length} run file(s) read, none with a bare contestant and a Tollgate contestant's ratio to it (run npm run bench with bare among the contestants)\n` }
  }
  writeSvg(out, historyChart(runs))
  return { code: 0, message: `${notes}history of ${series.length} Tollgate contestant(s) over ${usable.length} run(s) (${runs.length - usable.length} without a floor left out) written to ${out}\n` }
}

export function writeSvg (file: string, svg: string): void {
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, svg)
}

/** `<dir>/<stamp>.json` -> `<dir>/<stamp>.<ext>`. */
export const beside = (json: string, ext: string): string => join(dirname(json), `${json.replace(/^.*\//, '').replace(/\.json$/, '')}.${ext}`)
