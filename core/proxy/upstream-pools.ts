// One keep-alive undici pool per upstream address (and connect timeout and certificate
// check, which undici sets per pool). Pools are made on first use and closed with the proxy.

import { Pool } from 'undici'
import type { Service } from '../store/index.js'
import type { Peer } from './peers.js'

const KEEP_ALIVE_MS = 60_000

export class UpstreamPools {
  readonly #pools = new Map<string, Pool>()
  /**
   * By peer: peers are made once per destination and reused request after request, so
   * the usual lookup is one WeakMap read; the service's timeout and TLS settings must
   * match, since two services can share a peer.
   */
  #byPeer = new WeakMap<Peer, { service: Service, pool: Pool }>()

  pool (peer: Peer, service: Service): Pool {
    const known = this.#byPeer.get(peer)
    if (known !== undefined && known.service === service && !known.pool.closed && !known.pool.destroyed) return known.pool
    const key = `${peer.protocol}://${peer.host}:${peer.port}#${service.connect_timeout}#${service.tls_verify === true}`
    let pool = this.#pools.get(key)
    if (pool === undefined || pool.closed || pool.destroyed) {
      const host = peer.host.includes(':') ? `[${peer.host}]` : peer.host
      pool = new Pool(`${peer.protocol}://${host}:${peer.port}`, {
        connect: { timeout: service.connect_timeout, rejectUnauthorized: service.tls_verify === true },
        keepAliveTimeout: 4_000,
        keepAliveMaxTimeout: KEEP_ALIVE_MS,
        // One connection per in-flight request, as nginx does; pipelining would let a slow
        // response hold up others.
        pipelining: 1,
      })
      this.#pools.set(key, pool)
    }
    this.#byPeer.set(peer, { service, pool })
    return pool
  }

  async close (): Promise<void> {
    const pools = [...this.#pools.values()]
    this.#pools.clear()
    this.#byPeer = new WeakMap()
    await Promise.all(pools.map((p) => p.close().catch(() => p.destroy())))
  }
}
