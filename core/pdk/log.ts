// kong.log: log lines tagged with the plugin and request, and the request summary that
// logging plugins send (Kong's kong/pdk/log.lua).

import { format } from 'node:util'
import type { Logger } from '../log.js'
import type { RequestContext } from '../runtime/context.js'
import { ALL, Phase } from '../runtime/phases.js'
import { check } from './private/checks.js'

export interface KongLog {
  (...args: unknown[]): void
  debug(...args: unknown[]): void
  info(...args: unknown[]): void
  notice(...args: unknown[]): void
  warn(...args: unknown[]): void
  err(...args: unknown[]): void
  crit(...args: unknown[]): void
  alert(...args: unknown[]): void
  emerg(...args: unknown[]): void
  /** Adds a field to what serialize() returns (dotted keys reach nested fields). */
  setSerializeValue(key: string, value: unknown): void
  /** The request summary loggers send (kong.log.serialize). @phases log */
  serialize(): Record<string, unknown>
}

export function makeLog (ctx: RequestContext, logger: Logger, plugin: string): KongLog {
  const line = (level: 'debug' | 'info' | 'warn' | 'error' | 'fatal') => (...args: unknown[]) => {
    logger[level]({ plugin, request_id: ctx.id }, format(...args))
  }
  const log = line('info') as KongLog
  log.debug = line('debug')
  log.info = line('info')
  log.notice = line('info')
  log.warn = line('warn')
  log.err = line('error')
  log.crit = line('fatal')
  log.alert = line('fatal')
  log.emerg = line('fatal')
  log.setSerializeValue = (key: string, value: unknown) => {
    check(ctx, ALL, 'kong.log.setSerializeValue')
    ctx.serializeExtra[key] = value
  }
  log.serialize = () => {
    check(ctx, Phase.log, 'kong.log.serialize')
    return serialize(ctx)
  }
  return log
}

const REDACTED = new Set(['authorization', 'proxy-authorization'])

export function serialize (ctx: RequestContext): Record<string, unknown> {
  const req = ctx.req
  const headers: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(req.headersDistinct)) {
    if (v !== undefined) headers[k] = REDACTED.has(k) ? 'REDACTED' : v.length === 1 ? v[0] : v
  }
  const now = performance.now()
  const out: Record<string, unknown> = {
    request: {
      id: ctx.id,
      uri: req.url,
      url: `http://${req.headers.host ?? ''}${req.url ?? ''}`,
      querystring: ctx.query,
      method: req.method,
      headers,
      size: Number(req.headers['content-length'] ?? 0),
    },
    upstream_uri: ctx.upstream === undefined ? undefined : `${ctx.upstream.path}${ctx.upstream.query === undefined ? '' : `?${ctx.upstream.query}`}`,
    upstream_status: ctx.serviceStatus,
    response: { status: ctx.status, headers: { ...ctx.responseHeaders }, size: ctx.res.getHeader('content-length') ?? undefined },
    latencies: {
      kong: Math.round((ctx.upstreamStarted ?? now) - ctx.started),
      proxy: ctx.upstreamStarted === undefined || ctx.upstreamResponded === undefined ? undefined : Math.round(ctx.upstreamResponded - ctx.upstreamStarted),
      request: Math.round(now - ctx.started),
    },
    authenticated_entity: ctx.credential === undefined ? undefined : { id: ctx.credential.id },
    route: ctx.route,
    service: ctx.service,
    consumer: ctx.consumer,
    client_ip: ctx.clientIp,
    started_at: ctx.startedAt,
    source: ctx.source,
  }
  for (const [key, value] of Object.entries(ctx.serializeExtra)) {
    const path = key.split('.')
    let node = out
    for (const p of path.slice(0, -1)) {
      if (typeof node[p] !== 'object' || node[p] === null) node[p] = {}
      node = node[p] as Record<string, unknown>
    }
    node[path[path.length - 1] as string] = value
  }
  return out
}
