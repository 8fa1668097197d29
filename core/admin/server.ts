// The Admin API on fastify. This file holds the server and Kong's generic behaviour (body
// decoding, error bodies, headers); endpoint families are added through a RouteTable.

import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { Duplex } from 'node:stream'
import { Busboy, type BusboyHeaders } from '@fastify/busboy'
import type { ServerOptions as HttpsServerOptions } from 'node:https'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { describeConfig, type Config } from '../config/index.js'
import { DatabaseUnavailableError, DbError } from '../errors.js'
import type { Logger } from '../log.js'
import { SERVER_TOKEN, VERSION } from '../meta.js'
import type { ProxyStats } from '../proxy/server.js'
import type { PluginRegistry } from '../runtime/registry.js'
import type { ConfigReader, EntityStore } from '../store/index.js'
import { kForm, registerEntityRoutes, registerTagRoutes } from './entities.js'
import { decodeForm } from './form.js'
import { HttpError } from './http-error.js'
import { buildOpenApi } from './openapi.js'
import { refuse, tokenCheck } from './auth.js'
import { registerPluginRoutes } from './plugin-routes.js'
import { nodeFacts, type WorkerMemory } from './node-facts.js'
import { nodeStatus, trafficAnswer } from './status.js'
import { TrafficWindow } from '../proxy/traffic.js'
import { readOnlyStore } from '../declarative/dbless.js'
import { CONFIG_BODY_LIMIT, registerConfigRoutes } from './config-routes.js'
import { SharedMemory } from '../shm/index.js'
import { RouteTable } from './route-table.js'
import { registerSchemaRoutes } from './schema-routes.js'
import { registerUpstreamRoutes } from './upstreams.js'
import { registerCertificateRoutes } from './certificates.js'
import { registerHealthRoutes, type HealthDeps } from './upstream-health.js'
import { UpstreamBalancers } from '../balancer/registry.js'
import { HealthHub } from '../balancer/health-hub.js'

export interface AdminDeps {
  config: Config
  store: EntityStore & ConfigReader
  plugins: PluginRegistry
  log: Logger
  proxyStats: ProxyStats
  /** Pids of the processes serving the proxy. */
  workerPids: () => number[]
  /**
   * The node's balancers and health checkers, for the health endpoints. An Admin API
   * started alone (tests, tools) makes its own, closed with it.
   */
  health?: HealthDeps
  /**
   * The node's shared dictionaries, for plugins' Admin API routes (proxy-cache's purges).
   * An Admin API started alone gets an empty set in its memory.
   */
  shm?: SharedMemory
  /** database = postgres: the link to the shared database, whose state /status shows. */
  database?: { status(): { reachable: boolean, listening: boolean, version: number, error?: string } }
  /** The proxy processes' heaps, for metrics; this process's alone when not given. */
  workerMemory?: () => WorkerMemory[]
  /**
   * `status`: the Status API (status_listen), Kong's read-only endpoints for monitoring:
   * GET /status and the plugin routes marked statusApi (prometheus's /metrics), nothing else.
   */
  api?: 'admin' | 'status'
  /** A TLS listener's server options (admin_ssl_cert / status_ssl_cert, Kong's TLS settings). */
  https?: HttpsServerOptions
  /** The node's traffic by the second (GET /status/traffic); none when not given. */
  traffic?: TrafficWindow
}

const NOT_FOUND = { message: 'Not found' }
/** Kong refuses requests with more than this many query or body arguments. */
const MAX_ARGS = 1000
const BODY_LIMIT = 10 * 1024 * 1024

function markForm (req: FastifyRequest): void {
  (req as unknown as Record<symbol, boolean>)[kForm] = true
}

function tooMany (count: number): HttpError | null {
  return count > MAX_ARGS ? new HttpError(400, 'Too many arguments') : null
}

function createBusboy (headers: BusboyHeaders) {
  return new Busboy({ headers, limits: { fields: MAX_ARGS + 1, fieldSize: BODY_LIMIT } })
}

const CONFIG_PATH = /^\/config\/?(?:\?|$)/

/** Kong reads a body only for these methods and ignores it on the others. */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH'])
const ignoresBody = (req: FastifyRequest): boolean => !BODY_METHODS.has(req.method)

