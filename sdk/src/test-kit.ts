// The test kit: runs a plugin on a request described as data, through the gateway's own
// parts: its phase runner (the same that sequences every request), its route step and
// router, its plugin iterator and its PDK, over a temporary LMDB store that holds the
// route, the service, the plugin's config and any entities given. Only the sockets are
// missing: the upstream's answer is given as data too. So a plugin cannot pass here and
// fail in the gateway; test/core/isolation/conformance.test.ts runs the same cases through
// the kit, a gateway and an isolated gateway to keep it that way.

import { mkdtempSync, rmSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TObject } from 'typebox'
import type { Logger } from '../../core/log.js'
import { serialize } from '../../core/pdk/index.js'
import { headerFlags, proxiedResponseHead, upstreamResponse, wholeResponseHead } from '../../core/proxy/respond.js'
import { Routing } from '../../core/proxy/upstream-request.js'
import { LiveRouter } from '../../core/router/index.js'
import { RequestContext, type Headers } from '../../core/runtime/context.js'
import { DataRequest, DetachedResponse } from '../../core/runtime/data-request.js'
import { EntityCache } from '../../core/runtime/entity-cache.js'
import { exitAsResponse } from '../../core/runtime/exit.js'
import { PhaseRunner } from '../../core/runtime/phase-runner.js'
import { Phase } from '../../core/runtime/phases.js'
import { HANDLERS, type AnyPlugin, type HandlerName, type PluginDescriptor } from '../../core/runtime/plugin.js'
import { InProcessRunner } from '../../core/runtime/plugin-runner.js'
import { LivePlugins, anyBodyFilter } from '../../core/runtime/plugins.js'
import { PluginRegistry } from '../../core/runtime/registry.js'
import type { Consumer, Route, Service } from '../../core/store/index.js'
import { LmdbStore } from '../../core/store/lmdb-store.js'
import { SharedMemory } from '../../core/shm/index.js'
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
  /**
   * Where the config is attached, as on the Admin API: 'global' (the default) runs every
   * phase; on a route or service, rewrite does not run (it runs before routing, for
   * global configs only, as in Kong and the gateway).
   */
  scope?: 'global' | 'route' | 'service'
  request?: TestRequest
  /**
   * The upstream's answer, seen by header_filter and body_filter (default 200, empty
   * JSON); or a function of the request the upstream got, e.g. an echo.
   */
  upstreamResponse?: UpstreamAnswer | ((request: UpstreamRequestSeen) => UpstreamAnswer)
  /** The consumer (and credential) an earlier auth plugin identified. */
  consumer?: Consumer
  credential?: { id: string, [k: string]: unknown }
  /** The matched route's fields (default: paths ['/'], every request matches it). */
  route?: Partial<Route>
  service?: Partial<Service>
  /** Entities to store for kong.db, e.g. `{ consumers: [...] }`. */
  entities?: Record<string, Record<string, unknown>[]>
  /** Phases to run; default: every phase the plugin implements. */
  phases?: HandlerName[]
}

export interface UpstreamAnswer { status?: number, headers?: Headers, body?: string | Buffer }

/** The request as it goes upstream. */
export interface UpstreamRequestSeen { method: string, path: string, query: string | undefined, headers: Headers, body: Buffer | undefined }

export interface RunResult {
  /** The request as it would go upstream; undefined when the plugin (or the gateway) answered instead. */
  upstream: UpstreamRequestSeen | undefined
  /**
   * The response the client gets: an exit or error, or the upstream's after header_filter
   * and body_filter, with the headers the gateway adds when it writes the head.
   */
  response: { status: number, headers: Headers, body: Buffer, source: string }
  consumer: Consumer | undefined
  credential: unknown
  shared: Record<string, unknown>
  logs: { level: string, message: string }[]
  /** What kong.log.serialize() gave in the log phase, if it ran. */
  serialized: Record<string, unknown> | undefined
  /** The message of the first error a handler threw (the gateway answers 500 when that is in rewrite or access). */
  error: string | undefined
}

const ROUTE_ID = '00000000-0000-4000-8000-000000000001'
const SERVICE_ID = '00000000-0000-4000-8000-000000000002'
const NODE_ID = '00000000-0000-4000-8000-00000000000a'
/** The request's id, in the gateway's form (32 hex digits), the same every run. */
const REQUEST_ID = '7e57000000000000000000000000000a'

type Level = 'debug' | 'info' | 'warn' | 'error' | 'fatal'

/** The gateway's logger as the kit sees it: kong.log lines kept, a failing handler's error noted. */
function kitLogger (logs: RunResult['logs'], failed: (message: string) => void): Logger {
  const line = (level: Level) => (fields: { err?: unknown } | undefined, message?: unknown): void => {
    if (fields?.err !== undefined) failed(fields.err instanceof Error ? fields.err.message : String(fields.err))
    else logs.push({ level, message: typeof message === 'string' ? message : String(message ?? '') })
  }
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error'), fatal: line('fatal') } as unknown as Logger
}

