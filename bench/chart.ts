// Charts of `npm run bench` results (issue #23), as SVG strings: no browser, no dependency.
// Pure functions from a run's JSON (what run.ts writes to bench/results/) to the SVG text;
// reading and writing files is bench/chart-files.ts's job. The same input gives the same
// bytes (no ids, no clock), so a regenerated chart only changes in git when the data does.

/** One contestant as run.ts's `summary` has it. JSON turns NaN into null, hence the nulls. */
export interface ResultRow {
  name: string
  rps: number | null
  cpuUsPerReq?: number | null
  ratio?: number | null
  p50?: number | null
  p99?: number | null
  errors?: number
  note?: string
}

/** A run as written to bench/results/<stamp>.json (the fields the charts read). */
export interface BenchRun {
  date: string
  machine?: { cpus?: number, node?: string }
  settings?: { duration?: number, rounds?: number, connections?: number, upstream?: string, pinned?: boolean }
  results: ResultRow[]
}

const WIDTH = 900
const FONT = 'font-family="sans-serif"'

const COLOURS = {
  tollgate: '#2563eb',
  baseline: '#93c5fd',
  floor: '#374151',
  peer: '#f59e0b',
  reference: '#9ca3af',
} as const
type Kind = keyof typeof COLOURS
const KIND_LABEL: Record<Kind, string> = {
  tollgate: 'Tollgate',
  baseline: 'Tollgate, --baseline checkout',
  floor: 'floor: bare node:http + undici proxy',
  peer: 'peer gateways and nginx',
  reference: 'reference: upstream direct, bare over TLS',
}
const FLOOR_LINE = '#dc2626'
const INK = '#111827'
const MUTED = '#4b5563'
const GRID = '#e5e7eb'

/** XML-escapes text for element content and double-quoted attributes alike. */
export function esc (s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;')
}

/** A finite number, or undefined: JSON's null, NaN and a missing field all mean "not measured". */
export function num (x: unknown): number | undefined {
  return typeof x === 'number' && Number.isFinite(x) ? x : undefined
}

export function kindOf (name: string): Kind {
  if (name === 'bare') return 'floor'
  if (name.startsWith('tollgate')) return 'tollgate'
  if (name.startsWith('baseline')) return 'baseline'
  if (name === 'upstream' || name === 'bare-tls') return 'reference'
  return 'peer'
}

// Fixed to en-US so the output does not depend on the machine's locale.
const int = (x: number): string => Math.round(x).toLocaleString('en-US')
const us = (x: number): string => x < 10 ? x.toFixed(1) : int(x)
/** Coordinates with at most one decimal keep the file small and stable across platforms. */
const c = (x: number): string => String(Math.round(x * 10) / 10)

/** "2026-12-04 00:13 UTC" from an ISO date; the text as given when it is not one. */
export function formatDate (iso: string): string {
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)/.exec(iso)
  return m === null ? iso : `${m[1] as string} ${m[2] as string} UTC`
}

/** The run's machine and settings in one line, leaving out what the JSON lacks. */
export function describe (run: BenchRun): string {
  const parts: string[] = []
  const m = run.machine ?? {}
  if (m.cpus !== undefined) parts.push(`${m.cpus} CPUs`)
  if (m.node !== undefined) parts.push(`node ${m.node}`)
  const s = run.settings ?? {}
  if (s.duration !== undefined && s.rounds !== undefined) parts.push(`${s.duration} s x ${s.rounds} round${s.rounds === 1 ? '' : 's'}`)
  if (s.connections !== undefined) parts.push(`${s.connections} connections`)
  if (s.upstream !== undefined) parts.push(`upstream ${s.upstream}`)
  if (s.pinned !== undefined) parts.push(s.pinned ? 'pinned' : 'not pinned')
  return parts.join(', ')
}

/**
 * A name for a column that holds about `chars` characters at `size` px: longer names get a
 * smaller font rather than a cut, since the plugin contestants differ only at the end
 * (tollgate-plugin-response-transformer, ...-json). Past twice the room they are cut too.
 */