/** Kong accepts JSON, urlencoded and multipart forms; anything else is 415. */
function registerBodyParsers (app: FastifyInstance): void {
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (ignoresBody(req)) { done(null, undefined); return }
    try {
      done(null, JSON.parse(body as string))
    } catch {
      done(new HttpError(400, 'Cannot parse JSON body'), undefined)
    }
  })
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (req, body, done) => {
    if (ignoresBody(req)) { done(null, undefined); return }
    markForm(req)
    const params = [...new URLSearchParams(body as string)]
    let form: Record<string, unknown>
    try {
      form = decodeForm(params)
    } catch (err) {
      done(new HttpError(400, `Cannot parse form body: ${(err as Error).message}`), undefined)
      return
    }
    done(tooMany(params.length), form)
  })
  app.addContentTypeParser('multipart/form-data', (req, payload, done) => {
    if (ignoresBody(req)) { payload.resume(); payload.once('end', () => done(null, undefined)); return }
    markForm(req)
    const fields: [string, string][] = []
    let bb: ReturnType<typeof createBusboy>
    try {
      bb = createBusboy(req.headers as BusboyHeaders)
    } catch (err) {
      done(new HttpError(400, `Cannot parse multipart body: ${(err as Error).message}`), undefined)
      return
    }
    let failed = false
    const fail = (err: Error): void => { if (!failed) { failed = true; payload.unpipe(bb); payload.resume(); done(err, undefined) } }
    // A part without a name (Content-Disposition: form-data alone) names no field: skipped.
    bb.on('field', (name: string | undefined, value: string) => { if (typeof name === 'string') fields.push([name, value]) })
    // Kong reads a file part as the field's value.
    bb.on('file', (name: string | undefined, file: NodeJS.ReadableStream) => {
      const chunks: Buffer[] = []
      file.on('data', (c: Buffer) => chunks.push(c))
      file.on('end', () => { if (typeof name === 'string') fields.push([name, Buffer.concat(chunks).toString('utf8')]) })
    })
    bb.on('error', (err: Error) => fail(new HttpError(400, `Cannot parse multipart body: ${err.message}`)))
    // Busboy calls these from its own stream callbacks: a throw here would escape every
    // handler and end the process, so any failure is this request's 400.
    bb.on('finish', () => {
      if (failed) return
      let form: Record<string, unknown>
      try {
        form = decodeForm(fields)
      } catch (err) {
        fail(new HttpError(400, `Cannot parse multipart body: ${(err as Error).message}`))
        return
      }
      done(tooMany(fields.length), form)
    })
    payload.on('error', fail)
    payload.pipe(bb)
  })
  // YAML only where Kong takes it: a declarative configuration sent to /config as is.
  app.addContentTypeParser(['application/yaml', 'text/yaml'], { parseAs: 'string', bodyLimit: CONFIG_BODY_LIMIT }, (req, body, done) => {
    if (ignoresBody(req)) { done(null, undefined); return }
    if (!CONFIG_PATH.test(req.url)) { done(new HttpError(415, 'Unsupported Media Type'), undefined); return }
    done(null, body)
  })
  app.addContentTypeParser('*', (req, payload, done) => {
    if (ignoresBody(req)) { payload.resume(); payload.once('end', () => done(null, undefined)); return }
    done(new HttpError(415, 'Unsupported Media Type'), undefined)
  })
}

/** An answer written straight to the socket, for requests that never reach a route. */
function rawAnswer (status: number, reason: string, message: string): string {
  const body = JSON.stringify({ message })
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
    `Server: ${SERVER_TOKEN}\r\nConnection: close\r\n\r\n${body}`
}

/**
 * What node's HTTP parser refuses (bad request line, header names or framing, headers over
 * the size limit, a read timeout) never reaches fastify's routes or error handler. Answer
 * it in Kong's words rather than fastify's `{"error","message","statusCode"}`: nginx's
 * 400 "Bad request", and for headers too large its 494 "Request header or cookie too
 * large", which Kong sends as 400. As node does, nothing is written once a response on
 * this connection has started, since that would corrupt it.
 */