export async function runPlugin<S extends TObject> (plugin: PluginDescriptor<S>, opts: RunOptions = {}): Promise<RunResult> {
  const { errors } = validateRecord(plugin.schema, opts.config ?? {})
  if (errors !== undefined) throw new Error(`invalid config for ${plugin.name}: ${JSON.stringify(errors)}`)
  const req = opts.request ?? {}
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

  // Handlers left out of `phases` are left out of the descriptor the gateway parts see.
  const only = opts.phases
  const descriptor = (only === undefined ? plugin : { ...plugin, ...Object.fromEntries(HANDLERS.filter((h) => !only.includes(h)).map((h) => [h, undefined])) }) as AnyPlugin
  const registry = new PluginRegistry()
  registry.register(descriptor)
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-testkit-'))
  const store = new LmdbStore({ path: join(dir, 'test.mdb'), plugins: registry, entities: registry.entities(), ttlPurgeInterval: 0 })
  const shm = new SharedMemory({ path: join(dir, 'shm.mdb') })
  try {
    const insert = async (entity: string, row: Record<string, unknown>): Promise<void> => {
      try {
        await store.insert(entity, row)
      } catch (err) {
        throw new Error(`runPlugin: the ${entity} entity is invalid: ${(err as Error).message}`)
      }
    }
    await insert('services', { id: SERVICE_ID, name: 'test-service', host: 'upstream.test', port: 80, protocol: 'http', path: null, ...opts.service })
    const serviceId = (opts.service?.id ?? SERVICE_ID) as string
    await insert('routes', { id: ROUTE_ID, name: 'test-route', paths: ['/'], strip_path: true, protocols: ['http', 'https'], service: { id: serviceId }, ...opts.route })
    const routeId = (opts.route?.id ?? ROUTE_ID) as string
    for (const [entity, rows] of Object.entries(opts.entities ?? {})) for (const row of rows) await insert(entity, row)
    const scope = opts.scope ?? 'global'
    await insert('plugins', {
      name: plugin.name,
      config: opts.config ?? {},
      ...(scope === 'route' ? { route: { id: routeId } } : scope === 'service' ? { service: { id: serviceId } } : {}),
    })

    const logs: RunResult['logs'] = []
    let error: string | undefined
    const log = kitLogger(logs, (message) => { error ??= message })
    const flags = headerFlags()
    const runner = new InProcessRunner({ db: new EntityCache(store), log, nodeId: NODE_ID, shm, counters: store })
    const plugins = new LivePlugins(store, registry, () => runner, { log, here: () => true })
    // As the gateway does before it serves: the plugin's configure hook, with its config.
    plugins.get()
    await plugins.configured()
    const phases = new PhaseRunner({
      plugins,
      routing: new Routing(new LiveRouter(store), flags.upstreamRequestId),
      readBody: async () => body ?? Buffer.alloc(0),
      log,
    })
    const res = new DetachedResponse()
    const ctx = new RequestContext(new DataRequest({
      method: req.method ?? 'GET',
      url: req.path ?? '/',
      httpVersion: '1.1',
      rawHeaders,
      clientIp: req.clientIp ?? '127.0.0.1',
      clientPort: 40000,
      localPort: 8000,
    }) as unknown as IncomingMessage, res as unknown as ServerResponse, REQUEST_ID)
    // As if an auth plugin earlier in the chain had identified the client.
    ctx.consumer = opts.consumer
    ctx.credential = opts.credential

    const collected = await phases.request(ctx)
    const upstream = ctx.exit === undefined ? ctx.upstream : undefined
    const sent = upstream === undefined
      ? undefined
      : { method: upstream.method, path: upstream.path, query: upstream.query, headers: upstream.headers, body: upstream.body ?? body }
    let out: Buffer | undefined
    let head: Headers
    if (sent !== undefined) {
      const given = opts.upstreamResponse
      const up = (typeof given === 'function' ? given(sent) : given) ?? {}
      ctx.upstreamStarted = ctx.upstreamResponded = performance.now()
      upstreamResponse(ctx, up.status ?? 200, { 'content-type': 'application/json', ...up.headers }, flags)
      out = await phases.filterWhole(ctx, collected, Buffer.from(up.body ?? '{}'))
      // The head as the proxy writes it: a body_filter makes it buffer the body, so the
      // length is the filtered body's.
      const buffered = anyBodyFilter(ctx, collected)
      head = proxiedResponseHead(ctx, flags, buffered, buffered ? out?.length ?? 0 : undefined)
    } else {
      out = await phases.filterWhole(ctx, collected, exitAsResponse(ctx))
      head = wholeResponseHead(ctx, out, flags, false)
    }
    res.contentLength = String(out?.length ?? 0)
    let serialized: Record<string, unknown> | undefined
    if (collected.some((c) => c.plugin === descriptor && c.plugin.log !== undefined)) {
      ctx.phase = Phase.log
      serialized = serialize(ctx)
      await phases.log(ctx, collected)
    }
    return {
      upstream: sent,
      response: { status: ctx.status, headers: head, body: out ?? Buffer.alloc(0), source: ctx.source },
      consumer: ctx.consumer,
      credential: ctx.credential,
      shared: { ...ctx.shared },
      logs,
      serialized,
      error,
    }
  } finally {
    await store.close()
    await shm.close()
    rmSync(dir, { recursive: true, force: true })
  }
}
