import type { ConfigReader, Route, Service } from '../store/index.js'
import { Router } from './router.js'

export { Router } from './router.js'
export type { RouteMatch, RouteRequest } from './router.js'
export { normalizePath, encodeUpstreamPath } from './normalize.js'
export { upstreamPath } from './upstream-path.js'

/**
 * Keeps a router compiled for the store's current config version. Requests already
 * holding a match keep using the route and service they matched; the next request sees
 * the new router.
 */
export class LiveRouter {
  readonly #store: ConfigReader
  #router: Router | undefined
  #dirty = true

  constructor (store: ConfigReader) {
    this.#store = store
    store.onChange(() => { this.#dirty = true })
  }

  /** The current router; rebuilt after a write this process saw, or after invalidate() (another process wrote). */
  get (): Router {
    if (this.#dirty || this.#router === undefined) this.#rebuild()
    return this.#router as Router
  }

  /** Marks the router stale, for writes made by another process. */
  invalidate (): void {
    this.#dirty = true
  }

  #rebuild (): void {
    const services = new Map<string, Service>()
    for (const s of this.#store.each('services')) services.set(s.id, s as unknown as Service)
    this.#router = new Router(this.#store.each('routes') as Iterable<unknown> as Iterable<Route>, services)
    this.#dirty = false
  }
}
