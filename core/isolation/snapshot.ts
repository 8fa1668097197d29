// A request as plain data, and back. An isolated plugin runs in a worker thread against a
// RequestContext rebuilt from a snapshot (what the PDK can read); afterwards what the
// handler changed travels back as one ordered list of mutations that the host applies.
// The request itself is rebuilt as runtime/data-request.ts's DataRequest, which the SDK's
// test kit uses too.
//
// On the wire a batch is one JSON text plus its binary bodies. JSON rather than the
// structured clone of the objects themselves: V8 parses JSON several times faster than it
// deserialises cloned objects, and a batch names each entity (route, service, consumer,
// credential) and each plugin config once, by index, however many requests share it.

import type { IncomingMessage, ServerResponse } from 'node:http'
import type { RouteMatch } from '../router/index.js'
import { Phase } from '../runtime/phases.js'
import { DataRequest, DetachedResponse, type RequestData } from '../runtime/data-request.js'
import { applyHeaderOp, RequestContext, type ExitResponse, type HeaderOp, type Headers, type ResponseSource, type TlsOverrides, type UpstreamRequest } from '../runtime/context.js'
import type { Consumer, Route, Service } from '../store/index.js'
import type { Entity } from '../store/store.js'

/** A request's state as data: its request line, headers and addresses (RequestData), and what the phases so far made of it. */
export interface Snapshot extends RequestData {
  id: string
  phase: number
  startedAt: number
  /** Microseconds since the request arrived, and when the upstream call started and answered. */
  elapsed?: number
  upstreamStartedAt?: number
  upstreamRespondedAt?: number
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

/**
 * The parts of the upstream request a handler changed. `query: null` removes the query.
 * Headers come as the ordered changes kong.service.request made, replayed on the host's
 * headers, because the worker only ever sees the upstream Content-Type (see BatchWriter).
 */
export interface UpstreamChange {
  scheme?: UpstreamRequest['scheme']
  method?: string
  path?: string
  query?: string | null
  headers?: HeaderOp[]
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
  | { op: 'skipBodyFilter' }
  | { op: 'upstreamTls', value: TlsOverrides }

// --- Host: a batch of phases to the wire ------------------------------------------------

/** A batch as it crosses to a worker: JSON text, and the bodies it refers to by index. */
export interface Wire { json: string, bins: Uint8Array[] }

// One task on the wire is a flat array, its fields in this order. Positional rather than
// keyed: JSON.stringify and JSON.parse are at their fastest on flat arrays of strings and
// numbers, and a header-setting plugin's batch is mostly these. Objects that are usually
// empty (ctx.shared, response headers...) travel as null then.
const F = {
  plugin: 0, handler: 1, conf: 2, id: 3, phase: 4, startedAt: 5, elapsed: 6, upstreamStartedAt: 7, upstreamRespondedAt: 8,
  method: 9, url: 10, httpVersion: 11, rawHeaders: 12, clientIp: 13, clientPort: 14, localPort: 15, normalizedPath: 16,
  route: 17, service: 18, matchedPath: 19, byPath: 20, captures: 21, consumer: 22, credential: 23,
  shared: 24, pluginCtx: 25, serializeExtra: 26,
  upScheme: 27, upMethod: 28, upPath: 29, upQuery: 30, upContentType: 31, upBody: 32,
  body: 33, exit: 34, exitBody: 35, source: 36, status: 37, responseHeaders: 38, serviceStatus: 39, upstreamHeaders: 40,
  responseBody: 41, responseSize: 42, instance: 43, tls: 44,
} as const
type WireTask = unknown[]

/** null for undefined and for an empty object, so the common case costs nothing to send. */
const orNull = (o: object | undefined): object | null => {
  if (o === undefined) return null
  for (const _ in o) return o
  return null
}

/**
 * The entities and configs a worker thread holds from earlier batches, by slot, as the host
 * tracks them: a batch sends an object once per thread, then only its slot. Routes,
 * services, consumers and plugin configs repeat from batch to batch, and were half of
 * every batch's JSON to write on the main thread and to parse in the worker. Keyed by
 * identity: a config change builds new objects (and the pool starts over on a new config
 * version, or past `max` objects, so the worker's table stays bounded).
 */
export class Resident {
  readonly slots = new Map<object, number>()
  next = 0
  constructor (readonly max = 4096) {}