function fit (name: string, size: number, chars: number): { shown: string, size: number } {
  const shown = name.length > chars * 2 ? `${name.slice(0, chars * 2 - 1)}…` : name
  return { shown, size: shown.length <= chars ? size : Math.round((size * chars / shown.length) * 10) / 10 }
}

function text (x: number, y: number, body: string, attrs = ''): string {
  return `<text x="${c(x)}" y="${c(y)}" ${FONT} ${attrs}>${esc(body)}</text>`
}

function legend (items: { colour: string, label: string }[], x0: number, y: number, maxX: number): { svg: string[], height: number } {
  const out: string[] = []
  let x = x0
  let row = 0
  for (const it of items) {
    // About 6.5 px a character at 12 px sans-serif: wrap before running off the edge.
    const w = 22 + it.label.length * 6.5 + 18
    if (x + w > maxX && x > x0) { x = x0; row++ }
    const yy = y + row * 20
    out.push(`<rect x="${c(x)}" y="${c(yy - 10)}" width="14" height="12" fill="${it.colour}"/>`, text(x + 20, yy, it.label, `font-size="12" fill="${INK}"`))
    x += w
  }
  return { svg: out, height: (row + 1) * 20 }
}

/**
 * The run chart: one row per contestant, two panels side by side: requests/s (with the
 * ratio to the floor) and CPU microseconds per request. The floor (`bare`) has its own
 * colour and a dashed line at its value across each panel. `run.date` is the date shown.
 */
