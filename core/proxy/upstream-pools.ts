// One keep-alive undici pool per upstream address and connect timeout, and for https per
// TLS profile and server name (SNI): Kong keys its https keepalive pools by address, SNI
// and client certificate (kong/init.lua balancer), and here the verification settings
// count too, so a connection made under one service's TLS settings never carries another's
// request. Pools are made on first use and closed with the proxy.

import { Pool } from 'undici'
import type { Service } from '../store/index.js'
import type { Peer } from './peers.js'
import { NO_VERIFY, tlsConnector, type TlsProfile } from './upstream-tls.js'

const KEEP_ALIVE_MS = 60_000
/**
 * How often making a pool also closes the pools with no connection and nothing to send:
 * after a certificate or service change the old profile's pools are never chosen again.
 */
const SWEEP_MS = 10_000

interface Known { service: Service, tls: TlsProfile | undefined, servername: string, pool: Pool }

export class UpstreamPools {
  readonly #pools = new Map<string, Pool>()
  /**
   * By peer: peers are made once per destination and reused request after request, so
   * the usual lookup is one WeakMap read; the service's timeout and the TLS settings must
   * match, since two services can share a peer.
   */
  #byPeer = new WeakMap<Peer, Known>()
  #swept = performance.now()

  /** `tls` and `servername` for an https peer (upstream-tls.ts). */
  pool (peer: Peer, service: Service, tls?: TlsProfile, servername = ''): Pool {
    const known = this.#byPeer.get(peer)
    if (known !== undefined && known.service === service && known.tls === tls && known.servername === servername &&
      !known.pool.closed && !known.pool.destroyed) return known.pool
    const https = peer.protocol === 'https'
    if (https) tls ??= NO_VERIFY
    const key = `${peer.protocol}://${peer.host}:${peer.port}#${service.connect_timeout}${https ? `#${servername}#${tls?.key ?? ''}` : ''}`
    let pool = this.#pools.get(key)
    if (pool === undefined || pool.closed || pool.destroyed) {
      const host = peer.host.includes(':') ? `[${peer.host}]` : peer.host
      pool = new Pool(`${peer.protocol}://${host}:${peer.port}`, {
        connect: tls !== undefined ? tlsConnector(tls, service.connect_timeout) : { timeout: service.connect_timeout },
        keepAliveTimeout: 4_000,
        keepAliveMaxTimeout: KEEP_ALIVE_MS,
        // One connection per in-flight request, as nginx does; pipelining would let a slow
        // response hold up others.
        pipelining: 1,
      })
      this.#sweep()
      this.#pools.set(key, pool)
    }
    this.#byPeer.set(peer, { service, tls, servername, pool })
    return pool
  }

  /** Closes idle pools (no connection, nothing queued), at most once per SWEEP_MS; one in use is made again. */
  #sweep (): void {
    const now = performance.now()
    if (now - this.#swept < SWEEP_MS) return
    this.#swept = now
    for (const [key, pool] of this.#pools) {
      const s = pool.stats
      if (s.connected === 0 && s.size === 0 && s.pending === 0) {
        this.#pools.delete(key)
        pool.close().catch(() => pool.destroy())
      }
    }
  }

  async close (): Promise<void> {
    const pools = [...this.#pools.values()]
    this.#pools.clear()
    this.#byPeer = new WeakMap()
    await Promise.all(pools.map((p) => p.close().catch(() => p.destroy())))
  }
}
