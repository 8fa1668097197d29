// The test kit: runs a plugin's phases against the real PDK (the same code the gateway
// and the isolation workers run) on a request described as data, and reports what the
// plugin did. No gateway, no sockets; a temporary LMDB store only when `entities` are given.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TObject } from 'typebox'
import { captureLogger } from '../../core/isolation/capture-log.js'
import { contextFromSnapshot, type Mutation, type Snapshot } from '../../core/isolation/snapshot.js'
import { Kong, serialize } from '../../core/pdk/index.js'
import { EntityCache } from '../../core/runtime/entity-cache.js'
import type { Headers } from '../../core/runtime/context.js'
import { Phase } from '../../core/runtime/phases.js'
import { HANDLER_BIT, HANDLERS, readsBody, skips, type AnyPlugin, type HandlerName, type PluginDescriptor } from '../../core/runtime/plugin.js'
import { PluginRegistry } from '../../core/runtime/registry.js'
import type { Consumer, Route, Service } from '../../core/store/index.js'
import { Store } from '../../core/store/lmdb-store.js'
import { validateRecord } from '../../core/store/schema.js'


export interface TestRequest {
  method?: string
  /** Path with an optional query string, e.g. '/orders?id=1'. */
  path?: string
  headers?: Record<string, string | string[]>
  /** A string or Buffer as is; an object is sent as JSON. */
  body?: string | Buffer | Record<string, unknown> | unknown[]
  clientIp?: string
}

export interface RunOptions {
  /** Plugin config; checked against the plugin's schema with defaults filled, as the Admin API does. */
  config?: Record<string, unknown>
  request?: TestRequest
  /** The upstream's answer, seen by header_filter and body_filter (default 200, empty JSON). */
  upstreamResponse?: { status?: number, headers?: Headers, body?: string | Buffer }
  /** The consumer (and credential) an earlier auth plugin identified. */
  consumer?: Consumer
  credential?: { id: string, [k: string]: unknown }
  route?: Partial<Route>
  service?: Partial<Service>
  /** Entities to store for kong.db, e.g. `{ consumers: [...] }`; needs a temporary LMDB store. */
  entities?: Record<string, Record<string, unknown>[]>
  /** Phases to run; default: every phase the plugin implements. */
  phases?: HandlerName[]
}

export interface RunResult {
  /** The request as it would go upstream; undefined when the plugin answered instead. */
  upstream: { method: string, path: string, query: string | undefined, headers: Headers, body: Buffer | undefined } | undefined
  /** The response the client gets: the plugin's exit/error, or the upstream's as filtered. */
  response: { status: number, headers: Headers, body: Buffer, source: string }
  consumer: Consumer | undefined
  credential: unknown
  shared: Record<string, unknown>
  logs: { level: string, message: string }[]
  /** What kong.log.serialize() gave in the log phase, if it ran. */
  serialized: Record<string, unknown> | undefined
  /** The message of an error a handler threw (the gateway answers 500 then). */
  error: string | undefined
}