export function runChart (run: BenchRun): string {
  const rows = run.results
  const floor = rows.find((r) => r.name === 'bare')
  const floorRps = num(floor?.rps)
  const floorCpu = num(floor?.cpuUsPerReq)
  const ROW = 26
  const BAR = 16
  const LABEL_X = 12
  const top = 112
  const panels = [
    { metric: 'rps', title: 'requests/s (median), ratio to the floor', x: 250, barMax: 205, value: (r: ResultRow) => num(r.rps), floorValue: floorRps, label: (_r: ResultRow, v: number) => `${int(v)} req/s` },
    { metric: 'cpu', title: 'CPU us per request (median), less is better', x: 610, barMax: 200, value: (r: ResultRow) => num(r.cpuUsPerReq), floorValue: floorCpu, label: (_r: ResultRow, v: number) => `${us(v)} us` },
  ] as const
  const bottom = top + rows.length * ROW
  const kinds = (Object.keys(COLOURS) as Kind[]).filter((k) => rows.some((r) => kindOf(r.name) === k))
  const leg = legend(kinds.map((k) => ({ colour: COLOURS[k], label: KIND_LABEL[k] })), LABEL_X, bottom + 30, WIDTH - 12)
  const footY = bottom + 30 + leg.height + 6
  const height = footY + 14
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="${esc(`Tollgate benchmark, ${formatDate(run.date)}`)}">`,
    // White behind everything: GitHub's dark theme would otherwise show dark text on dark.
    `<rect x="0" y="0" width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    text(LABEL_X, 26, `Tollgate benchmark, ${formatDate(run.date)}`, `font-size="18" font-weight="bold" fill="${INK}"`),
    text(LABEL_X, 48, describe(run), `font-size="12" fill="${MUTED}"`),
    text(LABEL_X, 66, floorRps === undefined ? 'No bare proxy in this run: no floor, no ratios.' : 'Ratio: requests/s over the bare proxy\'s (the floor, red dashed line). Compare within one run only.', `font-size="12" fill="${MUTED}"`),
  ]
  // The upstream answering directly is the ceiling, not a contestant: at 4x the floor it
  // squeezed every proxy's bar into a quarter of the panel. Its bar is cut at the panel's
  // end instead (marked), and the scale is the contestants'.
  const scaled = rows.some((r) => r.name !== 'upstream') ? rows.filter((r) => r.name !== 'upstream') : rows
  const scale = panels.map((p) => Math.max(0, ...scaled.map((r) => p.value(r) ?? 0)))
  // Drawn in layers: row stripes, axes and floor lines, bars, then the text on top of all.
  rows.forEach((_r, i) => { if (i % 2 === 1) out.push(`<rect x="0" y="${c(top + i * ROW)}" width="${WIDTH}" height="${ROW}" fill="#f9fafb"/>`) })
  panels.forEach((p, k) => {
    out.push(text(p.x, top - 18, p.title, `font-size="13" font-weight="bold" fill="${INK}"`))
    out.push(`<line x1="${c(p.x)}" y1="${c(top - 6)}" x2="${c(p.x)}" y2="${c(bottom)}" stroke="${MUTED}" stroke-width="1"/>`)
    const max = scale[k] as number
    if (p.floorValue === undefined || max === 0) return
    const x = p.x + (p.floorValue / max) * p.barMax
    out.push(`<line data-floor="${p.metric}" x1="${c(x)}" y1="${c(top - 4)}" x2="${c(x)}" y2="${c(bottom)}" stroke="${FLOOR_LINE}" stroke-width="1.5" stroke-dasharray="4 3"/>`)
    out.push(text(x, bottom + 14, 'floor', `font-size="11" fill="${FLOOR_LINE}" text-anchor="middle"`))
  })
  const labels: string[] = []
  rows.forEach((r, i) => {
    const mid = top + i * ROW + ROW / 2
    const kind = kindOf(r.name)
    const { shown, size } = fit(r.name, 12, 32)
    labels.push(`<text x="${c(LABEL_X)}" y="${c(mid + 4)}" ${FONT} font-size="${size}" fill="${INK}"${kind === 'floor' ? ' font-weight="bold"' : ''}>${esc(shown)}${shown === r.name ? '' : `<title>${esc(r.name)}</title>`}</text>`)
    panels.forEach((p, k) => {
      const v = p.value(r)
      const max = scale[k] as number
      const cut = v !== undefined && max > 0 && v > max
      const w = v === undefined || max === 0 ? 0 : (Math.min(v, max) / max) * p.barMax
      out.push(`<rect data-contestant="${esc(r.name)}" data-metric="${p.metric}" data-value="${v === undefined ? '' : String(v)}" x="${c(p.x)}" y="${c(mid - BAR / 2)}" width="${c(w)}" height="${BAR}" fill="${COLOURS[kind]}"/>`)
      if (cut) out.push(`<path data-cut="${p.metric}" d="M${c(p.x + w - 10)} ${c(mid + BAR / 2 + 1)} l4 ${-(BAR + 2)} M${c(p.x + w - 5)} ${c(mid + BAR / 2 + 1)} l4 ${-(BAR + 2)}" stroke="#ffffff" stroke-width="2"/>`)
      // A white halo keeps a value legible where the floor line crosses it.
      const ratio = p.metric === 'rps' ? num(r.ratio) : undefined
      labels.push(`<text x="${c(p.x + w + 6)}" y="${c(mid + 4)}" ${FONT} font-size="12" fill="${v === undefined ? MUTED : INK}" stroke="#ffffff" stroke-width="3" paint-order="stroke">${esc(v === undefined ? 'n/a' : p.label(r, v))}${ratio === undefined ? '' : `<tspan dx="8" font-weight="bold" fill="${MUTED}">${esc(`${ratio.toFixed(2)}x`)}</tspan>`}</text>`)
    })
  })
  out.push(...labels)
  out.push(...leg.svg)
  out.push(text(LABEL_X, footY + 4, 'npm run bench (bench/README.md); n/a: not measured in this run', `font-size="11" fill="${MUTED}"`))
  out.push('</svg>')
  return `${out.join('\n')}\n`
}

/** One Tollgate contestant's ratio to the floor across runs: `points[i]` belongs to runs[i], undefined where absent. */
export interface Series { name: string, points: (number | undefined)[] }

/**
 * The history's data: the runs with a floor (a `bare` contestant), ordered by date, and each
 * Tollgate contestant's ratio in them. A run without `bare` says nothing about ratios; a
 * null or NaN ratio (JSON's rendering of NaN) is left out as a gap.
 */
