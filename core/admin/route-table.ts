// Every Admin route is added through this table, so that what Kong does for all of them
// is done once: 405 for other methods on a known path, OPTIONS with the sorted `Allow`
// list, and the OpenAPI document listing exactly what is served.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

export const METHODS = ['DELETE', 'GET', 'PATCH', 'POST', 'PUT'] as const
export type Method = typeof METHODS[number]

export type Req = FastifyRequest<{ Params: Record<string, string>, Querystring: Record<string, string | string[]> }>
export type Handler = (req: Req, reply: FastifyReply) => Promise<unknown>

/** What the OpenAPI document says of an operation. */
export interface OperationDoc {
  summary: string
  /** Entity whose schema the request body follows. */
  body?: string
  /** Entity (or `page of` entity) the 2xx response carries. */
  response?: { entity: string, list?: boolean } | 'empty' | 'object'
  status?: number
  tags?: string[]
  /** Who serves it, when not Tollgate itself: `plugin 'name'`. */
  owner?: string
}

const CORE = "Tollgate's Admin API"

export class RouteTable {
  readonly #app: FastifyInstance
  readonly routes = new Map<string, Map<Method, OperationDoc>>()
  /** Who serves each path, by its shape (parameter names dropped: /a/:x and /a/:y are one path to the router). */
  readonly #owners = new Map<string, { owner: string, url: string }>()

  constructor (app: FastifyInstance) {
    this.#app = app
  }

  /**
   * Adds a route. A path belongs to whoever added it first: another owner (a plugin, or
   * core when a plugin came first) may not add any method to it, so that 405 and the
   * `Allow` list of a path describe one owner's endpoint.
   */
  add (method: Method, url: string, doc: OperationDoc, handler: Handler, opts: { bodyLimit?: number } = {}): void {
    const owner = doc.owner ?? CORE
    const shape = url.replace(/:[^/]+/g, ':')
    const held = this.#owners.get(shape)
    if (held !== undefined && held.owner !== owner) throw new Error(`${owner} cannot serve ${method} ${url}: ${held.owner} serves ${held.url}`)
    if (held === undefined) this.#owners.set(shape, { owner, url })
    let methods = this.routes.get(url)
    if (methods === undefined) this.routes.set(url, methods = new Map())
    if (methods.has(method)) throw new Error(`${method} ${url} is registered twice`)
    methods.set(method, doc)
    this.#app.route({ method, url, handler: handler as never, ...opts })
  }

  /** Registers 405 and OPTIONS answers; call once every route is added. */
  finish (): void {
    for (const [url, methods] of this.routes) {
      const others = METHODS.filter((m) => !methods.has(m))
      if (others.length > 0) {
        this.#app.route({ method: others, url, handler: async (_req, reply) => reply.code(405).send({ message: 'Method not allowed' }) })
      }
      const allow = [...methods.keys(), ...(methods.has('GET') ? ['HEAD'] : []), 'OPTIONS'].sort().join(', ')
      this.#app.route({
        method: 'OPTIONS',
        url,
        handler: async (req, reply) => reply.code(204)
          .header('Allow', allow)
          .header('Access-Control-Allow-Methods', allow)
          .header('Access-Control-Allow-Headers', req.headers['access-control-request-headers'] ?? 'Content-Type')
          .send(),
      })
    }
  }
}
