// A request as plain data, and back. An isolated plugin runs in a worker thread against a
// RequestContext rebuilt from a snapshot (what the PDK can read); afterwards what the
// handler changed travels back as one ordered list of mutations that the host applies.
// The SDK's test kit builds its contexts the same way, so a plugin tested there sees the
// same PDK as in the gateway, isolated or not.
//
// On the wire a batch is one JSON text plus its binary bodies. JSON rather than the
// structured clone of the objects themselves: V8 parses JSON several times faster than it
// deserialises cloned objects, and a batch names each entity (route, service, consumer,
// credential) and each plugin config once, by index, however many requests share it.

import type { IncomingMessage, ServerResponse } from 'node:http'
import type { RouteMatch } from '../router/index.js'
import { Phase } from '../runtime/phases.js'
import { RequestContext, type ExitResponse, type Headers, type ResponseSource, type UpstreamRequest } from '../runtime/context.js'
import type { Consumer, Route, Service } from '../store/index.js'
import type { Entity } from '../store/lmdb-store.js'

export interface Snapshot {
  id: string
  phase: number
  startedAt: number
  /** Milliseconds since the request arrived, and when the upstream call started and answered. */
  elapsed?: number
  upstreamStartedAt?: number
  upstreamRespondedAt?: number
  method: string
  url: string
  httpVersion: string
  rawHeaders: string[]
  clientIp: string
  clientPort: number
  localPort: number
  normalizedPath: string
  match: RouteMatch | undefined
  consumer: Consumer | undefined
  credential: Entity | undefined
  shared: Record<string, unknown>
  pluginCtx: Record<string, unknown>
  serializeExtra?: Record<string, unknown>
  upstream: UpstreamRequest | undefined
  body: Uint8Array | undefined
  exit: ExitResponse | undefined
  source: ResponseSource
  status: number
  responseHeaders: Headers
  serviceStatus: number | undefined
  upstreamHeaders: Headers | undefined
  responseBody: Uint8Array | undefined
  /** The Content-Length the client response will carry, for kong.log.serialize. */
  responseSize?: string
}

/** Header changes: names set (to these values) and names removed. */
export interface HeaderDiff { set: Headers, del: string[] }

/** The parts of the upstream request a handler changed. `query: null` removes the query. */
export interface UpstreamChange {
  scheme?: UpstreamRequest['scheme']
  method?: string
  path?: string
  query?: string | null
  headers?: HeaderDiff
  body?: Uint8Array
}

export type Mutation =
  | { op: 'upstream', value: UpstreamChange }
  | { op: 'authenticate', consumer: Consumer | undefined, credential: Entity | undefined }
  | { op: 'responseHeaders', value: HeaderDiff }
  | { op: 'status', value: number }
  | { op: 'exit', value: ExitResponse }
  | { op: 'responseBody', value: Uint8Array }
  | { op: 'shared', value: Record<string, unknown> }
  | { op: 'pluginCtx', value: Record<string, unknown> }
  | { op: 'log', level: 'debug' | 'info' | 'warn' | 'error' | 'fatal', message: string }
  | { op: 'serialize', key: string, value: unknown }

// --- Host: a batch of phases to the wire ------------------------------------------------

/** A batch as it crosses to a worker: JSON text, and the bodies it refers to by index. */
export interface Wire { json: string, bins: Uint8Array[] }

/** Wire form of one snapshot: entities and configs by index into the batch's tables. */
interface WireSnapshot extends Omit<Snapshot, 'match' | 'consumer' | 'credential' | 'upstream' | 'body' | 'exit' | 'responseBody'> {
  match?: { route: number, service: number, matchedPath: string, byPath: boolean, captures?: Record<string, string> }
  consumer: number
  credential: number
  upstream?: Omit<UpstreamRequest, 'body'> & { body: number }
  body: number
  exit?: Omit<ExitResponse, 'body'> & { body: string | number | undefined }
  responseBody: number
}

export interface WireTask { plugin: string, handler: string, conf: number, snapshot: WireSnapshot }

