/** Calls `fn` `iterations` times per round over several interleaved rounds; ops/s medians. */
export function compare (cases: { name: string, fn: (i: number) => unknown }[], iterations: number, rounds = 7): { name: string, opsPerSec: number }[] {
  const rates = new Map<string, number[]>(cases.map((c) => [c.name, []]))
  for (const c of cases) for (let i = 0; i < Math.min(iterations, 50_000); i++) c.fn(i) // warm-up
  for (let r = 0; r < rounds; r++) {
    for (const c of cases) {
      const start = process.hrtime.bigint()
      for (let i = 0; i < iterations; i++) c.fn(i)
      const ns = Number(process.hrtime.bigint() - start)
      rates.get(c.name)?.push(iterations / (ns / 1e9))
    }
  }
  return cases.map((c) => {
    const xs = [...(rates.get(c.name) ?? [])].sort((a, b) => a - b)
    return { name: c.name, opsPerSec: xs[Math.floor(xs.length / 2)] as number }
  })
}

export function table (rows: { name: string, opsPerSec: number }[], unit = 'ops/s'): string {
  const base = rows[0]?.opsPerSec ?? 1
  return [`| case | ${unit} (median) | vs first |`, '|---|---:|---:|',
    ...rows.map((r) => `| ${r.name} | ${Math.round(r.opsPerSec).toLocaleString('en-US')} | ${(r.opsPerSec / base).toFixed(2)}x |`)].join('\n')
}
