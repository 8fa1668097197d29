// request-termination's access phase (kong/plugins/request-termination/handler.lua): answers
// every request (or those carrying the trigger) itself; the upstream is never called.

import { hostname } from 'node:os'
import type { Kong } from '@tollgate/sdk'
import type { RequestTerminationConfig } from './schema.js'

/** Kong's default messages; other statuses get none (an empty body). */
const DEFAULT_MESSAGE: Record<number, string> = {
  401: 'Unauthorized',
  404: 'Not found',
  405: 'Method not allowed',
  500: 'An unexpected error occurred',
  502: 'Bad Gateway',
  503: 'Service unavailable',
}

export function access (kong: Kong, conf: RequestTerminationConfig): void {
  const status = conf.status_code
  if (conf.trigger !== null) {
    // Present with any value, even empty, as Lua's truthiness has it; the header is
    // looked up as ngx's header table does (any case, '_' also finding '-').
    const triggered = kong.request.getHeader(conf.trigger) !== undefined || kong.request.getQueryArg(conf.trigger) !== undefined
    if (!triggered) return
  }
  if (conf.echo) {
    const [body] = kong.request.getBody()
    kong.response.exit(status, {
      message: conf.message ?? DEFAULT_MESSAGE[status],
      kong: { node_id: kong.node.getId(), worker_pid: process.pid, hostname: hostname() },
      request: {
        scheme: kong.request.getScheme(),
        host: kong.request.getHost(),
        port: kong.request.getPort(),
        headers: kong.request.getHeaders(),
        query: kong.request.getQuery(),
        body,
        raw_body: kong.request.getRawBody().toString('utf8'),
        method: kong.request.getMethod(),
        path: kong.request.getPath(),
      },
      matched_route: kong.router.getRoute(),
      matched_service: kong.router.getService(),
    })
    return
  }
  if (conf.body !== null) {
    kong.response.exit(status, conf.body, conf.content_type === null ? undefined : { 'Content-Type': conf.content_type })
    return
  }
  const message = conf.message ?? DEFAULT_MESSAGE[status]
  kong.response.exit(status, message === undefined ? undefined : { message })
}
