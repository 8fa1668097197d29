// The peer selector for Kong's upstreams: a service whose host names an upstream is
// balanced over its targets (kong/runloop/balancer/init.lua execute); any other service
// goes to its own host and port (ServicePeers). Per request it keeps the hash value
// (computed once, on the first attempt, as Kong does), the addresses already tried (a
// retry avoids them while another is available) and the attempt in flight, whose end
// releases the address (connection counts, latency) and is passive health evidence.

import type { RequestContext } from '../runtime/context.js'
import type { Service } from '../store/index.js'
import type { BalancedUpstream, UpstreamBalancers } from '../balancer/registry.js'
import type { HashRequest } from '../balancer/hash-value.js'
import type { PeerAddress } from '../balancer/address.js'
import { ServicePeers, type AttemptOutcome, type Peer, type PeerSelector } from './peers.js'

/** Where passive evidence goes: the node's health checkers (balancer/health-hub.ts). */
export interface PassiveHealth {
  report (upstream: BalancedUpstream, address: PeerAddress, outcome: 'response' | 'tcp' | 'timeout', status?: number): void
}

/** One request's balancing state, kept on ctx.balancer. */
interface Attempts {
  upstream: BalancedUpstream
  hash: string | undefined
  tried: Set<string> | undefined
  /** The address of the attempt in flight, until `done`. */
  current: PeerAddress | undefined
  started: number
}

/** Peers made for one address, for the upstream generation they were made under. */
interface AddressPeers {
  generation: number
  upstream: BalancedUpstream
  http: Peer | undefined
  https: Peer | undefined
}

export class UpstreamPeers implements PeerSelector {
  readonly #balancers: UpstreamBalancers
  readonly #health: PassiveHealth | undefined
  readonly #direct = new ServicePeers()
  // Peer objects key the connection pools (upstream-pools.ts), so one per address and
  // scheme, made again only when the upstream changes (its host_header may have).
  readonly #peers = new WeakMap<PeerAddress, AddressPeers>()

  constructor (balancers: UpstreamBalancers, health?: PassiveHealth) {
    this.#balancers = balancers
    this.#health = health
  }

  select (ctx: RequestContext, attempt: number): Peer | undefined {
    const service = ctx.service as Service
    let state = ctx.balancer as Attempts | undefined
    if (attempt === 0 || state === undefined) {
      const upstream = this.#balancers.get(service.host)
      if (upstream === undefined) return this.#direct.select(ctx)
      let hash: string | undefined
      if (upstream.hash !== undefined) {
        const value = upstream.hash(new HashInput(ctx))
        hash = value.value
        if (value.setCookie !== undefined) ctx.hashCookie = value.setCookie
      }
      state = { upstream, hash, tried: undefined, current: undefined, started: 0 }
      ctx.balancer = state
    }
    const address = state.upstream.balancer.select(state.hash, state.tried)
    if (address === undefined) return undefined
    state.current = address
    state.started = performance.now()
    return this.#peer(state.upstream, address, service.protocol === 'https' ? 'https' : 'http')
  }

  done (ctx: RequestContext, _peer: Peer, outcome: AttemptOutcome, status?: number): void {
    const state = ctx.balancer as Attempts | undefined
    const address = state?.current
    if (state === undefined || address === undefined) return
    state.current = undefined
    ;(state.tried ??= new Set()).add(address.key)
    state.upstream.balancer.release(address, outcome === 'response' ? performance.now() - state.started : undefined)
    // Kong reports only what the upstream did: not a client that went away.
    if (outcome !== 'aborted') this.#health?.report(state.upstream, address, outcome, status)
  }

  #peer (upstream: BalancedUpstream, address: PeerAddress, protocol: 'http' | 'https'): Peer {
    let made = this.#peers.get(address)
    if (made === undefined || made.generation !== upstream.generation || made.upstream !== upstream) {
      made = { generation: upstream.generation, upstream, http: undefined, https: undefined }
      this.#peers.set(address, made)
    }
    let peer = made[protocol]
    if (peer === undefined) {
      const ip = address.ip
      peer = {
        protocol,
        host: ip.startsWith('[') ? ip.slice(1, -1) : ip,
        port: address.port,
        hostHeader: hostHeader(upstream.upstream.host_header ?? address.hostname, address.port, protocol),
        clientCertificate: upstream.upstream.client_certificate?.id,
      }
      made[protocol] = peer
    }
    return peer
  }
}

const HAS_PORT = /^(?:[^:[\]]+|\[[^\]]*\]):\d+$/

/**
 * Kong's Host for a balanced attempt (runloop/balancer set_host_header): the upstream's
 * host_header, else the target's name (or IP), with `:port` unless the port is the
 * scheme's default. A host_header gets the target's port too, as in Kong.
 */
export function hostHeader (host: string, port: number, protocol: 'http' | 'https'): string {
  // Kong appends the port to a host_header that has one already (`h:1:2`); one written
  // with a port is taken as the whole header instead.
  if (HAS_PORT.test(host)) return host
  return (port === 80 && protocol === 'http') || (port === 443 && protocol === 'https') ? host : `${host}:${port}`
}

/**
 * The request as consistent hashing reads it: getters on a class (one allocation, no
 * closures), so only the source the upstream names is computed.
 */
class HashInput implements HashRequest {
  readonly #ctx: RequestContext
  constructor (ctx: RequestContext) { this.#ctx = ctx }
  get headers (): HashRequest['headers'] { return this.#ctx.headers }
  get clientIp (): string { return this.#ctx.clientIp }
  get consumerId (): string | undefined { return this.#ctx.consumer?.id }
  get credentialId (): string | undefined { return this.#ctx.credential?.id as string | undefined }
  get path (): string { return this.#ctx.normalizedPath }
  get query (): HashRequest['query'] { return this.#ctx.query }
  get uriCaptures (): HashRequest['uriCaptures'] { return this.#ctx.match?.captures }
}
