// Reading wrk's text report (wrk 4.x with --latency) into the harness's numbers.

export interface LoadResult { rps: number, p50: number, p99: number, errors: number, total: number }

/** Milliseconds from wrk's latency notation (us, ms, s). */
function wrkMs (value: string, unit: string): number {
  const n = Number(value)
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : n
}

/** Requests/s, p50 and p99 in ms, errors (socket errors and non-2xx/3xx answers), total requests. */
export function parseWrk (out: string): LoadResult {
  const total = /(\d+) requests in /.exec(out)
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out)
  const p50 = /^\s+50%\s+([\d.]+)(us|ms|s|m)\b/m.exec(out)
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s|m)\b/m.exec(out)
  if (total === null || rps === null || p50 === null || p99 === null) throw new Error(`could not read wrk's report:\n${out}`)
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out)
  const errors = (sock === null ? 0 : sock.slice(1).reduce((a, x) => a + Number(x), 0)) + (non2xx === null ? 0 : Number(non2xx[1]))
  return {
    rps: Number(rps[1]),
    p50: Math.round(wrkMs(p50[1] as string, p50[2] as string) * 100) / 100,
    p99: Math.round(wrkMs(p99[1] as string, p99[2] as string) * 100) / 100,
    errors,
    total: Number(total[1]),
  }
}