export function historySeries (runs: BenchRun[]): { runs: BenchRun[], series: Series[] } {
  const usable = runs
    .filter((r) => r.results.some((x) => x.name === 'bare' && num(x.rps) !== undefined && (x.rps as number) > 0))
    .filter((r) => r.results.some((x) => x.name.startsWith('tollgate') && num(x.ratio) !== undefined))
    // Stable for equal dates: the caller's order (file name order) decides.
    .map((r, i) => ({ r, i, t: Date.parse(r.date) }))
    .sort((a, b) => (Number.isNaN(a.t) || Number.isNaN(b.t) ? a.r.date.localeCompare(b.r.date) : a.t - b.t) || a.i - b.i)
    .map((x) => x.r)
  const names = [...new Set(usable.flatMap((r) => r.results.filter((x) => x.name.startsWith('tollgate') && num(x.ratio) !== undefined).map((x) => x.name)))].sort()
  const series = names.map((name) => ({ name, points: usable.map((r) => num(r.results.find((x) => x.name === name)?.ratio)) }))
  return { runs: usable, series }
}

// Enough distinct colours for the usual Tollgate contestants; past them they repeat with a dash.
const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#be185d', '#65a30d', '#4f46e5', '#b45309', '#0f766e', '#6b7280']

/** Tick step for a ratio axis: 0.1, 0.2, 0.25 or 0.5 so there are 4 to 10 lines. */
function tickStep (span: number): number {
  for (const s of [0.1, 0.2, 0.25, 0.5, 1, 2]) if (span / s <= 10) return s
  return 5
}

/**
 * The history chart: each Tollgate contestant's ratio to the floor over the dated runs
 * (x: the runs in date order, evenly spaced; y: the ratio, with the floor at 1.0). One
 * path per contestant, broken where it was not measured, and a point per measurement.
 */
