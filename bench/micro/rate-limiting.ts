// rate-limiting's access handler with the local policy, as the proxy runs it: a real
// request context, the real PDK and the node's shared dictionary (in memory, as on a node
// of one process). What one request costs the handler, its counters and its headers.
// Run: npm run bench:micro -- rate-limiting
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Kong, type PdkEnv } from '../../core/pdk/index.js'
import { RequestContext } from '../../core/runtime/context.js'
import { Phase } from '../../core/runtime/phases.js'
import { RATE_LIMITING_COUNTERS_SIZE } from '../../core/gateway.js'
import { SharedMemory } from '../../core/shm/index.js'
import { rateLimiting } from '../../plugins/rate-limiting/index.js'
import type { RateLimitingConfig } from '../../plugins/rate-limiting/schema.js'
import { compare, table } from './measure.js'

const INSTANCE = '3b5a3f0e-6d7b-4a8e-9b0c-1d2e3f4a5b6c'
// The counters dictionary bounded as the gateway declares it.
const env = { shm: new SharedMemory({ sizes: { kong_rate_limiting_counters: RATE_LIMITING_COUNTERS_SIZE } }), log: console, nodeId: 'bench', db: undefined } as unknown as PdkEnv

function config (limits: Partial<RateLimitingConfig>, extra: Partial<RateLimitingConfig> = {}): RateLimitingConfig {
  const base = { second: null, minute: null, hour: null, day: null, month: null, year: null, limit_by: 'ip', header_name: null, path: null, policy: 'local', fault_tolerant: true, hide_client_headers: false, error_code: 429, error_message: 'API rate limit exceeded' }
  return { ...base, ...limits, ...extra } as unknown as RateLimitingConfig
}

function caseFor (name: string, conf: RateLimitingConfig) {
  const req = { url: '/bench', method: 'GET', headers: { host: 'bench' }, httpVersion: '1.1', socket: { remoteAddress: '127.0.0.1', remotePort: 40000, localPort: 8000 } } as unknown as IncomingMessage
  const res = { headersSent: false } as unknown as ServerResponse
  void rateLimiting.configure?.([{ id: INSTANCE, route: null, service: null, consumer: null, config: conf }])
  return {
    name,
    fn: () => {
      // One context and one `kong` per request, as the proxy makes them.
      const ctx = new RequestContext(req, res, 'id')
      ctx.phase = Phase.access
      void rateLimiting.access?.(new Kong(ctx, env, 'rate-limiting', INSTANCE), conf)
      return ctx.responseHeaders
    },
  }
}

const req = { url: '/bench', method: 'GET', headers: { host: 'bench' }, socket: {} } as unknown as IncomingMessage
const cases = [
  { name: 'a context and kong, no handler', fn: () => new Kong(new RequestContext(req, {} as ServerResponse, 'id'), env, 'rate-limiting', INSTANCE) },
  caseFor('year = 10^12 (the bench contestant)', config({ year: 1e12 })),
  caseFor('second + minute + hour', config({ second: 1e9, minute: 1e10, hour: 1e11 })),
  caseFor('year, hide_client_headers', config({ year: 1e12 }, { hide_client_headers: true })),
]
console.log(table(compare(cases, 300_000), 'calls/s'))
