// The Admin API on fastify. This file holds the server and Kong's generic behaviour (error
// bodies, headers); endpoint families register themselves from ./routes.

import { hostname } from 'node:os'
import Fastify, { type FastifyInstance } from 'fastify'
import { describeConfig, type Config } from '../config/index.js'
import { DbError } from '../errors.js'
import type { Logger } from '../log.js'
import { SERVER_TOKEN, VERSION } from '../meta.js'
import type { ProxyStats } from '../proxy/server.js'
import type { Store } from '../store/index.js'

export interface AdminDeps {
  config: Config
  store: Store
  log: Logger
  proxyStats: ProxyStats
}

const NOT_FOUND = { message: 'Not found' }
const METHOD_NOT_ALLOWED = { message: 'Method not allowed' }

export function createAdminServer (deps: AdminDeps): FastifyInstance {
  const app = Fastify({
    logger: false,
    // Kong: a path that does not match is retried with/without its trailing slash.
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: false },
    bodyLimit: 10 * 1024 * 1024,
  })

  app.addHook('onRequest', async (req) => { (req as unknown as { started: number }).started = performance.now() })
  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('Server', SERVER_TOKEN)
    reply.header('X-Kong-Admin-Latency', Math.round(performance.now() - (req as unknown as { started: number }).started))
    return payload
  })

  app.setNotFoundHandler((_req, reply) => { reply.code(404).send(NOT_FOUND) })
  app.setErrorHandler((err, _req, reply) => {
    if (DbError.is(err)) { reply.code(err.status).send(err.toJSON()); return }
    const status = (err as { statusCode?: number }).statusCode
    if (status !== undefined && status >= 400 && status < 500) { reply.code(status).send({ message: (err as Error).message }); return }
    deps.log.error({ err }, 'admin API error')
    reply.code(500).send({ message: 'An unexpected error occurred' })
  })

  const methodNotAllowed = (url: string, allowed: string[]): void => {
    const others = ['DELETE', 'PATCH', 'POST', 'PUT'].filter((m) => !allowed.includes(m))
    app.route({ method: others, url, handler: async (_req, reply) => reply.code(405).send(METHOD_NOT_ALLOWED) })
  }

  app.get('/', async () => ({
    tagline: 'Welcome to tollgate',
    version: VERSION,
    edition: 'community',
    hostname: hostname(),
    node_id: deps.store.nodeId(),
    plugins: { available_on_server: {}, enabled_in_cluster: [] },
    configuration: describeConfig(deps.config),
    pids: { master: process.pid, workers: [process.pid] },
  }))
  methodNotAllowed('/', ['GET'])

  app.get('/status', async () => {
    let reachable = true
    try { deps.store.version() } catch { reachable = false }
    const s = deps.proxyStats
    return {
      server: {
        connections_accepted: s.connectionsAccepted,
        connections_active: s.connectionsActive,
        connections_handled: s.connectionsAccepted,
        connections_reading: 0,
        connections_writing: 0,
        connections_waiting: s.connectionsActive,
        total_requests: s.totalRequests,
      },
      database: { reachable },
      configuration_version: deps.store.version(),
      memory: { rss: process.memoryUsage.rss(), heap_used: process.memoryUsage().heapUsed },
    }
  })
  methodNotAllowed('/status', ['GET'])

  return app
}
