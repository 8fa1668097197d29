// Where each attempt of a proxied request goes: Kong's balancer step. The pipeline asks a
// PeerSelector for a peer before every attempt (the first and each retry) and tells it how
// the attempt ended; the selector decides the address, and for a load-balanced service the
// Host header that address is sent with. Kong does the same in its balancer phase, which
// nginx runs once per try.
//
// ServicePeers is the selector for a service whose host is an address or a DNS name: one
// peer, the service's own host and port, every time (undici resolves the name when it
// connects).

import type { RequestContext } from '../runtime/context.js'
import type { Service } from '../store/index.js'

/** One attempt's destination. The same object for the same destination, so it can key caches. */
export interface Peer {
  readonly protocol: 'http' | 'https'
  /** An IP address or a host name to connect to. */
  readonly host: string
  readonly port: number
  /**
   * The Host header this attempt carries when the route does not preserve the client's
   * (Kong: the upstream's host_header, else the target's name and port); undefined keeps
   * the one routing set from the service.
   */
  readonly hostHeader: string | undefined
  /**
   * The id of the balanced upstream's client_certificate: presented to an https target when
   * the service has none of its own (Kong's balancer.execute).
   */
  readonly clientCertificate?: string | undefined
}

/**
 * How an attempt ended, for passive health checks and the balancing algorithms'
 * bookkeeping: a response (with its status), a TCP-level failure, a timeout, or
 * `aborted` when the client went away or the request failed for a reason that is not the
 * peer's. A string and a number rather than an object: this is reported on every request.
 */
export type AttemptOutcome = 'response' | 'tcp' | 'timeout' | 'aborted'

export interface PeerSelector {
  /**
   * The peer for attempt `attempt` (0 for the first) of this request, avoiding peers that
   * already failed it when another is available; undefined when no peer is available,
   * which the pipeline answers with Kong's 503 "failure to get a peer from the
   * ring-balancer".
   */
  select (ctx: RequestContext, attempt: number): Peer | undefined
  /** How the attempt on `peer` ended (`status` for a response). Called once per selected attempt. */
  done (ctx: RequestContext, peer: Peer, outcome: AttemptOutcome, status?: number): void
}

/** The service's own host and port: no balancing, nothing to report to. */
export class ServicePeers implements PeerSelector {
  // Services are cached entities, the same object request after request.
  #peers = new WeakMap<Service, Peer>()

  select (ctx: RequestContext): Peer {
    const service = ctx.service as Service
    let peer = this.#peers.get(service)
    if (peer === undefined) {
      peer = { protocol: service.protocol === 'https' ? 'https' : 'http', host: service.host, port: service.port, hostHeader: undefined }
      this.#peers.set(service, peer)
    }
    return peer
  }

  done (): void {}
}
