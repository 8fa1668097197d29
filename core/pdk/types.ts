// The PDK as plugins see it: interfaces only, the contract @tollgate/sdk publishes. The
// classes beside this file implement them; plugins (bundled ones too) type against these,
// so the implementation can change without changing what plugin authors compile against.
// fastify keeps its public surface apart from lib/ the same way (types/*.d.ts). Each
// method's allowed phases are in its implementation's doc comment and checked on every
// call (Kong's pdk/private/phases.lua).

import type { Consumer } from '../store/index.js'
import type { Entity } from '../store/store.js'
import type { KongDb } from './db.js'
import type { KongLog } from './log.js'
import type { KongNode } from './node.js'
import type { KongRouter } from './router.js'
import type { SharedDict, SharedValue } from '../shm/index.js'

// The namespaces made of closures declare their interfaces beside their code, documented
// there; the classes' interfaces are here.
export type { Entity, KongDb, KongLog, KongNode, KongRouter, SharedDict, SharedValue }

/** Header values by lower-case name; a repeated header is an array. */
export type PdkHeaders = Record<string, string | string[]>

/** A parsed query: repeated names become arrays, a bare name is `true`. */
export type PdkQuery = Record<string, string | true | (string | true)[]>

/** kong.request: the client's request as it arrived. */
export interface KongRequest {
  getScheme(): string
  getHost(): string
  getPort(): number
  getForwardedScheme(): string
  getForwardedHost(): string
  getForwardedPort(): number
  getForwardedPath(): string
  getForwardedPrefix(): string | undefined
  getHttpVersion(): number
  getMethod(): string
  getPath(): string
  getRawPath(): string
  getPathWithQuery(): string
  getRawQuery(): string
  getQueryArg(name: string): string | true | undefined
  getQuery(): PdkQuery
  getHeader(name: string): string | undefined
  getHeaders(): PdkHeaders
  getRawBody(): Buffer
  /** [body, error, mime], as Kong's get_body. */
  getBody(mime?: string): [Record<string, unknown> | unknown[] | undefined, string | undefined, string | undefined]
  getStartTime(): number
  getUriCaptures(): { unnamed: string[], named: Record<string, string> }
}

/** kong.response: the response the client will get. */
export interface KongResponse {
  getStatus(): number
  getHeader(name: string): string | undefined
  getHeaders(): PdkHeaders
  /** 'service' when proxied, 'exit' when a plugin answered, 'error' after an error. */
  getSource(): string
  setStatus(status: number): void
  setHeader(name: string, value: unknown): void
  addHeader(name: string, value: unknown): void
  clearHeader(name: string): void
  setHeaders(headers: Record<string, unknown>): void
  getRawBody(): Buffer | undefined
  setRawBody(body: string | Buffer): void
  /** Answers the request instead of proxying it; use as `return kong.response.exit(...)`. */
  exit(status: number, body?: unknown, headers?: Record<string, unknown>): void
  /** Answers with Kong's error format (JSON, text, HTML or XML by Accept). */
  error(status: number, message?: string, headers?: Record<string, unknown>): void
}

/** kong.client: who is calling. */
export interface KongClient {
  getIp(): string
  getForwardedIp(): string
  getPort(): number
  getForwardedPort(): number
  getProtocol(): string
  getConsumer(): Consumer | undefined
  getCredential(): Entity | undefined
  authenticate(consumer: Consumer | undefined | null, credential?: Entity | null): void
  loadConsumer(idOrUsername: string, byUsername?: boolean): Consumer | undefined
}

/** kong.service.request: the request the upstream will get. */
export interface KongServiceRequest {
  setScheme(scheme: 'http' | 'https'): void
  setPath(path: string): void
  setRawQuery(query: string): void
  setQuery(args: PdkQuery): void
  clearQueryArg(name: string): void
  setMethod(method: string): void
  setHeader(name: string, value: unknown): void
  addHeader(name: string, value: unknown): void
  clearHeader(name: string): void
  setHeaders(headers: Record<string, unknown>): void
  setRawBody(body: string | Buffer): void
  setBody(body: Record<string, unknown> | unknown[], mime?: string): void
}

/**
 * kong.service: the upstream request and response, and this request's TLS settings towards
 * an https upstream (Kong's set_tls_*, with PEM text for Kong's parsed objects).
 */
export interface KongService {
  readonly request: KongServiceRequest
  readonly response: KongServiceResponse
  setTlsVerify(on: boolean): void
  setTlsVerifyDepth(depth: number): void
  setTlsVerifyStore(cas: string | string[]): void
  setTlsCertKey(chain: string, key: string): void
}

/** kong.service.response: the upstream's answer as it arrived. */
export interface KongServiceResponse {
  getStatus(): number | undefined
  getHeaders(): PdkHeaders
  getHeader(name: string): string | undefined
  getRawBody(): Buffer | undefined
}

/** The `kong` object a plugin handler gets: one per plugin per request. */
/** kong.plugin (Kong 3.x): the plugin instance the handler runs for. */
export interface KongPlugin {
  /**
   * The id of the plugin entity (its config) this handler runs with: Kong's
   * kong.plugin.get_id(). Counters and caches kept per instance key on it.
   * @phases rewrite, access, header_filter, body_filter, log
   */
  getId (): string
  /**
   * This plugin's body_filter has nothing to do for this request (Tollgate's; Kong has no
   * equivalent, since nginx streams to body_filter anyway). When no other plugin's
   * body_filter runs either, the response is streamed to the client instead of being held
   * whole: e.g. proxy-cache after deciding in header_filter that a response is not stored.
   * @phases rewrite, access, header_filter
   */
  skipBodyFilter (): void
}

export interface Kong {
  readonly request: KongRequest
  readonly response: KongResponse
  readonly client: KongClient
  readonly service: KongService
  readonly log: KongLog
  readonly ctx: { shared: Record<string, unknown>, plugin: Record<string, unknown> }
  readonly router: KongRouter
  readonly db: KongDb
  readonly node: KongNode
  readonly plugin: KongPlugin
  /** The node's shared dictionary `name` (Kong plugins' ngx.shared[name]). */
  shm (name: string): SharedDict
}