  clear (): void {
    this.slots.clear()
    this.next = 0
  }
}

/** Builds one batch's wire form; entities and configs shared by its tasks are sent once. */
export class BatchWriter {
  readonly #refs = new Map<object, number>()
  readonly #objects: unknown[] = []
  readonly #resident: Resident | undefined
  /** Objects this batch gave slots to, taken back if it cannot be written. */
  readonly #added: object[] = []
  readonly #bins: Uint8Array[] = []
  readonly #tasks: WireTask[] = []

  /** With `resident`, objects the thread holds go as slots, and new ones as [slot, object] pairs. */
  constructor (resident?: Resident) {
    this.#resident = resident
  }

  add (ctx: RequestContext, plugin: string, handler: string, instance: { id: string, config: Record<string, unknown> }, withBody: boolean): void {
    const conf = instance.config
    const phase = ctx.phase
    const match = ctx.match
    // service.request (the upstream request) is for rewrite and access, and
    // kong.log.serialize in log reads its path; header_filter and body_filter never do.
    // Its headers stay here: the PDK only writes them (the worker logs its changes for the
    // host to replay), except setBody, which reads Content-Type. They would be half of
    // every snapshot otherwise.
    const up = ctx.upstream !== undefined && (phase & (Phase.header_filter | Phase.body_filter)) === 0 ? ctx.upstream : undefined
    const exit = ctx.exit
    const req = ctx.req
    // A packed array literal, in F's order: JSON.stringify is slower on holey arrays.
    const t: WireTask = [
      plugin, // plugin
      handler, // handler
      this.#ref(conf), // conf
      ctx.id, // id
      phase, // phase
      ctx.startedAt, // startedAt
      Math.round((performance.now() - ctx.started) * 1000), // elapsed
      ctx.upstreamStarted === undefined ? null : Math.round((ctx.upstreamStarted - ctx.started) * 1000), // upstreamStartedAt
      ctx.upstreamResponded === undefined ? null : Math.round((ctx.upstreamResponded - ctx.started) * 1000), // upstreamRespondedAt
      req.method ?? 'GET', // method
      req.url ?? '/', // url
      req.httpVersion, // httpVersion
      req.rawHeaders, // rawHeaders
      ctx.clientIp, // clientIp
      ctx.clientPort, // clientPort
      ctx.localPort, // localPort
      ctx.normalizedPath, // normalizedPath
      match === undefined ? -1 : this.#ref(match.route), // route
      match === undefined ? -1 : this.#ref(match.service), // service
      match?.matchedPath ?? null, // matchedPath
      match?.byPath === true ? 1 : 0, // byPath
      match?.captures ?? null, // captures
      this.#ref(ctx.consumer), // consumer
      this.#ref(ctx.credential), // credential
      orNull(ctx.sharedIfMade), // shared
      orNull(ctx.pluginCtxIfMade(plugin)), // pluginCtx
      orNull(ctx.serializeExtraIfMade), // serializeExtra
      up?.scheme ?? null, // upScheme
      up?.method ?? null, // upMethod
      up?.path ?? null, // upPath
      up?.query ?? null, // upQuery
      up?.headers['content-type'] ?? null, // upContentType
      this.#bin(up?.body), // upBody
      withBody ? this.#bin(ctx.body) : -1, // body
      exit === undefined ? null : [exit.status, exit.headers], // exit
      exit === undefined || exit.body === undefined ? null : typeof exit.body === 'string' ? exit.body : this.#bin(exit.body), // exitBody
      ctx.source, // source
      ctx.status, // status
      orNull(ctx.responseHeaders), // responseHeaders
      ctx.serviceStatus ?? null, // serviceStatus
      ctx.upstreamHeaders ?? null, // upstreamHeaders
      this.#bin(ctx.responseBody), // responseBody
      phase === Phase.log ? headerString(ctx.res.getHeader('content-length')) ?? null : null, // responseSize
      instance.id, // instance
      ctx.scheme === 'https' ? ctx.sni ?? '' : null, // tls: the SNI ('' for none), null without TLS
    ]
    this.#tasks.push(t)
  }