/** Builds one batch's wire form; entities and configs shared by its tasks are sent once. */
export class BatchWriter {
  readonly #refs = new Map<object, number>()
  readonly #objects: unknown[] = []
  readonly #bins: Uint8Array[] = []
  readonly #tasks: WireTask[] = []

  add (ctx: RequestContext, plugin: string, handler: string, conf: Record<string, unknown>, withBody: boolean): void {
    const phase = ctx.phase
    const match = ctx.match
    // service.request (the upstream request) is for rewrite and access, and
    // kong.log.serialize in log reads it; header_filter and body_filter never do.
    const up = ctx.upstream !== undefined && (phase & (Phase.header_filter | Phase.body_filter)) === 0 ? ctx.upstream : undefined
    const exit = ctx.exit
    const now = performance.now()
    const req = ctx.req
    this.#tasks.push({
      plugin,
      handler,
      conf: this.#ref(conf),
      snapshot: {
        id: ctx.id,
        phase,
        startedAt: ctx.startedAt,
        elapsed: now - ctx.started,
        upstreamStartedAt: ctx.upstreamStarted === undefined ? undefined : ctx.upstreamStarted - ctx.started,
        upstreamRespondedAt: ctx.upstreamResponded === undefined ? undefined : ctx.upstreamResponded - ctx.started,
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        httpVersion: req.httpVersion,
        rawHeaders: req.rawHeaders,
        clientIp: ctx.clientIp,
        clientPort: ctx.clientPort,
        localPort: ctx.localPort,
        normalizedPath: ctx.normalizedPath,
        match: match === undefined ? undefined : { route: this.#ref(match.route), service: this.#ref(match.service), matchedPath: match.matchedPath, byPath: match.byPath, captures: match.captures },
        consumer: this.#ref(ctx.consumer),
        credential: this.#ref(ctx.credential),
        shared: ctx.shared,
        pluginCtx: ctx.pluginCtx.get(plugin) ?? {},
        serializeExtra: ctx.serializeExtra,
        upstream: up === undefined ? undefined : { scheme: up.scheme, method: up.method, path: up.path, query: up.query, headers: up.headers, body: this.#bin(up.body) },
        body: withBody ? this.#bin(ctx.body) : -1,
        exit: exit === undefined ? undefined : { status: exit.status, headers: exit.headers, body: typeof exit.body === 'string' || exit.body === undefined ? exit.body : this.#bin(exit.body) },
        source: ctx.source,
        status: ctx.status,
        responseHeaders: ctx.responseHeaders,
        serviceStatus: ctx.serviceStatus,
        upstreamHeaders: ctx.upstreamHeaders,
        responseBody: this.#bin(ctx.responseBody),
        responseSize: phase === Phase.log ? headerString(ctx.res.getHeader('content-length')) : undefined,
      },
    })
  }

  /** The batch on the wire; `objects` is the shared table of entities and configs. */
  finish (): Wire {
    return { json: JSON.stringify({ objects: this.#objects, tasks: this.#tasks }), bins: this.#bins }
  }

  #ref (o: object | null | undefined): number {
    if (o === undefined || o === null) return -1
    let i = this.#refs.get(o)
    if (i === undefined) {
      i = this.#objects.push(o) - 1
      this.#refs.set(o, i)
    }
    return i
  }

  #bin (b: Uint8Array | undefined): number {
    return b === undefined ? -1 : this.#bins.push(b) - 1
  }
}

function headerString (v: number | string | string[] | undefined): string | undefined {
  return v === undefined ? undefined : String(v)
}

// --- Worker: the wire back to tasks -----------------------------------------------------

export interface ReadTask { plugin: string, handler: string, conf: Record<string, unknown>, snapshot: Snapshot }

/** Decodes a batch into snapshots; tasks of one batch share its entity and config objects. */
export function readBatch (wire: Wire): ReadTask[] {
  const { objects, tasks } = JSON.parse(wire.json) as { objects: unknown[], tasks: WireTask[] }
  const obj = <T>(i: number): T | undefined => (i < 0 ? undefined : objects[i] as T)
  const bin = (i: number): Uint8Array | undefined => (i < 0 ? undefined : wire.bins[i])
  return tasks.map((t) => {
    const w = t.snapshot
    const s = w as unknown as Snapshot
    s.match = w.match === undefined ? undefined : { ...w.match, route: obj<Route>(w.match.route) as Route, service: obj<Service>(w.match.service) ?? null }
    s.consumer = obj<Consumer>(w.consumer)
    s.credential = obj<Entity>(w.credential)
    s.upstream = w.upstream === undefined ? undefined : { ...w.upstream, body: toBuffer(bin(w.upstream.body)) }
    s.body = bin(w.body)
    s.exit = w.exit === undefined ? undefined : { ...w.exit, body: typeof w.exit.body === 'number' ? toBuffer(bin(w.exit.body)) : w.exit.body }
    s.responseBody = bin(w.responseBody)
    return { plugin: t.plugin, handler: t.handler, conf: obj<Record<string, unknown>>(t.conf) ?? {}, snapshot: s }
  })
}

const toBuffer = (b: Uint8Array | undefined): Buffer | undefined => b === undefined ? undefined : Buffer.from(b.buffer, b.byteOffset, b.byteLength)

/** Enough of an IncomingMessage for RequestContext and the PDK. */
function fakeRequest (s: Pick<Snapshot, 'method' | 'url' | 'httpVersion' | 'rawHeaders' | 'clientIp' | 'clientPort' | 'localPort'>): IncomingMessage {
  const headers: Record<string, string | string[]> = {}
  const distinct: Record<string, string[]> = {}
  for (let i = 0; i < s.rawHeaders.length; i += 2) {
    const k = (s.rawHeaders[i] as string).toLowerCase()
    const v = s.rawHeaders[i + 1] as string
    const prev = headers[k]
    // Node joins repeats (set-cookie aside); the PDK reads repeats from rawHeaders.
    headers[k] = prev === undefined ? v : k === 'set-cookie' ? [...(Array.isArray(prev) ? prev : [prev]), v] : `${prev as string}, ${v}`
    ;(distinct[k] ??= []).push(v)
  }
  return {
    method: s.method,
    url: s.url,
    httpVersion: s.httpVersion,
    rawHeaders: s.rawHeaders,
    headers,
    headersDistinct: distinct,
    socket: { remoteAddress: s.clientIp, remotePort: s.clientPort, localPort: s.localPort },
  } as unknown as IncomingMessage
}

/** A response stand-in: plugins never write to it directly. */
function detachedResponse (size: string | undefined): ServerResponse {
  return { headersSent: false, destroyed: false, getHeader: (name: string) => name.toLowerCase() === 'content-length' ? size : undefined } as unknown as ServerResponse
}

interface Baseline { upstream: UpstreamRequest | undefined, responseHeaders: Headers, shared: string, pluginCtx: string, serializeExtra: string, exit: string | undefined }

/** How a snapshot's mutable parts were when its context was built. */
const baselines = new WeakMap<Snapshot, Baseline>()

/** Rebuilds a RequestContext from a snapshot, in a worker or in the test kit. */
export function contextFromSnapshot (s: Snapshot, plugin: string): RequestContext {
  const shared = JSON.stringify(s.shared)
  const pluginCtx = JSON.stringify(s.pluginCtx)
  const serializeExtra = JSON.stringify(s.serializeExtra ?? {})
  // Handlers change the context's copies; mutationsOf compares them with the snapshot's.
  baselines.set(s, { upstream: s.upstream, responseHeaders: s.responseHeaders, shared, pluginCtx, serializeExtra, exit: s.exit === undefined ? undefined : JSON.stringify(s.exit) })
  const ctx = new RequestContext(fakeRequest(s), detachedResponse(s.responseSize), s.id)
  const up = s.upstream
  Object.assign(ctx, {
    phase: s.phase,
    match: s.match,
    route: s.match?.route as Route | undefined,
    service: (s.match?.service ?? undefined) as Service | undefined,
    consumer: s.consumer,
    credential: s.credential,
    upstream: up === undefined ? undefined : { ...up, headers: copyHeaders(up.headers), body: up.body === undefined ? undefined : Buffer.from(up.body) },
    body: s.body === undefined ? undefined : Buffer.from(s.body),
    exit: s.exit === undefined ? undefined : structuredClone(s.exit),
    source: s.source,
    status: s.status,
    responseHeaders: copyHeaders(s.responseHeaders),
    serviceStatus: s.serviceStatus,
    upstreamHeaders: s.upstreamHeaders,
    responseBody: s.responseBody === undefined ? undefined : Buffer.from(s.responseBody),
  })
  // Timing, on this thread's clock, as the host measured it.
  const started = performance.now() - (s.elapsed ?? 0)
  Object.assign(ctx, { startedAt: s.startedAt, started })
  if (s.upstreamStartedAt !== undefined) ctx.upstreamStarted = started + s.upstreamStartedAt
  if (s.upstreamRespondedAt !== undefined) ctx.upstreamResponded = started + s.upstreamRespondedAt
  ctx.normalizedPath = s.normalizedPath
  if (shared !== '{}') Object.assign(ctx.shared, JSON.parse(shared))
  ctx.pluginCtx.set(plugin, pluginCtx === '{}' ? {} : JSON.parse(pluginCtx))
  if (serializeExtra !== '{}') Object.assign(ctx.serializeExtra, JSON.parse(serializeExtra))
  return ctx
}

function copyHeaders (h: Headers): Headers {
  const out: Headers = {}
  for (const k in h) { const v = h[k] as string | string[]; out[k] = Array.isArray(v) ? [...v] : v }
  return out
}

function sameValue (a: string | string[] | undefined, b: string | string[] | undefined): boolean {
  if (a === b) return true
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** What changed from `before` to `after`, or undefined when nothing did. */
export function diffHeaders (before: Headers, after: Headers): HeaderDiff | undefined {
  let set: Headers | undefined
  let del: string[] | undefined
  for (const k in after) if (!sameValue(before[k], after[k])) (set ??= {})[k] = after[k] as string | string[]
  for (const k in before) if (!(k in after)) (del ??= []).push(k)
  return set === undefined && del === undefined ? undefined : { set: set ?? {}, del: del ?? [] }
}

function upstreamChange (before: UpstreamRequest, after: UpstreamRequest): UpstreamChange | undefined {
  const c: UpstreamChange = {}
  let changed = false
  if (after.scheme !== before.scheme) { c.scheme = after.scheme; changed = true }
  if (after.method !== before.method) { c.method = after.method; changed = true }
  if (after.path !== before.path) { c.path = after.path; changed = true }
  if (after.query !== before.query) { c.query = after.query ?? null; changed = true }
  const headers = diffHeaders(before.headers, after.headers)
  if (headers !== undefined) { c.headers = headers; changed = true }
  if (after.body !== undefined && (before.body === undefined || !Buffer.from(after.body).equals(Buffer.from(before.body)))) { c.body = after.body; changed = true }
  return changed ? c : undefined
}

/** What a handler changed, compared with the snapshot it started from, in a fixed order. */
export function mutationsOf (before: Snapshot, ctx: RequestContext, plugin: string): Mutation[] {
  const base = baselines.get(before)
  if (base === undefined) throw new Error('mutationsOf needs the snapshot the context was built from')
  const out: Mutation[] = []
  if (base.upstream !== undefined && ctx.upstream !== undefined) {
    const change = upstreamChange(base.upstream, ctx.upstream)
    if (change !== undefined) out.push({ op: 'upstream', value: change })
  }
  if (ctx.consumer?.id !== before.consumer?.id || ctx.credential?.id !== before.credential?.id) {
    out.push({ op: 'authenticate', consumer: ctx.consumer, credential: ctx.credential })
  }
  if (ctx.status !== before.status) out.push({ op: 'status', value: ctx.status })
  const headers = diffHeaders(base.responseHeaders, ctx.responseHeaders)
  if (headers !== undefined) out.push({ op: 'responseHeaders', value: headers })
  if (ctx.exit !== undefined && (base.exit === undefined || JSON.stringify(ctx.exit) !== base.exit)) out.push({ op: 'exit', value: ctx.exit })
  if (ctx.responseBodyReplaced && ctx.responseBody !== undefined) out.push({ op: 'responseBody', value: ctx.responseBody })
  if (JSON.stringify(ctx.shared) !== base.shared) out.push({ op: 'shared', value: ctx.shared })
  const own = ctx.pluginCtx.get(plugin) ?? {}
  if (JSON.stringify(own) !== base.pluginCtx) out.push({ op: 'pluginCtx', value: own })
  if (JSON.stringify(ctx.serializeExtra) !== base.serializeExtra) {
    const was = JSON.parse(base.serializeExtra) as Record<string, unknown>
    for (const [key, value] of Object.entries(ctx.serializeExtra)) {
      if (JSON.stringify(value) !== JSON.stringify(was[key])) out.push({ op: 'serialize', key, value })
    }
  }
  return out
}

// --- Outcomes: worker to host -----------------------------------------------------------

/** One phase's answer: its mutations, or why it failed. */
export type Outcome = { mutations: Mutation[] } | { error: string }

/** Outcomes as JSON text, their bodies as binaries referred to by index. */
export function writeOutcomes (outcomes: Array<Outcome | null>): Wire {
  const bins: Uint8Array[] = []
  const bin = (b: Uint8Array): number => bins.push(b) - 1
  const json = JSON.stringify(outcomes.map((o) => {
    if (o === null || 'error' in o) return o
    return { mutations: o.mutations.map((m) => {
      switch (m.op) {
        case 'upstream': return m.value.body === undefined ? m : { op: m.op, value: { ...m.value, body: bin(m.value.body) } }
        case 'exit': return Buffer.isBuffer(m.value.body) ? { op: m.op, value: { ...m.value, body: bin(m.value.body) } } : m
        case 'responseBody': return { op: m.op, value: bin(m.value) }
        default: return m
      }
    }) }
  }))
  return { json, bins }
}

export function readOutcomes (wire: Wire): Array<Outcome | null> {
  const outcomes = JSON.parse(wire.json) as Array<Outcome | null>
  for (const o of outcomes) {
    if (o === null || 'error' in o) continue
    for (const m of o.mutations as Array<Mutation & { value: { body?: unknown } }>) {
      if ((m.op === 'upstream' || m.op === 'exit') && typeof m.value.body === 'number') m.value.body = toBuffer(wire.bins[m.value.body])
      else if (m.op === 'responseBody') (m as { value: unknown }).value = wire.bins[m.value as unknown as number]
    }
  }
  return outcomes
}

/** Applies a worker's mutations to the host's context, in order. */
export function applyMutations (ctx: RequestContext, plugin: string, mutations: Mutation[], log: (level: Mutation & { op: 'log' }) => void): void {
  for (const m of mutations) {
    switch (m.op) {
      case 'upstream': {
        const up = ctx.upstream
        if (up === undefined) break
        const c = m.value
        if (c.scheme !== undefined) up.scheme = c.scheme
        if (c.method !== undefined) up.method = c.method
        if (c.path !== undefined) up.path = c.path
        if (c.query !== undefined) up.query = c.query ?? undefined
        if (c.headers !== undefined) applyHeaders(up.headers, c.headers)
        if (c.body !== undefined) up.body = Buffer.from(c.body)
        break
      }
      case 'authenticate': ctx.consumer = m.consumer; ctx.credential = m.credential; break
      case 'status': ctx.status = m.value; break
      case 'responseHeaders': applyHeaders(ctx.responseHeaders, m.value); break
      case 'exit':
        ctx.exit = { ...m.value, body: m.value.body === undefined || typeof m.value.body === 'string' ? m.value.body : Buffer.from(m.value.body) }
        ctx.source = 'exit'
        break
      case 'responseBody': ctx.responseBody = Buffer.from(m.value); ctx.responseBodyReplaced = true; break
      case 'shared':
        for (const k of Object.keys(ctx.shared)) if (!(k in m.value)) delete ctx.shared[k]
        Object.assign(ctx.shared, m.value)
        break
      case 'pluginCtx': ctx.pluginCtx.set(plugin, m.value); break
      case 'serialize': ctx.serializeExtra[m.key] = m.value; break
      case 'log': log(m); break
    }
  }
}

function applyHeaders (into: Headers, diff: HeaderDiff): void {
  for (const k of diff.del) delete into[k]
  Object.assign(into, diff.set)
}