export function historyChart (input: BenchRun[]): string {
  const { runs, series } = historySeries(input)
  const L = 58
  const R = 620
  const top = 78
  const plotH = 360
  const bottom = top + plotH
  const values = series.flatMap((s) => s.points.filter((p): p is number => p !== undefined))
  const hi = Math.max(1.1, ...values.map((v) => v * 1.05))
  const lo = Math.min(0, ...values)
  const step = tickStep(hi - lo)
  const yMax = Math.ceil(hi / step) * step
  const yMin = Math.floor(lo / step) * step
  const y = (v: number): number => bottom - ((v - yMin) / (yMax - yMin)) * plotH
  const x = (i: number): number => runs.length <= 1 ? (L + R) / 2 : L + 20 + (i / (runs.length - 1)) * (R - L - 40)
  const LEG_X = 640
  const legendBottom = top + series.length * 20
  const height = Math.max(bottom + 70, legendBottom + 30)
  const first = runs[0]
  const last = runs[runs.length - 1]
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="Tollgate benchmark history">`,
    `<rect x="0" y="0" width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    text(12, 26, 'Tollgate benchmark history: requests/s as a ratio to the floor', `font-size="18" font-weight="bold" fill="${INK}"`),
    text(12, 48, first === undefined || last === undefined ? 'no runs' : `${runs.length} run${runs.length === 1 ? '' : 's'}, ${formatDate(first.date)} to ${formatDate(last.date)}; floor: bare node:http + undici proxy in the same run = 1.0`, `font-size="12" fill="${MUTED}"`),
  ]
  for (let v = yMin; v <= yMax + 1e-9; v += step) {
    const yy = y(v)
    out.push(`<line x1="${L}" y1="${c(yy)}" x2="${R}" y2="${c(yy)}" stroke="${GRID}" stroke-width="1"/>`)
    out.push(text(L - 6, yy + 4, `${v.toFixed(step < 0.25 || step === 0.25 ? 2 : 1)}x`, `font-size="11" fill="${MUTED}" text-anchor="end"`))
  }
  out.push(`<line x1="${L}" y1="${top}" x2="${L}" y2="${bottom}" stroke="${MUTED}" stroke-width="1"/>`, `<line x1="${L}" y1="${bottom}" x2="${R}" y2="${bottom}" stroke="${MUTED}" stroke-width="1"/>`)
  out.push(`<line data-floor="1" x1="${L}" y1="${c(y(1))}" x2="${R}" y2="${c(y(1))}" stroke="${FLOOR_LINE}" stroke-width="1.5" stroke-dasharray="5 4"/>`)
  out.push(text(R - 4, y(1) - 5, 'floor (bare) 1.0x', `font-size="11" fill="${FLOOR_LINE}" text-anchor="end"`))
  // At most about 8 date labels, the last always: dense runs (several a day) would overlap.
  const every = Math.max(1, Math.ceil(runs.length / 8))
  runs.forEach((r, i) => {
    out.push(`<line x1="${c(x(i))}" y1="${bottom}" x2="${c(x(i))}" y2="${bottom + 4}" stroke="${MUTED}" stroke-width="1"/>`)
    if (i % every !== 0 && i !== runs.length - 1) return
    if (i !== runs.length - 1 && runs.length - 1 - i < every) return
    const [d, t] = formatDate(r.date).split(' ')
    out.push(text(x(i), bottom + 18, d ?? r.date, `font-size="11" fill="${MUTED}" text-anchor="middle"`))
    if (t !== undefined) out.push(text(x(i), bottom + 32, t, `font-size="11" fill="${MUTED}" text-anchor="middle"`))
  })
  out.push(text((L + R) / 2, bottom + 54, 'run (date, UTC), in order', `font-size="12" fill="${MUTED}" text-anchor="middle"`))
  series.forEach((s, k) => {
    const colour = PALETTE[k % PALETTE.length] as string
    const dash = k >= PALETTE.length ? ' stroke-dasharray="6 3"' : ''
    // Absent runs break the line: a segment joins only measurements in consecutive runs.
    let d = ''
    let pen = false
    s.points.forEach((p, i) => {
      if (p === undefined) { pen = false; return }
      d += `${d === '' ? '' : ' '}${pen ? 'L' : 'M'}${c(x(i))} ${c(y(p))}`
      pen = true
    })
    const count = s.points.filter((p) => p !== undefined).length
    out.push(`<path data-contestant="${esc(s.name)}" data-points="${count}" d="${d}" fill="none" stroke="${colour}" stroke-width="2"${dash}/>`)
    s.points.forEach((p, i) => {
      if (p === undefined) return
      out.push(`<circle data-contestant="${esc(s.name)}" cx="${c(x(i))}" cy="${c(y(p))}" r="3.5" fill="${colour}"><title>${esc(`${s.name}, ${formatDate((runs[i] as BenchRun).date)}: ${p.toFixed(2)}x`)}</title></circle>`)
    })
    const ly = top + k * 20
    const latest = [...s.points].reverse().find((p) => p !== undefined)
    out.push(`<line x1="${LEG_X}" y1="${ly}" x2="${LEG_X + 18}" y2="${ly}" stroke="${colour}" stroke-width="3"${dash}/>`)
    // The latest ratio sits in a right-aligned column so long names cannot push it off the edge.
    const { shown, size } = fit(s.name, 11, 30)
    out.push(`<text x="${LEG_X + 24}" y="${ly + 4}" ${FONT} font-size="${size}" fill="${INK}">${esc(shown)}${shown === s.name ? '' : `<title>${esc(s.name)}</title>`}</text>`)
    if (latest !== undefined) out.push(text(WIDTH - 10, ly + 4, `${latest.toFixed(2)}x`, `font-size="11" font-weight="bold" fill="${MUTED}" text-anchor="end"`))
  })
  out.push(text(LEG_X, top - 14, 'contestant, latest ratio', `font-size="12" font-weight="bold" fill="${INK}"`))
  out.push('</svg>')
  return `${out.join('\n')}\n`
}
