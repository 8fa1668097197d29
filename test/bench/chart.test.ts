// bench/chart.ts and bench/chart-files.ts (issue #23): the SVG is well-formed XML with a
// bar per contestant and metric, sized to scale, the floor marked and text escaped; the
// history reads a directory of run files, leaving out runs without a floor and null ratios.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { historyChart, historySeries, runChart, type BenchRun } from '../../bench/chart.js'
import { readRuns, writeHistory } from '../../bench/chart-files.js'
import { tempDir } from '../helpers/store.js'

interface Element { name: string, attrs: Record<string, string>, children: Element[], text: string }

const NAME = /^[A-Za-z_:][-A-Za-z0-9_:.]*$/

/** Checks text for bare `<` and `&` that are not one of XML's entity or character references. */
function checkText (s: string, where: string): string {
  if (s.includes('<')) throw new Error(`raw < in ${where}: ${s}`)
  const bad = /&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.exec(s)
  if (bad !== null) throw new Error(`bare & in ${where}: ${s}`)
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&')
}

/**
 * A strict parser for the XML subset the charts use (elements, attributes, text, no
 * declarations or CDATA): throws on anything not well-formed, returns the root element.
 */
function parseXml (xml: string): Element {
  let i = 0
  const stack: Element[] = []
  let root: Element | undefined
  const trimmed = xml.trim()
  while (i < trimmed.length) {
    const lt = trimmed.indexOf('<', i)
    const textEnd = lt === -1 ? trimmed.length : lt
    const between = trimmed.slice(i, textEnd)
    if (between.trim() !== '') {
      const parent = stack[stack.length - 1]
      if (parent === undefined) throw new Error(`text outside the root: ${between}`)
      parent.text += checkText(between, 'text')
    }
    if (lt === -1) break
    const gt = trimmed.indexOf('>', lt)
    if (gt === -1) throw new Error('unterminated tag')
    const tag = trimmed.slice(lt + 1, gt)
    i = gt + 1
    if (tag.startsWith('/')) {
      const open = stack.pop()
      if (open === undefined || open.name !== tag.slice(1).trim()) throw new Error(`</${tag.slice(1)}> closes ${open?.name ?? 'nothing'}`)
      continue
    }
    const selfClosing = tag.endsWith('/')
    const body = selfClosing ? tag.slice(0, -1) : tag
    const m = /^([^\s/]+)/.exec(body)
    if (m === null || !NAME.test(m[1] as string)) throw new Error(`bad element name in <${tag}>`)
    const el: Element = { name: m[1] as string, attrs: {}, children: [], text: '' }
    let rest = body.slice(m[0].length)
    const attr = /^\s+([^\s=]+)="([^"]*)"/
    for (let a = attr.exec(rest); a !== null; a = attr.exec(rest)) {
      const key = a[1] as string
      if (!NAME.test(key)) throw new Error(`bad attribute name ${key}`)
      if (key in el.attrs) throw new Error(`attribute ${key} twice in <${el.name}>`)
      el.attrs[key] = checkText(a[2] as string, `attribute ${key}`)
      rest = rest.slice(a[0].length)
    }
    if (rest.trim() !== '') throw new Error(`unparsed in <${el.name}>: ${rest}`)
    const parent = stack[stack.length - 1]
    if (parent === undefined) {
      if (root !== undefined) throw new Error('a second root element')
      root = el
    } else parent.children.push(el)
    if (!selfClosing) stack.push(el)
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack[stack.length - 1]?.name ?? ''}>`)
  if (root === undefined) throw new Error('no root element')
  return root
}

const all = (el: Element): Element[] => [el, ...el.children.flatMap(all)]
const textOf = (el: Element): string => el.text + el.children.map(textOf).join('')

t.test('the well-formedness check refuses what is not well-formed', async (t) => {
  t.doesNotThrow(() => parseXml('<svg a="1 &amp; 2"><text>x &lt; y</text><rect/></svg>'))
  for (const bad of ['<svg><text>a & b</text></svg>', '<svg><text>a < b</text></svg>', '<svg a="x<y"/>', '<svg a="1" a="2"/>', '<svg><g></svg>', '<svg></svg><svg/>', '<svg a=1/>', '<svg>', 'text<svg/>']) {
    t.throws(() => parseXml(bad), bad)
  }
})

const RUN: BenchRun = {
  date: '2026-12-04T01:02:03.456Z',
  machine: { cpus: 2, node: 'v20.20.2' },
  settings: { duration: 10, rounds: 3, connections: 50, upstream: 'nginx', pinned: true },
  results: [
    { name: 'bare', rps: 16256.2, cpuUsPerReq: 61.2, ratio: 1 },
    { name: 'tollgate', rps: 15300, cpuUsPerReq: 64.9, ratio: 15300 / 16256.2 },
    { name: 'tollgate-key-auth', rps: 14472.15, cpuUsPerReq: 68.1, ratio: 14472.15 / 16256.2 },
    { name: 'tollgate-<&>"x"', rps: 9000, cpuUsPerReq: undefined, ratio: 9000 / 16256.2 },
    { name: 'fastify-http-proxy', rps: 9800, cpuUsPerReq: 99.5, ratio: 9800 / 16256.2 },
    { name: 'express-gateway', rps: 3100, cpuUsPerReq: 310.7, ratio: 3100 / 16256.2 },
  ],
}

t.test('runChart: the upstream answering directly is cut at the panel\'s end, not the scale', async (t) => {
  const els = all(parseXml(runChart({ ...RUN, results: [{ name: 'upstream', rps: 65000, ratio: 4 }, ...RUN.results] })))
  const rps = els.filter((e) => e.name === 'rect' && e.attrs['data-metric'] === 'rps')
  const width = (name: string): number => Number(rps.find((b) => b.attrs['data-contestant'] === name)?.attrs.width)
  t.equal(width('upstream'), width('bare'), 'as wide as the widest contestant\'s bar')
  t.ok(width('tollgate') / width('bare') > 0.9, 'the contestants keep the panel to themselves')
  t.equal(els.filter((e) => e.attrs['data-cut'] === 'rps').length, 1, 'its bar is marked as cut')
  t.equal(els.find((e) => e.attrs['data-contestant'] === 'upstream' && e.attrs['data-metric'] === 'rps')?.attrs['data-value'], '65000', 'its value stays on the bar')
})

t.test('runChart: one bar per contestant and metric, to scale, the floor marked, text escaped', async (t) => {
  const svg = runChart(RUN)
  const root = parseXml(svg)
  t.equal(root.name, 'svg')
  t.equal(root.attrs.width, '900')
  t.equal(root.attrs.xmlns, 'http://www.w3.org/2000/svg')
  const els = all(root)
  const background = els.find((e) => e.name === 'rect')
  t.same([background?.attrs.fill, background?.attrs.width], ['#ffffff', '900'], 'a white background first')
  for (const metric of ['rps', 'cpu']) {
    const bars = els.filter((e) => e.name === 'rect' && e.attrs['data-metric'] === metric)
    t.same(bars.map((b) => b.attrs['data-contestant']), RUN.results.map((r) => r.name), `${metric}: one bar per contestant, in order`)
    const measured = bars.filter((b) => b.attrs['data-value'] !== '')
    const widths = measured.map((b) => Number(b.attrs.width))
    const values = measured.map((b) => Number(b.attrs['data-value']))
    const max = Math.max(...widths)
    t.equal(widths[values.indexOf(Math.max(...values))], max, `${metric}: the largest value has the widest bar`)
    for (const [k, w] of widths.entries()) t.ok(Math.abs(w / max - (values[k] as number) / Math.max(...values)) < 0.005, `${metric}: bar ${k} in proportion`)
  }
  const noCpu = els.find((e) => e.attrs['data-contestant'] === 'tollgate-<&>"x"' && e.attrs['data-metric'] === 'cpu')
  t.same([noCpu?.attrs.width, noCpu?.attrs['data-value']], ['0', ''], 'an unmeasured CPU figure is an empty bar')
  const floors = els.filter((e) => e.name === 'line' && e.attrs['data-floor'] !== undefined)
  t.same(floors.map((f) => f.attrs['data-floor']), ['rps', 'cpu'], 'a floor line in each panel')
  const rpsBars = els.filter((e) => e.attrs['data-metric'] === 'rps')
  const bare = rpsBars.find((b) => b.attrs['data-contestant'] === 'bare')
  t.equal(floors[0]?.attrs.x1, String(Math.round((Number(bare?.attrs.x) + Number(bare?.attrs.width)) * 10) / 10), 'the floor line sits at the end of bare\'s bar')
  const fills = new Map(rpsBars.map((b) => [b.attrs['data-contestant'], b.attrs.fill]))
  t.not(fills.get('bare'), fills.get('tollgate'), 'the floor has its own colour')
  t.not(fills.get('fastify-http-proxy'), fills.get('tollgate'), 'peers another')
  t.equal(fills.get('tollgate-key-auth'), fills.get('tollgate'), 'Tollgate contestants one')
  const texts = els.filter((e) => e.name === 'text').map(textOf)
  t.ok(texts.includes('tollgate-<&>"x"'), 'the name, escaped in the file, reads back whole')
  t.ok(svg.includes('tollgate-&lt;&amp;&gt;&quot;x&quot;'), 'escaped in the file')
  t.ok(texts.includes('16,256 req/s1.00x'), 'requests/s with separators, then the ratio')
  t.ok(texts.includes('15,300 req/s0.94x'))
  t.ok(texts.includes('61 us'), 'CPU in whole microseconds')
  t.equal(texts.filter((x) => x === 'n/a').length, 1, 'n/a for the one unmeasured figure')
  t.ok(texts.some((x) => x.includes('2026-12-04 01:02 UTC')), 'the run\'s date in the title')
  t.ok(texts.includes('2 CPUs, node v20.20.2, 10 s x 3 rounds, 50 connections, upstream nginx, pinned'), 'machine and settings')
  t.equal(runChart(JSON.parse(JSON.stringify(RUN)) as BenchRun), svg, 'the same input gives the same bytes')
  const taller = runChart({ ...RUN, results: [...RUN.results, { name: 'fast-gateway', rps: 12000, cpuUsPerReq: 80 }] })
  t.ok(Number(parseXml(taller).attrs.height) > Number(root.attrs.height), 'the height grows with the contestants')
})

t.test('runChart: a run without bare has no floor line and no ratios', async (t) => {
  const els = all(parseXml(runChart({ date: '2026-12-04T00:13:39.442Z', results: [{ name: 'tollgate-key-auth', rps: 14472.15, cpuUsPerReq: 68.1, ratio: null }, { name: 'baseline-key-auth', rps: 14613.91, cpuUsPerReq: 67.5, ratio: null }] })))
  t.equal(els.filter((e) => e.attrs['data-floor'] !== undefined).length, 0)
  t.equal(els.filter((e) => e.attrs['data-metric'] === 'rps').length, 2)
  t.notOk(els.filter((e) => e.name === 'text').map(textOf).some((x) => /\dx$/.test(x)), 'no ratio is shown')
})

const run = (date: string, rows: [string, number | null][], bare = true): BenchRun => ({
  date,
  machine: { cpus: 2, node: 'v20.20.2' },
  results: [...(bare ? [{ name: 'bare', rps: 16000, cpuUsPerReq: 60, ratio: 1 }] : []), ...rows.map(([name, ratio]) => ({ name, rps: 1000, cpuUsPerReq: 70, ratio }))],
})

t.test('historyChart: a path and a point per measurement for each Tollgate contestant, the floor at 1.0', async (t) => {
  const runs = [
    run('2026-12-03T10:00:00.000Z', [['tollgate', 0.95], ['tollgate-key-auth', 0.9], ['fastify-http-proxy', 0.6]]),
    // Given out of order: the chart orders by date.
    run('2026-12-01T10:00:00.000Z', [['tollgate', 0.93], ['tollgate-<&>', 0.5]]),
    run('2026-12-02T10:00:00.000Z', [['tollgate', 0.94], ['tollgate-key-auth', null]]),
    run('2026-12-04T10:00:00.000Z', [['tollgate', 0.96], ['tollgate-key-auth', 0.92]]),
    run('2026-12-05T10:00:00.000Z', [['tollgate', 0.99]], false),
  ]
  const { runs: used, series } = historySeries(runs)
  t.same(used.map((r) => r.date.slice(0, 10)), ['2026-12-01', '2026-12-02', '2026-12-03', '2026-12-04'], 'ordered by date, the run without bare left out')
  t.same(series.map((s) => s.name), ['tollgate', 'tollgate-<&>', 'tollgate-key-auth'], 'Tollgate contestants only')
  t.same(series.find((s) => s.name === 'tollgate-key-auth')?.points, [undefined, undefined, 0.9, 0.92], 'a null ratio is a gap')
  const svg = historyChart(runs)
  const els = all(parseXml(svg))
  const paths = els.filter((e) => e.name === 'path')
  t.same(paths.map((p) => p.attrs['data-contestant']), ['tollgate', 'tollgate-<&>', 'tollgate-key-auth'], 'one path per contestant')
  for (const [name, n] of [['tollgate', 4], ['tollgate-<&>', 1], ['tollgate-key-auth', 2]] as const) {
    t.equal(els.filter((e) => e.name === 'circle' && e.attrs['data-contestant'] === name).length, n, `${name}: a point per run it was measured in`)
    const d = paths.find((p) => p.attrs['data-contestant'] === name)?.attrs.d ?? ''
    t.equal(d.match(/[ML]/g)?.length, n, `${name}: its path has as many points`)
  }
  const floor = els.find((e) => e.name === 'line' && e.attrs['data-floor'] === '1')
  t.ok(floor !== undefined, 'the floor line at 1.0')
  // The axis's 1.00x grid line and the floor line share a height.
  const one = els.find((e) => e.name === 'text' && textOf(e) === '1.00x')
  t.equal(Number(one?.attrs.y) - 4, Number(floor?.attrs.y1), 'at 1.0 on the axis')
  t.ok(svg.includes('data-contestant="tollgate-&lt;&amp;&gt;"'), 'names escaped')
  t.equal(historyChart(JSON.parse(JSON.stringify(runs)) as BenchRun[]), svg, 'deterministic')
})

t.test('readRuns and writeHistory read a directory of run files', async (t) => {
  const dir = tempDir(t, 'tollgate-charts-')
  const other = tempDir(t, 'tollgate-charts-out-')
  const write = (d: string, name: string, body: unknown): void => writeFileSync(join(d, name), typeof body === 'string' ? body : JSON.stringify(body, null, 2))
  write(dir, '2026-12-01T10-00-00-000Z.json', run('2026-12-01T10:00:00.000Z', [['tollgate', 0.93], ['tollgate-key-auth', 0.9]]))
  // As run.ts writes it: NaN ratios come out of JSON.stringify as null.
  write(dir, '2026-12-02T10-00-00-000Z.json', JSON.stringify(run('2026-12-02T10:00:00.000Z', [['tollgate', NaN], ['tollgate-key-auth', NaN]])))
  write(dir, '2026-12-03T10-00-00-000Z.json', run('2026-12-03T10:00:00.000Z', [['tollgate-key-auth', 0.91]], false))
  write(dir, 'postgres.json', { lmdb: {}, postgres: {} })
  write(dir, 'broken.json', '{"date": ')
  write(dir, 'notes.md', '# not a run')
  write(other, '2026-12-04T10-00-00-000Z.json', run('2026-12-04T10:00:00.000Z', [['tollgate', 0.95], ['tollgate-key-auth', 0.92]]))
  const { runs, skipped, others } = readRuns([dir, other, dir])
  t.equal(runs.length, 4, 'every run file, each directory read once')
  t.equal(others, 1, 'the postgres file is passed over, counted')
  t.equal(skipped.length, 1, 'the broken one is passed over, named')
  t.match(skipped[0], /broken\.json: /)
  t.equal(runs[1]?.results[1]?.ratio, null, 'NaN reads back as null')
  const { runs: used, series } = historySeries(runs)
  t.same(used.map((r) => r.date.slice(0, 10)), ['2026-12-01', '2026-12-04'], 'the null-ratio run and the run without bare are left out')
  t.same(series.map((s) => [s.name, s.points]), [['tollgate', [0.93, 0.95]], ['tollgate-key-auth', [0.9, 0.92]]])

  const out = join(other, 'charts', 'history.svg')
  const ok = writeHistory([dir, other], out)
  t.equal(ok.code, 0)
  t.match(ok.message, /1 other JSON file\(s\) \(not npm run bench runs, or runs without pinning\) passed over\n.*over 2 run\(s\).*written to .*history\.svg/s)
  const written = all(parseXml(readFileSync(out, 'utf8')))
  t.equal(written.filter((e) => e.name === 'path').length, 2)

  // A full run keeps its JSON in bench/history/ as well as bench/results/: read once.
  write(other, '2026-12-01T10-00-00-000Z.json', run('2026-12-01T10:00:00.000Z', [['tollgate', 0.93], ['tollgate-key-auth', 0.9]]))
  t.equal(readRuns([dir, other]).runs.length, 4, 'a run in two directories, by its file name, is read once')
  // Unpinned runs draw their own history: pinning moves every ratio.
  write(other, '2026-12-05T10-00-00-000Z.json', { ...run('2026-12-05T10:00:00.000Z', [['tollgate', 0.8]]), settings: { pinned: false } })
  t.match(writeHistory([dir, other], out).message, /over 2 run\(s\)/, 'the pinned history leaves the unpinned run out')
  const unpinned = writeHistory([dir, other], join(other, 'charts', 'history-no-pin.svg'), false)
  t.match(unpinned.message, /over 1 run\(s\)/, 'and the unpinned history has it alone')

  const empty = tempDir(t, 'tollgate-charts-empty-')
  write(empty, 'x.json', run('2026-12-03T10:00:00.000Z', [['tollgate', 0.9]], false))
  const none = writeHistory([empty, join(empty, 'absent')], join(empty, 'h.svg'))
  t.equal(none.code, 1, 'no usable run: a failure')
  t.match(none.message, /no usable runs in .*1 run file\(s\) read, none with a bare contestant/)
})
