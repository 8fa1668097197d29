// What the gateway publishes for metrics and logging plugins, on node:diagnostics_channel,
// as undici does (lib/core/diagnostics.js: named channels made once, a message object per
// event). A plugin subscribes with `subscribe('tollgate:request:end', fn)` from
// node:diagnostics_channel; nothing here knows who listens.
//
// The channels are per thread: subscribe from a plugin that runs in-process (an isolated
// plugin's worker threads see none of them). Each proxy process publishes its own events.
//
// On the request path a message is built only when its channel has subscribers: with none,
// the cost is one property read per request.

import { channel } from 'node:diagnostics_channel'
import type { RequestContext, ResponseSource } from './runtime/context.js'

/** The channels, by what they report. Their names are the public contract. */
export const channels = {
  /** A request is over: the response was sent, or the client went away (RequestEnd). */
  requestEnd: channel('tollgate:request:end'),
  /** The upstream could not be reached or failed before answering, after any retries (UpstreamError). */
  upstreamError: channel('tollgate:upstream:error'),
  /** This process now proxies with a new configuration version (ConfigChange). */
  configChange: channel('tollgate:config:change'),
} as const

/** An entity a request matched, by id and name (what Kong's prometheus labels use). */
export interface Named {
  id: string
  name: string | null
}

/** `tollgate:request:end`: the public facts of a request, as Kong's log serializer gives them. */
export interface RequestEnd {
  /** The request id (X-Kong-Request-Id). */
  id: string
  method: string
  route: Named | null
  service: Named | null
  consumer: { id: string, username: string | null } | null
  /** The status sent to the client; 0 when the client left before a response was begun. */
  status: number
  /** Who answered: the upstream, a plugin's exit, or Tollgate's error (Kong's kong.response.get_source). */
  source: ResponseSource
  /** false when the client went away before the whole response was written. */
  completed: boolean
  clientIp: string
  /** Milliseconds, as Kong's serializer names them. */
  latencies: {
    /** Arrival to the end of the response. */
    request: number
    /** Time in the gateway before the upstream was called (all of it when it was not). */
    kong: number
    /** Upstream call to its response head (or its failure); null when not proxied. */
    upstream: number | null
  }
  bytes: {
    /** The request body's size (Content-Length, or as buffered); null when streamed without a length. */
    request: number | null
    /** Bytes written to the client's connection for this response, head included. */
    response: number
  }
}

/** `tollgate:upstream:error`. */
export interface UpstreamError {
  /** The request id. */
  id: string
  route: Named | null
  service: Named | null
  /** Where the request was sent. */
  target: { host: string, port: number }
  error: Error
  /** The status Tollgate answers with (502, 503 or 504). */
  status: number
}

/** `tollgate:config:change`. */
export interface ConfigChange {
  version: number
}

const named = (e: { id: string, name?: string | null } | undefined): Named | null => e === undefined ? null : { id: e.id, name: e.name ?? null }

/**
 * Arranges `tollgate:request:end` for a request, at the point the log phase is scheduled
 * (once per request). Call before the response is written: bytes are counted from here.
 */
export function watchRequest (ctx: RequestContext): void {
  if (!channels.requestEnd.hasSubscribers) return
  const socket = ctx.req.socket
  const before = socket?.bytesWritten ?? 0
  ctx.res.once('close', () => {
    if (!channels.requestEnd.hasSubscribers) return
    const end = performance.now()
    const length = ctx.req.headers['content-length']
    const consumer = ctx.consumer
    channels.requestEnd.publish({
      id: ctx.id,
      method: ctx.req.method ?? '',
      route: named(ctx.route),
      service: named(ctx.service),
      consumer: consumer === undefined ? null : { id: consumer.id, username: consumer.username ?? null },
      status: ctx.status,
      source: ctx.source,
      completed: ctx.res.writableFinished,
      clientIp: ctx.clientIp,
      latencies: {
        request: end - ctx.started,
        kong: (ctx.upstreamStarted ?? end) - ctx.started,
        upstream: ctx.upstreamStarted === undefined ? null : (ctx.upstreamResponded ?? end) - ctx.upstreamStarted,
      },
      bytes: {
        request: length !== undefined ? Number(length) : ctx.body !== undefined ? ctx.body.length : ctx.req.headers['transfer-encoding'] === undefined ? 0 : null,
        response: (socket?.bytesWritten ?? before) - before,
      },
    } satisfies RequestEnd)
  })
}

/** Publishes `tollgate:upstream:error`; call where the failure becomes the client's answer (after upstreamFailed). */
export function upstreamErrored (ctx: RequestContext, err: unknown): void {
  if (!channels.upstreamError.hasSubscribers) return
  const service = ctx.service
  channels.upstreamError.publish({
    id: ctx.id,
    route: named(ctx.route),
    service: named(service),
    target: { host: service?.host ?? '', port: service?.port ?? 0 },
    error: err instanceof Error ? err : new Error(String(err)),
    status: ctx.status,
  } satisfies UpstreamError)
}

/** Publishes `tollgate:config:change` once per version this process moves to. */
export function configChanged (): (version: number) => void {
  let last = -1
  return (version) => {
    if (version === last) return
    last = version
    if (channels.configChange.hasSubscribers) channels.configChange.publish({ version } satisfies ConfigChange)
  }
}
