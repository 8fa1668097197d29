// Reads a Prometheus exposition with the Prometheus project's own parser: the official
// Python client's (prometheus_client.parser, Debian's python3-prometheus-client), which is
// what its text format is defined against. JavaScript's parsers on npm flatten labelled
// histograms (parse-prometheus-text-format keeps one series and drops _count and _sum), so
// a scrape of several label sets could not be checked with them.

import { spawn, spawnSync } from 'node:child_process'
import type { Test } from 'tap'

/** Debian's python3, where the Debian package puts the module (not a pyenv shim's). */
const PYTHON = '/usr/bin/python3'

const SCRIPT = `
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    out.append({'name': f.name, 'type': f.type, 'help': f.documentation,
                'samples': [{'name': s.name, 'labels': s.labels, 'value': s.value} for s in f.samples]})
json.dump(out, sys.stdout, allow_nan=True)
`

export interface Sample { name: string, labels: Record<string, string>, value: number }
export interface Family { name: string, type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped', help: string, samples: Sample[] }

/**
 * Whether the parser is here. Under CI (CI=true) a missing one fails the test: .ci/run
 * installs it, and a silent skip would hide a broken setup.
 */
export function prometheusParserAvailable (t: Test): boolean {
  if (spawnSync(PYTHON, ['-c', 'import prometheus_client.parser'], { stdio: 'ignore' }).status === 0) return true
  if (process.env.CI === 'true') t.fail('python3-prometheus-client is not installed (CI=true: .ci/run must install it)')
  else t.plan(0, 'python3-prometheus-client is not installed: skipping (apt-get install -y python3-prometheus-client)')
  return false
}

/** The exposition's metric families; rejects when the parser refuses the text. */
export function parseExposition (text: string): Promise<Family[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ['-c', SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    child.on('error', reject)
    child.on('exit', (code) => {
      if (code !== 0) { reject(new Error(`the Prometheus parser refused the exposition: ${stderr.trim()}`)); return }
      try { resolve(JSON.parse(stdout) as Family[]) } catch (err) { reject(err) }
    })
    child.stdin.end(text)
  })
}

/** The samples named `name` (e.g. `kong_http_requests_total`, `kong_kong_latency_ms_bucket`) whose labels include `labels`. */
export function samples (families: Family[], name: string, labels: Record<string, string> = {}): Sample[] {
  return families.flatMap((f) => f.samples).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
}

/** The value of the one sample matching, 0 when there is none; throws when several match. */
export function sampleValue (families: Family[], name: string, labels: Record<string, string> = {}): number {
  const found = samples(families, name, labels)
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`)
  return found[0]?.value ?? 0
}
