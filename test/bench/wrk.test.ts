// The harness reads wrk's text report; these are reports as wrk 4.1 prints them.
import t from 'tap'
import { parseWrk } from '../../bench/wrk.js'

t.test('a clean run', async (t) => {
  const r = parseWrk(`Running 2s test @ http://127.0.0.1:45999/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.78ms    9.93ms 156.71ms   97.57%
    Req/Sec    36.41k    10.96k   46.61k    85.00%
  Latency Distribution
     50%    1.23ms
     75%    1.47ms
     90%    2.19ms
     99%   58.00ms
  72289 requests in 2.00s, 8.55MB read
Requests/sec:  36088.06
Transfer/sec:      4.27MB
`)
  t.same(r, { rps: 36088.06, p50: 1.23, p99: 58, errors: 0, total: 72289 })
})

t.test('units, socket errors and non-2xx answers', async (t) => {
  const r = parseWrk(`  Latency Distribution
     50%  850.00us
     75%    1.02ms
     90%    1.50ms
     99%    1.20s
  1000 requests in 1.00s, 1.00MB read
  Socket errors: connect 1, read 2, write 3, timeout 4
  Non-2xx or 3xx responses: 10
Requests/sec:   1000.00
`)
  t.same(r, { rps: 1000, p50: 0.85, p99: 1200, errors: 20, total: 1000 })
})

t.test('a report without numbers is an error, not zeros', async (t) => {
  t.throws(() => parseWrk('unable to connect to 127.0.0.1:1 Connection refused'), /could not read wrk's report/)
})
