import t from 'tap'
import { TRAFFIC_SECONDS, TrafficWindow } from '../../../core/proxy/traffic.js'

/** A window on a clock the test moves. */
function windowAt (startMs: number): { w: TrafficWindow, at: (ms: number) => void } {
  let now = startMs
  return { w: new TrafficWindow(() => now), at: (ms) => { now = ms } }
}

const T0 = 1_800_000_000_000

t.test('a second is counted by status class, and shown once the clock has left it', async (t) => {
  const { w, at } = windowAt(T0 + 100)
  for (const s of [200, 201, 204, 301, 404, 404, 499, 502, 101, 0, 700]) w.record(s, 1)
  t.same(w.seconds(), [], 'the current second is not complete')
  at(T0 + 1000)
  const [row] = w.seconds()
  t.equal(row?.time, T0 / 1000)
  t.equal(row?.requests, 11)
  // 0 and 700 are no status a client can use: the server's failure.
  t.same(row?.status, { '1xx': 1, '2xx': 3, '3xx': 1, '4xx': 3, '5xx': 3 })
})

t.test('percentiles from the histogram fall within a bin (12.5%) of the exact ones', async (t) => {
  const { w, at } = windowAt(T0)
  const values: number[] = []
  // A spread from 0.05 ms to about 2 s, as a mix of cache hits and slow upstreams.
  for (let i = 0; i < 5000; i++) {
    const v = 0.05 * Math.exp((i * 7919 % 5000) / 5000 * Math.log(40_000))
    values.push(v)
    w.record(200, v)
  }
  at(T0 + 1000)
  values.sort((a, b) => a - b)
  const exact = (q: number): number => values[Math.ceil(q * values.length) - 1] as number
  const l = w.seconds()[0]?.latency_ms
  for (const [q, got] of [[0.5, l?.p50], [0.95, l?.p95], [0.99, l?.p99]] as const) {
    const want = exact(q)
    t.ok(got !== undefined && Math.abs(got - want) / want <= 0.125, `p${q * 100}: ${got} vs exact ${want.toFixed(3)}`)
  }
  t.ok((l?.p50 ?? 0) < (l?.p95 ?? 0) && (l?.p95 ?? 0) < (l?.p99 ?? 0), 'ordered')
})

t.test('the window keeps five minutes: older seconds are dropped, a reused slot starts empty', async (t) => {
  const { w, at } = windowAt(T0)
  w.record(200, 1)
  at(T0 + TRAFFIC_SECONDS * 1000) // the same slot, five minutes later
  w.record(500, 1)
  at(T0 + (TRAFFIC_SECONDS + 1) * 1000)
  const rows = w.seconds()
  t.equal(rows.length, 1)
  t.same(rows[0]?.status, { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 1 })
  t.same(w.seconds(1).map((r) => r.time), [T0 / 1000 + TRAFFIC_SECONDS], 'seconds(n) limits to the last n')
})

t.test("workers' seconds merge into the node's window, each taken once", async (t) => {
  const a = windowAt(T0)
  const b = windowAt(T0)
  const node = windowAt(T0)
  a.w.record(200, 2)
  a.w.record(200, 2)
  b.w.record(503, 40)
  for (const x of [a, b, node]) x.at(T0 + 1500)
  a.w.record(200, 2) // the current second: not complete, not taken
  // As cluster.ts does with each stats message: every worker's completed seconds.
  node.w.merge(a.w.take())
  node.w.merge(b.w.take())
  t.same(a.w.take(), [], 'a second is taken once')
  const [row] = node.w.seconds()
  t.equal(row?.requests, 3)
  t.same(row?.status, { '1xx': 0, '2xx': 2, '3xx': 0, '4xx': 0, '5xx': 1 })
  t.ok((row?.latency_ms?.p99 ?? 0) > 30, 'the slow worker shows in p99')
  for (const x of [a, node]) x.at(T0 + 2500)
  node.w.merge(a.w.take())
  t.same(node.w.seconds().map((r) => r.requests), [3, 1], 'the next second arrives with the next take')
  node.w.merge([[T0 / 1000, 1]])
  t.equal(node.w.seconds()[0]?.requests, 3, 'a malformed row is ignored')
  node.w.merge([[T0 / 1000 - TRAFFIC_SECONDS, ...new Array(69).fill(1)]])
  t.equal(node.w.seconds().length, 2, 'a row older than the window is ignored')
})
