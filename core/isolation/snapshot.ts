// A request as plain data, and back. An isolated plugin runs in a worker thread against a
// RequestContext rebuilt from a snapshot (what the PDK can read); afterwards what the
// handler changed travels back as one ordered list of mutations that the host applies.
// The SDK's test kit uses the same path, so a plugin tested there behaves the same in
// the gateway, isolated or not.

import type { IncomingMessage, ServerResponse } from 'node:http'
import type { RouteMatch } from '../router/index.js'
import { RequestContext, type ExitResponse, type Headers, type ResponseSource, type UpstreamRequest } from '../runtime/context.js'
import type { Consumer, Route, Service } from '../store/index.js'
import type { Entity } from '../store/lmdb-store.js'

export interface Snapshot {
  id: string
  phase: number
  startedAt: number
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
  upstream: UpstreamRequest | undefined
  body: Uint8Array | undefined
  exit: ExitResponse | undefined
  source: ResponseSource
  status: number
  responseHeaders: Headers
  serviceStatus: number | undefined
  upstreamHeaders: Headers | undefined
  responseBody: Uint8Array | undefined
}

export type Mutation =
  | { op: 'upstream', value: UpstreamRequest }
  | { op: 'authenticate', consumer: Consumer | undefined, credential: Entity | undefined }
  | { op: 'responseHeaders', value: Headers }
  | { op: 'status', value: number }
  | { op: 'exit', value: ExitResponse }
  | { op: 'responseBody', value: Uint8Array }
  | { op: 'shared', value: Record<string, unknown> }
  | { op: 'pluginCtx', value: Record<string, unknown> }
  | { op: 'log', level: 'debug' | 'info' | 'warn' | 'error' | 'fatal', message: string }
  | { op: 'serialize', key: string, value: unknown }

/** What the PDK can read, as structured-clonable data. `withBody` adds the client body. */
export function snapshotOf (ctx: RequestContext, plugin: string, withBody: boolean): Snapshot {
  const req = ctx.req
  return {
    id: ctx.id,
    phase: ctx.phase,
    startedAt: ctx.startedAt,
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    httpVersion: req.httpVersion,
    rawHeaders: req.rawHeaders,
    clientIp: ctx.clientIp,
    clientPort: ctx.clientPort,
    localPort: ctx.localPort,
    normalizedPath: ctx.normalizedPath,
    match: ctx.match,
    consumer: ctx.consumer,
    credential: ctx.credential,
    shared: ctx.shared,
    pluginCtx: ctx.pluginCtx.get(plugin) ?? {},
    upstream: ctx.upstream,
    body: withBody ? ctx.body : undefined,
    exit: ctx.exit,
    source: ctx.source,
    status: ctx.status,
    responseHeaders: ctx.responseHeaders,
    serviceStatus: ctx.serviceStatus,
    upstreamHeaders: ctx.upstreamHeaders,
    responseBody: ctx.responseBody,
  }
}

/** Enough of an IncomingMessage for RequestContext and the PDK. */
function fakeRequest (s: Pick<Snapshot, 'method' | 'url' | 'httpVersion' | 'rawHeaders' | 'clientIp' | 'clientPort' | 'localPort'>): IncomingMessage {
  const headers: Record<string, string | string[]> = {}
  for (let i = 0; i < s.rawHeaders.length; i += 2) {
    const k = (s.rawHeaders[i] as string).toLowerCase()
    const v = s.rawHeaders[i + 1] as string
    const prev = headers[k]
    // Node joins repeats (set-cookie aside); the PDK reads repeats from rawHeaders.
    headers[k] = prev === undefined ? v : k === 'set-cookie' ? [...(Array.isArray(prev) ? prev : [prev]), v] : `${prev as string}, ${v}`
  }
  return {
    method: s.method,
    url: s.url,
    httpVersion: s.httpVersion,
    rawHeaders: s.rawHeaders,
    headers,
    socket: { remoteAddress: s.clientIp, remotePort: s.clientPort, localPort: s.localPort },
  } as unknown as IncomingMessage
}

/** A response stand-in: plugins never write to it directly. */
const detachedResponse = { headersSent: false, destroyed: false, getHeader: () => undefined } as unknown as ServerResponse

