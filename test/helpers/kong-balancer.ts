// Helpers for the ports of Kong's balancer specs (spec/02-integration/05-proxy/10-balancer):
// a server that behaves like Kong's fixture (spec/fixtures/https_server.lua with
// mock_webserver_tpl.lua: healthy 200, unhealthy 500, timeout never answers; `/status` for
// probes, counted apart), upstream + service + route in one call like balancer_utils'
// add_upstream/add_target/add_api, its healthchecks defaults, and its client_requests.
import type { Test } from 'tap'
import { request } from 'undici'
import { startUpstream, until, type TestGateway } from './gateway.js'

export type Mode = 'healthy' | 'unhealthy' | 'timeout'

export interface KongServer {
  port: number
  /** What the server does with the next requests (Kong's /healthy, /unhealthy, /timeout). */
  mode: Mode
  /** `/` requests answered 200 / answered 500 or left hanging (Kong counts those as 599). */
  ok: number
  fail: number
  /** Probes on `/status`, likewise. */
  statusOk: number
  statusFail: number
  /** The Host header of each `/` request. */
  hosts: string[]
  clear (): void
}

/**
 * Kong's fixture server on 127.0.0.1. `delayMs` delays every answer; `hostname` answers 400
 * (uncounted) to a Host whose name differs, as the fixture's check_hostname does.
 */
export async function kongServer (t: Test, opts: { delayMs?: number, hostname?: string } = {}): Promise<KongServer> {
  const s: KongServer = {
    port: 0,
    mode: 'healthy',
    ok: 0,
    fail: 0,
    statusOk: 0,
    statusFail: 0,
    hosts: [],
    clear () { s.ok = s.fail = s.statusOk = s.statusFail = 0; s.hosts = [] },
  }
  const up = await startUpstream(t, (req, res) => {
    req.resume()
    const host = req.headers.host ?? ''
    if (opts.hostname !== undefined && host.replace(/:\d+$/, '') !== opts.hostname) {
      res.writeHead(400)
      res.end()
      return
    }
    const probe = req.url === '/status'
    if (s.mode === 'timeout') {
      if (probe) s.statusFail++
      else s.fail++
      return // never answers
    }
    const status = s.mode === 'healthy' ? 200 : 500
    if (probe) {
      if (status === 200) s.statusOk++
      else s.statusFail++
    } else {
      s.hosts.push(host)
      if (status === 200) s.ok++
      else s.fail++
    }
    const body = JSON.stringify({ port: s.port, host })
    const send = (): void => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(body) }
    if (opts.delayMs === undefined || probe) send()
    else setTimeout(send, opts.delayMs)
  })
  s.port = up.port
  return s
}

/** balancer_utils' healthchecks_defaults (note: not Kong's schema defaults). */
export function kongHc (over: Record<string, any> = {}): Record<string, any> {
  const defaults = {
    active: {
      timeout: 1,
      concurrency: 10,
      http_path: '/',
      healthy: { interval: 0, http_statuses: [200, 302], successes: 2 },
      unhealthy: { interval: 0, http_statuses: [429, 404, 500, 501, 502, 503, 504, 505], tcp_failures: 2, timeouts: 3, http_failures: 5 },
    },
    passive: {
      healthy: { http_statuses: [200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308], successes: 5 },
      unhealthy: { http_statuses: [429, 500, 503], tcp_failures: 2, timeouts: 7, http_failures: 5 },
    },
  }
  return merge(defaults, over)
}

function merge (a: any, b: any): any {
  if (b === undefined) return a
  if (typeof a !== 'object' || a === null || Array.isArray(a) || typeof b !== 'object' || b === null || Array.isArray(b)) return b
  const out: Record<string, unknown> = { ...a }
  for (const [k, v] of Object.entries(b)) out[k] = merge(a[k], v)
  return out
}

let sym = 0

export interface Api { name: string, id: string, path: string, service: string }

/**
 * An upstream (Kong's test default: slots 10), its targets (default weight 10, as
 * balancer_utils' add_target), a service on it and a route `/<name>`.
 */
export async function addApi (gw: TestGateway, upstream: Record<string, unknown>, targets: Array<{ target: string, weight?: number }>, service: Record<string, unknown> = {}, route: Record<string, unknown> = {}): Promise<Api> {
  sym++
  const name = (upstream.name as string | undefined) ?? `upstream-${sym}`
  const u = await gw.admin$('POST', '/upstreams', { slots: 10, ...upstream, name })
  for (const t of targets) await gw.admin$('POST', `/upstreams/${name}/targets`, { weight: 10, ...t })
  const svc = `svc-${sym}`
  await gw.admin$('POST', '/services', { name: svc, host: name, port: 80, ...service })
  const path = `/r${sym}`
  await gw.admin$('POST', `/services/${svc}/routes`, { paths: [path], ...route })
  return { name, id: u.id, path, service: svc }
}

/** balancer_utils' client_requests: `n` requests one after the other; 200s and >399s. */
export async function clientRequests (gw: TestGateway, n: number, path: string, headers: Record<string, string> = {}): Promise<{ oks: number, fails: number, last: number, bodies: string[] }> {
  let oks = 0
  let fails = 0
  let last = 0
  const bodies: string[] = []
  for (let i = 0; i < n; i++) {
    const res = await request(`${gw.proxy}${path}`, { headers, reset: true })
    bodies.push(await res.body.text())
    last = res.statusCode
    if (last === 200) oks++
    else if (last > 399) fails++
  }
  return { oks, fails, last, bodies }
}

/** GET /upstreams/{u}/health, the entry of `target`. */
export async function targetHealth (gw: TestGateway, upstream: string, target: string): Promise<any> {
  const h = await gw.admin$('GET', `/upstreams/${upstream}/health`)
  return h.data.find((d: any) => d.target === target)
}

/** balancer_utils' poll_wait_health. */
export async function pollHealth (gw: TestGateway, upstream: string, target: string, health: string): Promise<void> {
  await until(async () => (await targetHealth(gw, upstream, target))?.health === health, `${target} ${health}`)
}

/** An Admin API call that returns status and body instead of throwing. */
export async function adminCall (gw: TestGateway, method: string, path: string, body?: unknown): Promise<{ status: number, body: any }> {
  const res = await request(`${gw.admin}${path}`, {
    method: method as 'GET',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.body.text()
  let parsed: unknown = text
  try { parsed = text === '' ? undefined : JSON.parse(text) } catch {}
  return { status: res.statusCode, body: parsed }
}