export async function runPlugin<S extends TObject> (plugin: PluginDescriptor<S>, opts: RunOptions = {}): Promise<RunResult> {
  const { value: conf, errors } = validateRecord(plugin.schema, opts.config ?? {})
  if (errors !== undefined) throw new Error(`invalid config for ${plugin.name}: ${JSON.stringify(errors)}`)
  const req = opts.request ?? {}
  const method = req.method ?? 'GET'
  const path = req.path ?? '/'
  const q = path.indexOf('?')
  const headers: Record<string, string | string[]> = { host: 'tollgate.test', ...req.headers }
  let body: Buffer | undefined
  if (req.body !== undefined) {
    if (typeof req.body === 'string' || Buffer.isBuffer(req.body)) body = Buffer.from(req.body)
    else {
      body = Buffer.from(JSON.stringify(req.body))
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json'
    }
    headers['content-length'] = String(body.length)
  }
  const rawHeaders: string[] = []
  for (const [k, v] of Object.entries(headers)) for (const x of Array.isArray(v) ? v : [v]) rawHeaders.push(k, x)
  const upstreamHeaders: Headers = {}
  for (const [k, v] of Object.entries(headers)) upstreamHeaders[k.toLowerCase()] = v
  const route = { id: '00000000-0000-4000-8000-000000000001', name: 'test-route', paths: ['/'], strip_path: true, protocols: ['http', 'https'], ...opts.route } as Route
  const service = { id: '00000000-0000-4000-8000-000000000002', name: 'test-service', host: 'upstream.test', port: 80, protocol: 'http', path: null, ...opts.service } as Service
  const withBody = readsBody(plugin as AnyPlugin, conf as Record<string, unknown>)
  const snapshot: Snapshot = {
    id: 'test-request',
    phase: 0,
    startedAt: Date.now(),
    method,
    url: path,
    httpVersion: '1.1',
    rawHeaders,
    clientIp: req.clientIp ?? '127.0.0.1',
    clientPort: 40000,
    localPort: 8000,
    normalizedPath: q === -1 ? path : path.slice(0, q),
    match: { route, service, matchedPath: '/', byPath: true },
    consumer: opts.consumer,
    credential: opts.credential as Snapshot['credential'],
    shared: {},
    pluginCtx: {},
    upstream: { scheme: 'http', method, path: q === -1 ? path : path.slice(0, q), query: q === -1 ? undefined : path.slice(q + 1), headers: upstreamHeaders, body: undefined },
    body: withBody ? (body ?? Buffer.alloc(0)) : undefined,
    exit: undefined,
    source: 'service',
    status: 0,
    responseHeaders: {},
    serviceStatus: undefined,
    upstreamHeaders: undefined,
    responseBody: undefined,
  }
  const ctx = contextFromSnapshot(snapshot, plugin.name)

  let dir: string | undefined
  let store: Store | undefined
  const logs: Mutation[] = []
  try {
    const registry = new PluginRegistry()
    registry.register(plugin as never)
    dir = mkdtempSync(join(tmpdir(), 'tollgate-testkit-'))
    store = new Store({ path: join(dir, 'test.mdb'), plugins: registry, entities: registry.entities(), ttlPurgeInterval: 0 })
    for (const [entity, rows] of Object.entries(opts.entities ?? {})) for (const row of rows) await store.insert(entity, row)
    const env = { db: new EntityCache(store), log: captureLogger(logs), nodeId: '00000000-0000-4000-8000-00000000000a' }
    const phases = opts.phases ?? HANDLERS.filter((h) => plugin[h] !== undefined)
    let error: string | undefined
    const call = async (h: HandlerName): Promise<void> => {
      const fn = plugin[h]
      // As in the gateway: a handler the config skips (skipWhen) is not called.
      if (fn === undefined || !phases.includes(h) || skips(plugin as AnyPlugin, conf as Record<string, unknown>, h)) return
      ctx.phase = HANDLER_BIT[h]
      try {
        await fn(new Kong(ctx, env, plugin.name), conf as never)
      } catch (err) {
        error = (err as Error).message
        if (h === 'rewrite' || h === 'access') {
          ctx.exit = { status: 500, body: '{"message":"An unexpected error occurred"}', headers: { 'content-type': 'application/json; charset=utf-8' } }
          ctx.source = 'error'
        }
      }
    }
    await call('rewrite')
    if (ctx.exit === undefined) await call('access')
    const proxied = ctx.exit === undefined
    if (proxied) {
      const up = opts.upstreamResponse ?? {}
      ctx.serviceStatus = up.status ?? 200
      ctx.upstreamHeaders = { 'content-type': 'application/json', ...up.headers }
      ctx.status = ctx.serviceStatus
      ctx.responseHeaders = { ...ctx.upstreamHeaders, ...ctx.responseHeaders }
      ctx.responseBody = Buffer.from(up.body ?? '{}')
    } else {
      const exit = ctx.exit as NonNullable<typeof ctx.exit>
      ctx.status = exit.status
      ctx.responseHeaders = exit.headers
      ctx.responseBody = exit.body === undefined ? Buffer.alloc(0) : Buffer.from(exit.body)
    }
    await call('headerFilter')
    await call('bodyFilter')
    let serialized: Record<string, unknown> | undefined
    if (plugin.log !== undefined && phases.includes('log')) {
      ctx.phase = Phase.log
      serialized = serialize(ctx)
      await call('log')
    }
    const upstream = ctx.upstream as NonNullable<typeof ctx.upstream>
    return {
      upstream: proxied ? { method: upstream.method, path: upstream.path, query: upstream.query, headers: upstream.headers, body: upstream.body ?? body } : undefined,
      response: { status: ctx.status, headers: ctx.responseHeaders, body: ctx.responseBody ?? Buffer.alloc(0), source: ctx.source },
      consumer: ctx.consumer,
      credential: ctx.credential,
      shared: { ...ctx.shared },
      logs: logs.filter((m): m is Mutation & { op: 'log' } => m.op === 'log').map((m) => ({ level: m.level, message: m.message })),
      serialized,
      error,
    }
  } finally {
    await store?.close()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  }
}