/** Rebuilds a RequestContext from a snapshot, in a worker or in the test kit. */
export function contextFromSnapshot (s: Snapshot, plugin: string): RequestContext {
  // Handlers change these in place; mutationsOf compares against how they started.
  baselines.set(s, {
    upstream: JSON.stringify(s.upstream),
    responseHeaders: JSON.stringify(s.responseHeaders),
    shared: JSON.stringify(s.shared),
    pluginCtx: JSON.stringify(s.pluginCtx),
    exit: JSON.stringify(s.exit),
  })
  const ctx = new RequestContext(fakeRequest(s), detachedResponse, s.id)
  Object.assign(ctx, {
    phase: s.phase,
    match: s.match,
    route: s.match?.route as Route | undefined,
    service: (s.match?.service ?? undefined) as Service | undefined,
    consumer: s.consumer,
    credential: s.credential,
    upstream: s.upstream,
    body: s.body === undefined ? undefined : Buffer.from(s.body),
    exit: s.exit,
    source: s.source,
    status: s.status,
    responseHeaders: s.responseHeaders,
    serviceStatus: s.serviceStatus,
    upstreamHeaders: s.upstreamHeaders,
    responseBody: s.responseBody === undefined ? undefined : Buffer.from(s.responseBody),
  })
  ;(ctx as unknown as { startedAt: number }).startedAt = s.startedAt
  ctx.normalizedPath = s.normalizedPath
  // Copies, so the snapshot's own objects stay as they came (mutationsOf reads them).
  Object.assign(ctx.shared, structuredClone(s.shared))
  ctx.pluginCtx.set(plugin, structuredClone(s.pluginCtx))
  return ctx
}

/** JSON of a snapshot's mutable parts as they were when its context was built. */
const baselines = new WeakMap<Snapshot, Record<'upstream' | 'responseHeaders' | 'shared' | 'pluginCtx' | 'exit', string>>()

/** What a handler changed, compared with the snapshot it started from, in a fixed order. */
export function mutationsOf (before: Snapshot, ctx: RequestContext, plugin: string): Mutation[] {
  const base = baselines.get(before)
  if (base === undefined) throw new Error('mutationsOf needs the snapshot the context was built from')
  const out: Mutation[] = []
  if (ctx.upstream !== undefined && JSON.stringify(ctx.upstream) !== base.upstream) out.push({ op: 'upstream', value: ctx.upstream })
  if (ctx.consumer?.id !== before.consumer?.id || ctx.credential?.id !== before.credential?.id) {
    out.push({ op: 'authenticate', consumer: ctx.consumer, credential: ctx.credential })
  }
  if (ctx.status !== before.status) out.push({ op: 'status', value: ctx.status })
  if (JSON.stringify(ctx.responseHeaders) !== base.responseHeaders) out.push({ op: 'responseHeaders', value: ctx.responseHeaders })
  if (ctx.exit !== undefined && JSON.stringify(ctx.exit) !== base.exit) out.push({ op: 'exit', value: ctx.exit })
  if (ctx.responseBodyReplaced && ctx.responseBody !== undefined) out.push({ op: 'responseBody', value: ctx.responseBody })
  if (JSON.stringify(ctx.shared) !== base.shared) out.push({ op: 'shared', value: ctx.shared })
  const own = ctx.pluginCtx.get(plugin) ?? {}
  if (JSON.stringify(own) !== base.pluginCtx) out.push({ op: 'pluginCtx', value: own })
  for (const [key, value] of Object.entries(ctx.serializeExtra)) out.push({ op: 'serialize', key, value })
  return out
}

/** Applies a worker's mutations to the host's context, in order. */
export function applyMutations (ctx: RequestContext, plugin: string, mutations: Mutation[], log: (level: Mutation & { op: 'log' }) => void): void {
  for (const m of mutations) {
    switch (m.op) {
      case 'upstream': ctx.upstream = { ...m.value, body: m.value.body === undefined ? undefined : Buffer.from(m.value.body) }; break
      case 'authenticate': ctx.consumer = m.consumer; ctx.credential = m.credential; break
      case 'status': ctx.status = m.value; break
      case 'responseHeaders': ctx.responseHeaders = m.value; break
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