  /** The batch on the wire; `objects` is the shared table of entities and configs. */
  finish (): Wire {
    try {
      return { json: JSON.stringify([this.#objects, this.#tasks]), bins: this.#bins }
    } catch (err) {
      // Never sent: the thread will not hold them.
      for (const o of this.#added) this.#resident?.slots.delete(o)
      throw err
    }
  }

  #ref (o: object | null | undefined): number {
    if (o === undefined || o === null) return -1
    const resident = this.#resident
    if (resident !== undefined) {
      let slot = resident.slots.get(o)
      if (slot === undefined) {
        slot = resident.next++
        resident.slots.set(o, slot)
        this.#added.push(o)
        this.#objects.push(slot, o)
      }
      return slot
    }
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

export interface ReadTask { plugin: string, handler: string, conf: Record<string, unknown>, instance: string, snapshot: Snapshot }

/**
 * Decodes a batch into snapshots; tasks of one batch share its entity and config objects.
 * `resident` is the thread's table of objects from earlier batches (see Resident).
 */
export function readBatch (wire: Wire, resident?: Map<number, unknown>): ReadTask[] {
  const [sent, tasks] = JSON.parse(wire.json) as [unknown[], WireTask[]]
  if (resident !== undefined) for (let i = 0; i < sent.length; i += 2) resident.set(sent[i] as number, sent[i + 1])
  const obj = resident === undefined
    ? <T>(i: unknown): T | undefined => ((i as number) < 0 ? undefined : sent[i as number] as T)
    : <T>(i: unknown): T | undefined => ((i as number) < 0 ? undefined : resident.get(i as number) as T)
  const bin = (i: unknown): Uint8Array | undefined => ((i as number) < 0 ? undefined : wire.bins[i as number])
  const opt = <T>(v: unknown): T | undefined => (v === null ? undefined : v as T)
  return tasks.map((t) => {
    const route = obj<Route>(t[F.route])
    const exit = t[F.exit] as [number, Headers] | null
    const exitBody = t[F.exitBody]
    const snapshot: Snapshot = {
      id: t[F.id] as string,
      phase: t[F.phase] as number,
      startedAt: t[F.startedAt] as number,
      elapsed: t[F.elapsed] as number,
      upstreamStartedAt: opt(t[F.upstreamStartedAt]),
      upstreamRespondedAt: opt(t[F.upstreamRespondedAt]),
      method: t[F.method] as string,
      url: t[F.url] as string,
      httpVersion: t[F.httpVersion] as string,
      rawHeaders: t[F.rawHeaders] as string[],
      clientIp: t[F.clientIp] as string,
      clientPort: t[F.clientPort] as number,
      localPort: t[F.localPort] as number,
      tls: t[F.tls] !== null,
      sni: t[F.tls] === null || t[F.tls] === '' ? undefined : t[F.tls] as string,
      normalizedPath: t[F.normalizedPath] as string,
      match: route === undefined
        ? undefined
        : { route, service: obj<Service>(t[F.service]) ?? null, matchedPath: t[F.matchedPath] as string, byPath: t[F.byPath] === 1, captures: opt(t[F.captures]) },
      consumer: obj<Consumer>(t[F.consumer]),
      credential: obj<Entity>(t[F.credential]),
      shared: opt(t[F.shared]) ?? {},
      pluginCtx: opt(t[F.pluginCtx]) ?? {},
      serializeExtra: opt(t[F.serializeExtra]),
      upstream: t[F.upScheme] === null
        ? undefined
        : {
            scheme: t[F.upScheme] as UpstreamRequest['scheme'],
            method: t[F.upMethod] as string,
            path: t[F.upPath] as string,
            query: opt(t[F.upQuery]),
            headers: t[F.upContentType] === null ? {} : { 'content-type': t[F.upContentType] as string | string[] },
            body: toBuffer(bin(t[F.upBody])),
          },
      body: bin(t[F.body]),
      exit: exit === null ? undefined : { status: exit[0], headers: exit[1], body: typeof exitBody === 'number' ? toBuffer(bin(exitBody)) : opt(exitBody) },
      source: t[F.source] as ResponseSource,
      status: t[F.status] as number,
      responseHeaders: opt(t[F.responseHeaders]) ?? {},
      serviceStatus: opt(t[F.serviceStatus]),
      upstreamHeaders: opt(t[F.upstreamHeaders]),
      responseBody: bin(t[F.responseBody]),
      responseSize: opt(t[F.responseSize]),
    }
    return { plugin: t[F.plugin] as string, handler: t[F.handler] as string, conf: obj<Record<string, unknown>>(t[F.conf]) ?? {}, instance: t[F.instance] as string, snapshot }
  })
}

const toBuffer = (b: Uint8Array | undefined): Buffer | undefined => b === undefined ? undefined : Buffer.from(b.buffer, b.byteOffset, b.byteLength)

/** How a snapshot's mutable parts were when its context was built. */
interface Baseline { upstream: UpstreamRequest | undefined, responseHeaders: Headers, shared: string, pluginCtx: string, serializeExtra: string, exit: string | undefined }

/** A context rebuilt from a snapshot, with what mutationsOf compares it against. */
export interface Rebuilt { ctx: RequestContext, base: Baseline }

/** Rebuilds a RequestContext from a snapshot with its full upstream headers (tests and micro-benchmarks). */
export function contextFromSnapshot (s: Snapshot, plugin: string): RequestContext {
  return build(s, plugin, false).ctx
}

/**
 * Rebuilds a RequestContext in a worker, for mutationsOf. Its snapshot carries no upstream
 * headers, so the context logs header changes for the host to replay.
 */
export function rebuild (s: Snapshot, plugin: string): Rebuilt {
  return build(s, plugin, true)
}

/**
 * A worker's context: it is not sent the upstream headers (they would be most of a
 * snapshot), so it records their changes, in order, for the host to replay on the real ones.
 */
class RecordingContext extends RequestContext {
  readonly headerOps: HeaderOp[] = []

  override changeUpstreamHeader (up: UpstreamRequest, op: HeaderOp[0], name: string, value?: string | string[]): void {
    super.changeUpstreamHeader(up, op, name, value)
    this.headerOps.push((value === undefined ? [op, name] : [op, name, value]) as HeaderOp)
  }
}

/** JSON for a snapshot's table; '{}' for an empty one, without writing it. */
const tableJson = (o: Record<string, unknown> | undefined): string => {
  if (o === undefined) return '{}'
  for (const _ in o) return JSON.stringify(o)
  return '{}'
}

function build (s: Snapshot, plugin: string, logHeaders: boolean): Rebuilt {
  // Most requests carry none of these: the context then leaves them unmade, and
  // mutationsOf compares nothing for them unless the handler made them.
  const shared = tableJson(s.shared)
  const pluginCtx = tableJson(s.pluginCtx)
  const serializeExtra = tableJson(s.serializeExtra)
  const base: Baseline = { upstream: s.upstream, responseHeaders: s.responseHeaders, shared, pluginCtx, serializeExtra, exit: s.exit === undefined ? undefined : JSON.stringify(s.exit) }
  const up = s.upstream
  const Context = logHeaders && up !== undefined ? RecordingContext : RequestContext
  const ctx = new Context(new DataRequest(s) as unknown as IncomingMessage, new DetachedResponse(s.responseSize) as unknown as ServerResponse, s.id)
  // Handlers change the context's copies; mutationsOf compares them with the snapshot's.
  ctx.phase = s.phase
  ctx.match = s.match
  ctx.route = s.match?.route
  ctx.service = s.match?.service ?? undefined
  ctx.consumer = s.consumer
  ctx.credential = s.credential
  ctx.upstream = up === undefined ? undefined : { ...up, headers: copyHeaders(up.headers), body: up.body === undefined ? undefined : Buffer.from(up.body) }
  ctx.body = s.body === undefined ? undefined : Buffer.from(s.body)
  // Copied by hand: structuredClone turns a Buffer body into a plain Uint8Array, which
  // then differs from the baseline and came back as a spurious exit.
  ctx.exit = s.exit === undefined ? undefined : { status: s.exit.status, headers: copyHeaders(s.exit.headers), body: s.exit.body === undefined || typeof s.exit.body === 'string' ? s.exit.body : Buffer.from(s.exit.body) }
  ctx.source = s.source
  ctx.status = s.status
  ctx.responseHeaders = copyHeaders(s.responseHeaders)
  ctx.serviceStatus = s.serviceStatus
  ctx.upstreamHeaders = s.upstreamHeaders
  ctx.responseBody = s.responseBody === undefined ? undefined : Buffer.from(s.responseBody)
  // Timing, on this thread's clock, as the host measured it.
  const started = performance.now() - (s.elapsed ?? 0) / 1000
  Object.assign(ctx, { startedAt: s.startedAt, started })
  if (s.upstreamStartedAt !== undefined) ctx.upstreamStarted = started + s.upstreamStartedAt / 1000
  if (s.upstreamRespondedAt !== undefined) ctx.upstreamResponded = started + s.upstreamRespondedAt / 1000
  ctx.normalizedPath = s.normalizedPath
  if (shared !== '{}') Object.assign(ctx.shared, JSON.parse(shared))
  if (pluginCtx !== '{}') ctx.pluginCtx.set(plugin, JSON.parse(pluginCtx))
  if (serializeExtra !== '{}') Object.assign(ctx.serializeExtra, JSON.parse(serializeExtra))
  return { ctx, base }
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
function diffHeaders (before: Headers, after: Headers): HeaderDiff | undefined {
  let set: Headers | undefined
  let del: string[] | undefined
  for (const k in after) if (!sameValue(before[k], after[k])) (set ??= {})[k] = after[k] as string | string[]
  for (const k in before) if (!(k in after)) (del ??= []).push(k)
  return set === undefined && del === undefined ? undefined : { set: set ?? {}, del: del ?? [] }
}

function upstreamChange (before: UpstreamRequest, after: UpstreamRequest, ops: HeaderOp[]): UpstreamChange | undefined {
  const c: UpstreamChange = {}
  let changed = false
  if (after.scheme !== before.scheme) { c.scheme = after.scheme; changed = true }
  if (after.method !== before.method) { c.method = after.method; changed = true }
  if (after.path !== before.path) { c.path = after.path; changed = true }
  if (after.query !== before.query) { c.query = after.query ?? null; changed = true }
  if (ops.length > 0) { c.headers = ops; changed = true }
  if (after.body !== undefined && (before.body === undefined || !after.body.equals(before.body))) { c.body = after.body; changed = true }
  return changed ? c : undefined
}

/** What a handler changed, compared with the snapshot it started from, in a fixed order. */
export function mutationsOf (before: Snapshot, { ctx, base }: Rebuilt, plugin: string): Mutation[] {
  const out: Mutation[] = []
  if (base.upstream !== undefined && ctx.upstream !== undefined) {
    const change = upstreamChange(base.upstream, ctx.upstream, ctx instanceof RecordingContext ? ctx.headerOps : [])
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
  const shared = ctx.sharedIfMade
  if (shared !== undefined && JSON.stringify(shared) !== base.shared) out.push({ op: 'shared', value: shared })
  const own = ctx.pluginCtxIfMade(plugin)
  if (own !== undefined && JSON.stringify(own) !== base.pluginCtx) out.push({ op: 'pluginCtx', value: own })
  // The worker's context starts without the mark, so any mark is this handler's.
  if (ctx.bodyFilterOff?.has(plugin) === true) out.push({ op: 'skipBodyFilter' })
  // Likewise the TLS settings (kong.service.setTls*): the worker's start with none.
  if (ctx.upstreamTls !== undefined) out.push({ op: 'upstreamTls', value: ctx.upstreamTls })
  const extra = ctx.serializeExtraIfMade
  if (extra !== undefined && JSON.stringify(extra) !== base.serializeExtra) {
    const was = JSON.parse(base.serializeExtra) as Record<string, unknown>
    for (const [key, value] of Object.entries(extra)) {
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
  const withBody = (m: Mutation): boolean => (m.op === 'upstream' && m.value.body !== undefined) || (m.op === 'exit' && m.value.body instanceof Uint8Array) || m.op === 'responseBody'
  // Most phases change no body: their outcomes go as they are.
  if (!outcomes.some((o) => o !== null && 'mutations' in o && o.mutations.some(withBody))) return { json: JSON.stringify(outcomes), bins }
  const json = JSON.stringify(outcomes.map((o) => {
    if (o === null || 'error' in o) return o
    return { mutations: o.mutations.map((m) => {
      switch (m.op) {
        case 'upstream': return m.value.body === undefined ? m : { op: m.op, value: { ...m.value, body: bin(m.value.body) } }
        case 'exit': return m.value.body instanceof Uint8Array ? { op: m.op, value: { ...m.value, body: bin(m.value.body) } } : m
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
        if (c.headers !== undefined) {
          for (const op of c.headers) {
            applyHeaderOp(up.headers, op)
            if (op[1] === 'host' && op[0] !== 'del') ctx.hostSet = true
          }
        }
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
      case 'skipBodyFilter': (ctx.bodyFilterOff ??= new Set()).add(plugin); break
      case 'upstreamTls': ctx.upstreamTls = { ...ctx.upstreamTls, ...m.value }; break
      case 'log': log(m); break
    }
  }
}

function applyHeaders (into: Headers, diff: HeaderDiff): void {
  for (const k of diff.del) delete into[k]
  Object.assign(into, diff.set)
}
