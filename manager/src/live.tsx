// Live traffic: GET /status/traffic?seconds=300 every second, drawn with uPlot (requests/s,
// status classes, latency percentiles), the charts updated in place.
import uPlot from 'uplot'
import { useEffect, useRef, useState } from 'preact/hooks'
import { api, errorMessage } from './api.js'

interface Row { time: number, requests: number, status: Record<string, number>, latency_ms: { p50: number, p95: number, p99: number } | null }
interface Traffic { interval_seconds: number, now: number, data: Row[] }

const WINDOW = 300
const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const
const COLORS: Record<string, string> = { '1xx': '#8a8f98', '2xx': '#2e9e5b', '3xx': '#3b7dd8', '4xx': '#d99a1e', '5xx': '#d64545' }

/** One value per second of the window, oldest first; seconds without a row had no traffic. */
export function fill (t: Traffic): { x: number[], requests: number[], status: Record<string, number[]>, p50: Array<number | null>, p95: Array<number | null>, p99: Array<number | null> } {
  const end = t.data.length > 0 ? Math.max(t.now - 1, t.data[t.data.length - 1]!.time) : t.now - 1
  const start = end - WINDOW + 1
  const byTime = new Map(t.data.map((r) => [r.time, r]))
  const out = { x: [] as number[], requests: [] as number[], status: Object.fromEntries(CLASSES.map((c) => [c, [] as number[]])) as Record<string, number[]>, p50: [] as Array<number | null>, p95: [] as Array<number | null>, p99: [] as Array<number | null> }
  for (let s = start; s <= end; s++) {
    const r = byTime.get(s)
    out.x.push(s)
    out.requests.push(r?.requests ?? 0)
    for (const c of CLASSES) out.status[c]!.push(r?.status?.[c] ?? 0)
    out.p50.push(r?.latency_ms?.p50 ?? null)
    out.p95.push(r?.latency_ms?.p95 ?? null)
    out.p99.push(r?.latency_ms?.p99 ?? null)
  }
  return out
}

function Chart ({ title, opts, data }: { title: string, opts: Omit<uPlot.Options, 'width' | 'height'>, data: uPlot.AlignedData | undefined }): preact.JSX.Element {
  const ref = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  useEffect(() => {
    const el = ref.current
    if (el === null) return
    const width = (): number => Math.max(300, el.clientWidth)
    plot.current = new uPlot({ ...opts, width: width(), height: 140 } as uPlot.Options, [[], ...opts.series.slice(1).map(() => [])] as unknown as uPlot.AlignedData, el)
    const resize = (): void => plot.current?.setSize({ width: width(), height: 140 })
    window.addEventListener('resize', resize)
    return () => { window.removeEventListener('resize', resize); plot.current?.destroy(); plot.current = null }
  }, [])
  useEffect(() => { if (data !== undefined) plot.current?.setData(data) }, [data])
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={ref} role="img" aria-label={`${title} chart, last 5 minutes`} />
    </figure>
  )
}

const axes = (unit: string): uPlot.Axis[] => [{ stroke: '#5b6270', grid: { stroke: '#eceef2' } }, { stroke: '#5b6270', grid: { stroke: '#eceef2' }, label: unit, size: 56 }]

export function Live (): preact.JSX.Element {
  const [traffic, setTraffic] = useState<ReturnType<typeof fill> | undefined>(undefined)
  const [error, setError] = useState('')
  useEffect(() => {
    let live = true
    let timer: ReturnType<typeof setTimeout> | undefined
    const poll = async (): Promise<void> => {
      try {
        const t = await api<Traffic>('GET', `/status/traffic?seconds=${WINDOW}`)
        if (!live) return
        setTraffic(fill(t))
        setError('')
      } catch (err) {
        if (live) setError(errorMessage(err))
      }
      if (live) timer = setTimeout(() => { void poll() }, 1000)
    }
    void poll()
    return () => { live = false; clearTimeout(timer) }
  }, [])
  const last = traffic === undefined ? undefined : traffic.requests.length - 1
  const rps = last === undefined ? 0 : traffic!.requests[last] ?? 0
  const total = traffic?.requests.reduce((a, b) => a + b, 0) ?? 0
  const errors5 = traffic?.status['5xx']?.reduce((a, b) => a + b, 0) ?? 0
  const p95 = last === undefined ? null : traffic!.p95.slice().reverse().find((v) => v !== null) ?? null
  return (
    <section>
      <header class="page-head"><h1>Live traffic</h1><span class="muted">Last 5 minutes, updated every second</span></header>
      {error !== '' && <div class="alert alert-error" role="alert">{error}</div>}
      <div class="stats" aria-live="off">
        <div class="stat"><span class="stat-label">Requests/s</span><span class="stat-value" data-testid="rps">{rps}</span></div>
        <div class="stat"><span class="stat-label">Requests (5 min)</span><span class="stat-value" data-testid="total">{total}</span></div>
        <div class="stat"><span class="stat-label">5xx (5 min)</span><span class="stat-value">{errors5}</span></div>
        <div class="stat"><span class="stat-label">Latency p95</span><span class="stat-value">{p95 === null ? '—' : `${p95.toFixed(1)} ms`}</span></div>
      </div>
      <Chart title="Requests per second"
        opts={{ series: [{}, { label: 'requests/s', stroke: '#3b5bdb', fill: 'rgba(59,91,219,0.12)', width: 2 }], axes: axes('req/s'), scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } } }}
        data={traffic === undefined ? undefined : [traffic.x, traffic.requests]} />
      <Chart title="Responses by status class"
        opts={{ series: [{}, ...CLASSES.map((c) => ({ label: c, stroke: COLORS[c], width: 2 }))], axes: axes('resp/s'), scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } } }}
        data={traffic === undefined ? undefined : [traffic.x, ...CLASSES.map((c) => traffic.status[c]!)]} />
      <Chart title="Latency (ms)"
        opts={{ series: [{}, { label: 'p50', stroke: '#2e9e5b', width: 2 }, { label: 'p95', stroke: '#d99a1e', width: 2 }, { label: 'p99', stroke: '#d64545', width: 2 }], axes: axes('ms'), scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } } }}
        data={traffic === undefined ? undefined : [traffic.x, traffic.p50, traffic.p95, traffic.p99] as unknown as uPlot.AlignedData} />
    </section>
  )
}