function clientErrorHandler (err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const inFlight = (socket as unknown as { _httpMessage?: { headersSent?: boolean } })._httpMessage
  if (socket.writable && inFlight?.headersSent !== true) {
    socket.write(err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? rawAnswer(408, 'Request Timeout', 'Request timeout')
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? rawAnswer(400, 'Bad Request', 'Request header or cookie too large')
        : rawAnswer(400, 'Bad Request', 'Bad request'))
  }
  socket.destroy()
}

export function createAdminServer (deps: AdminDeps): FastifyInstance {
  const { plugins } = deps
  // DB-less: entities are read here and loaded whole through /config, never written one by one.
  const store = deps.config.database === 'off' ? readOnlyStore(deps.store) : deps.store
  // latency_tokens in kong.conf's `headers` covers the Admin API's latency header too.
  const adminLatency = deps.config.headers.includes('x-kong-admin-latency')
  const guiOrigin = deps.config.admin_gui_url
  // The Status API stays open, as Kong's: it is read-only and carries no configuration.
  const authorized = deps.api !== 'status' && deps.config.admin_token !== '' ? tokenCheck(deps.config.admin_token) : undefined
  const app = Fastify({
    ...(deps.https === undefined ? {} : { https: deps.https }),
    logger: false,
    // Kong: a path that does not match is retried with/without its trailing slash.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 2048 },
    bodyLimit: BODY_LIMIT,
    // Each request gets an id in the form of Kong's request ids (32 hex digits), so that the
    // log line of an unexpected error names the request it failed. The client's headers
    // never choose it (fastify's requestIdHeader is off by default).
    genReqId: () => randomBytes(16).toString('hex'),
    // A path fastify cannot decode (bad percent-encoding, invalid UTF-8) or an over-long
    // parameter: Kong's error body, not fastify's.
    frameworkErrors: (err, req, reply) => {
      if (authorized !== undefined && !authorized(req)) { void refuse(reply as FastifyReply); return }
      void (reply as FastifyReply).code(400).send({ message: err.code === 'FST_ERR_BAD_URL' ? 'invalid utf-8 or percent-encoding in the request path' : 'Bad request' })
    },
    clientErrorHandler,
  })
  // node hands a CONNECT request to 'connect' listeners and, when there is none, closes the
  // connection without a word. The Admin API is no proxy: Kong's 405.
  app.server.on('connect', (_req: unknown, socket: Duplex) => {
    socket.on('error', () => {})
    socket.end(rawAnswer(405, 'Method Not Allowed', 'Method not allowed'), () => socket.destroy())
  })

  // First of all hooks, so that nothing (404s, 405s, body checks, plugins' routes) answers
  // a request without the token.
  if (authorized !== undefined) {
    app.addHook('onRequest', async (req, reply) => {
      if (!authorized(req)) return refuse(reply)
    })
  }
  app.addHook('onRequest', async (req) => {
    (req as unknown as { started: number }).started = performance.now()
    const raw = req.raw.rawHeaders
    let contentTypes = 0
    for (let i = 0; i < raw.length; i += 2) if ((raw[i] as string).toLowerCase() === 'content-type') contentTypes++
    if (contentTypes > 1) throw new HttpError(400, 'Multiple Content-Type headers not allowed')
    const q = req.url.indexOf('?')
    if (q !== -1 && req.url.slice(q + 1).split('&').length > MAX_ARGS) throw new HttpError(400, 'Too many arguments')
  })
  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('Server', SERVER_TOKEN)
    if (adminLatency) reply.header('X-Kong-Admin-Latency', Math.round(performance.now() - ((req as unknown as { started?: number }).started ?? performance.now())))
    // Kong's Admin API lets any origin call it with credentials unless admin_gui_url is set,
    // which names the one origin allowed: Tollgate Manager's.
    reply.header('Access-Control-Allow-Origin', guiOrigin !== '' ? guiOrigin : req.headers.origin ?? '*')
    if (guiOrigin !== '') reply.header('Vary', 'Origin')
    reply.header('Access-Control-Allow-Credentials', 'true')
    return payload
  })

  registerBodyParsers(app)
  app.setNotFoundHandler((_req, reply) => { reply.code(404).send(NOT_FOUND) })
  app.setErrorHandler((err, req, reply) => {
    if (DbError.is(err)) { reply.code(err.status).send(err.toJSON()); return }
    if (err instanceof DatabaseUnavailableError) { reply.code(503).send({ message: err.message }); return }
    const status = (err as { statusCode?: number }).statusCode
    if (status === 415) { reply.code(415).send(); return } // Kong answers 415 with no body
    if (status !== undefined && status >= 400 && status < 500) {
      const message = err instanceof HttpError ? err.message : status === 413 ? 'Payload too large' : 'Bad request'
      reply.code(status).send({ message })
      return
    }
    // Kong's answer to anything else: the details go to the log only, with the request id
    // to find them by.
    deps.log.error({ err, request_id: req.id, method: req.method, path: req.routeOptions.url }, 'admin API error')
    reply.code(500).send({ message: 'An unexpected error occurred' })
  })

  let health = deps.health
  if (health === undefined) {
    const balancers = new UpstreamBalancers(store)
    const own = { balancers, hub: new HealthHub(balancers, { log: deps.log }) }
    app.addHook('onClose', async () => { await own.hub.stop(); balancers.close() })
    health = own
  }
  const shm = deps.shm ?? new SharedMemory()
  if (deps.shm === undefined) app.addHook('onClose', async () => { await shm.close() })
  const node = nodeFacts({ config: deps.config, store, proxyStats: deps.proxyStats, health, shm, database: deps.database, workerMemory: deps.workerMemory })

  const table = new RouteTable(app)

  table.add('GET', '/', { summary: 'Node information', response: 'object', tags: ['information'] }, async () => {
    const available: Record<string, { version: string, priority: number }> = {}
    for (const p of plugins.all()) available[p.name] = { version: p.version, priority: p.priority }
    const inCluster = new Set<string>()
    for (const p of store.each('plugins')) inCluster.add(p.name as string)
    return {
      tagline: 'Welcome to tollgate',
      version: VERSION,
      edition: 'community',
      hostname: hostname(),
      node_id: store.nodeId(),
      plugins: { available_on_server: available, enabled_in_cluster: [...inCluster].sort() },
      configuration: describeConfig(deps.config),
      pids: { master: process.pid, workers: deps.workerPids() },
    }
  })

  table.add('GET', '/status', { summary: 'Health and traffic counters', response: 'object', tags: ['information'] }, async () => nodeStatus(deps.config, store, node))
  const traffic = deps.traffic ?? new TrafficWindow()
  table.add('GET', '/status/traffic', { summary: 'Requests, status codes and latency percentiles per second over the last minutes (Tollgate Manager\'s live view)', response: 'object', tags: ['information'] }, async (req) => {
    return trafficAnswer(traffic, (req.query as Record<string, unknown>).seconds)
  })
  if (deps.api === 'status') {
    registerPluginRoutes(table, plugins, deps.log, { shm, store, node }, { statusApi: true })
    table.finish()
    return app
  }

  table.add('GET', '/status/entities', { summary: 'How many rows each entity has (Tollgate Manager\'s overview)', response: 'object', tags: ['information'] }, async () => {
    const counts: Record<string, number> = {}
    for (const info of store.entities) counts[info.name] = store.count(info.name)
    return { counts }
  })

  table.add('GET', '/endpoints', { summary: 'Every Admin API path template', response: 'object', tags: ['information'] }, async () => ({
    data: [...table.routes.keys()].map((u) => u.replace(/:(\w+)/g, '{$1}')).sort(),
  }))

  table.add('GET', '/plugins/enabled', { summary: 'Plugins loaded on this node', response: 'object', tags: ['plugins'] }, async () => ({
    enabled_plugins: plugins.names(),
  }))

  registerSchemaRoutes(table, store, plugins)
  registerEntityRoutes(table, store)
  registerUpstreamRoutes(table, store)
  registerCertificateRoutes(table, store)
  registerHealthRoutes(table, store, health)
  registerTagRoutes(table, store)
  registerConfigRoutes(table, store, deps.config, plugins, deps.log)

  let openapi: unknown
  table.add('GET', '/openapi.json', { summary: 'This document', response: 'object', tags: ['information'] }, async () => {
    openapi ??= buildOpenApi(table, store, plugins)
    return openapi
  })

  registerPluginRoutes(table, plugins, deps.log, { shm, store, node })

  table.finish()
  return app
}
