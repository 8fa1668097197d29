// Router match cost with 10 vs 10,000 routes (and 1,000 host-based ones), interleaved
// rounds, medians reported. Run: npm run bench:router
import { Router, normalizePath, type RouteRequest } from '../../core/router/index.js'
import type { Route, Service } from '../../core/store/index.js'
import { RouteSchema } from '../../core/store/entities/routes.js'
import { ServiceSchema } from '../../core/store/entities/services.js'
import { validateRecord } from '../../core/store/schema.js'

const service = { ...validateRecord(ServiceSchema, { host: 'upstream.test' }).value, id: 'aaaaaaaa-0000-4000-8000-000000000000' } as unknown as Service
let n = 0
function route (input: Record<string, unknown>): Route {
  const { value, errors } = validateRecord(RouteSchema, input)
  if (errors !== undefined) throw new Error(JSON.stringify(errors))
  n++
  return { ...value, id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, service: { id: service.id } } as unknown as Route
}

/** `count` routes of mixed shapes: prefix paths, methods + paths, hosts + paths, a few regexes. */
function routes (count: number): Route[] {
  const out: Route[] = []
  for (let i = 0; i < count; i++) {
    switch (i % 4) {
      case 0: out.push(route({ paths: [`/api/v1/resource${i}`] })); break
      case 1: out.push(route({ paths: [`/svc${i}`], methods: ['GET', 'POST'] })); break
      case 2: out.push(route({ hosts: [`h${i}.example.test`], paths: ['/'] })); break
      default: out.push(i % 100 === 3 ? route({ paths: [`~/items${i}/\\d+$`] }) : route({ paths: [`/items${i}/list`] }))
    }
  }
  return out
}

function requests (count: number): RouteRequest[] {
  const reqs: RouteRequest[] = []
  for (let k = 0; k < 1000; k++) {
    const i = Math.floor((k * 7919) % count)
    const base = { method: 'GET', port: 8000, headers: () => ({}) }
    switch (i % 4) {
      case 0: reqs.push({ ...base, host: 'api.test', path: normalizePath(`/api/v1/resource${i}/x`) }); break
      case 1: reqs.push({ ...base, host: 'api.test', path: normalizePath(`/svc${i}/y`) }); break
      case 2: reqs.push({ ...base, host: `h${i}.example.test`, path: '/z' }); break
      default: reqs.push({ ...base, host: 'api.test', path: normalizePath(i % 100 === 3 ? `/items${i}/42` : `/items${i}/list`) })
    }
  }
  return reqs
}

function measure (router: Router, reqs: RouteRequest[], iterations: number): number {
  let misses = 0
  const start = process.hrtime.bigint()
  for (let i = 0; i < iterations; i++) if (router.match(reqs[i % reqs.length] as RouteRequest) === undefined) misses++
  const ns = Number(process.hrtime.bigint() - start)
  if (misses > 0) throw new Error(`${misses} requests did not match`)
  return iterations / (ns / 1e9)
}

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] as number }

const sizes = [10, 1000, 10_000]
const cases = sizes.map((size) => {
  const t0 = performance.now()
  const r = new Router(routes(size), new Map([[service.id, service]]))
  return { size, router: r, reqs: requests(size), compileMs: performance.now() - t0, rates: [] as number[] }
})
const ITER = Number(process.env.ITER ?? 300_000)
for (const c of cases) measure(c.router, c.reqs, 50_000) // warm-up
for (let round = 0; round < 7; round++) for (const c of cases) c.rates.push(measure(c.router, c.reqs, ITER))

const floor = median((cases[0] as typeof cases[0]).rates)
console.log('| routes | compile (ms) | matches/s (median of 7) | vs 10 routes |')
console.log('|---:|---:|---:|---:|')
for (const c of cases) {
  const m = median(c.rates)
  console.log(`| ${c.size} | ${c.compileMs.toFixed(1)} | ${Math.round(m).toLocaleString('en-US')} | ${(m / floor).toFixed(2)}x |`)
}
