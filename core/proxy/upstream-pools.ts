// One keep-alive undici pool per upstream authority (and connect timeout, which undici
// sets per pool). Pools are made on first use and closed with the proxy.

import { Pool } from 'undici'
import type { Service } from '../store/index.js'

const KEEP_ALIVE_MS = 60_000

export class UpstreamPools {
  readonly #pools = new Map<string, Pool>()
  /** By service object: services are cached entities, the same object request after request. */
  #byService = new WeakMap<Service, Pool>()

  pool (service: Service): Pool {
    const known = this.#byService.get(service)
    if (known !== undefined && !known.closed && !known.destroyed) return known
    const key = `${service.protocol}://${service.host}:${service.port}#${service.connect_timeout}`
    let pool = this.#pools.get(key)
    if (pool === undefined) {
      const host = service.host.includes(':') ? `[${service.host}]` : service.host
      pool = new Pool(`${service.protocol === 'https' ? 'https' : 'http'}://${host}:${service.port}`, {
        connect: { timeout: service.connect_timeout, rejectUnauthorized: service.tls_verify === true },
        keepAliveTimeout: 4_000,
        keepAliveMaxTimeout: KEEP_ALIVE_MS,
        // One connection per in-flight request, as nginx does; pipelining would let a slow
        // response hold up others.
        pipelining: 1,
      })
      this.#pools.set(key, pool)
    }
    this.#byService.set(service, pool)
    return pool
  }

  async close (): Promise<void> {
    const pools = [...this.#pools.values()]
    this.#pools.clear()
    this.#byService = new WeakMap()
    await Promise.all(pools.map((p) => p.close().catch(() => p.destroy())))
  }
}
