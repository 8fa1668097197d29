import { Type, nullable, oneOf, type FieldCheck, type Static } from '@tollgate/sdk'

export const PERIODS = ['second', 'minute', 'hour', 'day', 'month', 'year'] as const
export type Period = typeof PERIODS[number]

const positive: FieldCheck = ((v: number) => (v > 0 ? undefined : 'value must be greater than 0')) as FieldCheck
const headerName: FieldCheck = ((v: string) => (/^[a-zA-Z0-9\-_]+$/.test(v) ? undefined : `bad header name '${v}', allowed characters are A-Z, a-z, 0-9, '_', and '-'`)) as FieldCheck
const path: FieldCheck = ((v: string) => (v.startsWith('/') ? undefined : 'should start with: /')) as FieldCheck
const limit = (period: Period) => nullable(Type.Number({ check: positive }), { description: `Requests allowed per ${period}` })

// Kong 3.2: kong/plugins/rate-limiting/schema.lua, fields in Kong's order.
export const RateLimitingSchema = Type.Object({
  second: limit('second'),
  minute: limit('minute'),
  hour: limit('hour'),
  day: limit('day'),
  month: limit('month'),
  year: limit('year'),
  limit_by: oneOf(['consumer', 'credential', 'ip', 'service', 'header', 'path'] as const, { default: 'consumer', description: 'Who a limit is counted for' }),
  header_name: nullable(Type.String({ check: headerName }), { description: 'The header whose value is counted for, with limit_by = header' }),
  path: nullable(Type.String({ check: path }), { description: 'The path counted for, with limit_by = path' }),
  // Kong refuses `cluster` in DB-less mode (and on a control plane); Tollgate's DB-less
  // node still has its LMDB store, where such counters are kept for the node.
  policy: oneOf(['local', 'cluster', 'redis'] as const, {
    default: 'local',
    description: "Where counters live: 'local' (this node's shared memory), 'cluster' (the store: every process of the node, kept across restarts; with database = postgres, every node), 'redis' (a Redis server shared by nodes)",
  }),
  fault_tolerant: Type.Boolean({ default: true, description: 'Proxy requests when the counters cannot be read (false: answer 500)' }),
  redis_host: nullable(Type.String(), { description: 'Redis host, with policy = redis' }),
  redis_port: Type.Integer({ minimum: 0, maximum: 65535, default: 6379, description: 'Redis port' }),
  redis_password: nullable(Type.String({ minLength: 0 }), { description: 'Redis password' }),
  redis_username: nullable(Type.String(), { description: 'Redis ACL user name' }),
  redis_ssl: Type.Boolean({ default: false, description: 'TLS to Redis' }),
  redis_ssl_verify: Type.Boolean({ default: false, description: "Verify Redis's certificate" }),
  redis_server_name: nullable(Type.String(), { description: 'SNI sent to Redis' }),
  redis_timeout: Type.Number({ default: 2000, description: 'Redis timeout, ms' }),
  redis_database: Type.Integer({ default: 0, description: 'Redis database number' }),
  // Kong 3.6's record (kong/tools/redis/schema.lua). Kong 3.6 turns the flat names into it;
  // Tollgate keeps both as given and reads them through redisOptions (a flat field set to
  // other than its default wins), so a Kong 3.2 client sees its fields as it wrote them.
  redis: Type.Object({
    host: nullable(Type.String(), { description: 'Redis host, with policy = redis' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 6379, description: 'Redis port' }),
    timeout: Type.Integer({ minimum: 0, maximum: 2147483646, default: 2000, description: 'Redis connect and command timeout, ms' }),
    username: nullable(Type.String(), { description: 'Redis ACL user name' }),
    password: nullable(Type.String({ minLength: 0 }), { description: 'Redis password' }),
    database: Type.Integer({ default: 0, description: 'Redis database number' }),
    ssl: Type.Boolean({ default: false, description: 'TLS to Redis' }),
    ssl_verify: Type.Boolean({ default: false, description: "Verify Redis's certificate" }),
    server_name: nullable(Type.String(), { description: 'SNI sent to Redis' }),
  }, { additionalProperties: false, description: 'Redis connection (Kong 3.6+); the flat redis_* fields are the 3.2 spelling' }),
  hide_client_headers: Type.Boolean({ default: false, description: 'Send no rate-limit headers' }),
  error_code: Type.Number({ default: 429, check: positive, description: 'Status of a refused request' }),
  error_message: Type.String({ default: 'API rate limit exceeded', description: 'Message of a refused request' }),
  sync_rate: Type.Number({ default: -1, description: 'With policy = redis: seconds between pushes of locally counted requests to Redis; -1: every request counts in Redis' }),
}, { additionalProperties: false })

export type RateLimitingConfig = Static<typeof RateLimitingSchema>

/** Kong's SYNC_RATE_REALTIME: every request counts in Redis itself. */
export const SYNC_RATE_REALTIME = -1

/** One Redis connection's settings, whichever spelling the config used. */
export interface RedisOptions {
  host: string | null
  port: number
  timeout: number
  username: string | null
  password: string | null
  database: number
  ssl: boolean
  ssl_verify: boolean
  server_name: string | null
}

/**
 * The Redis settings of a config. Kong 3.2 has only the flat redis_* fields, Kong 3.6 only
 * the `redis` record (the flat names are write-only aliases there). Both are stored as
 * given here, so each field is taken from the flat name when that is set to something
 * other than its default, else from the record: a 3.2 client that sets redis_host gets it,
 * a 3.6 client that sets redis.host gets that, and one that sets both differently gets
 * the flat value.
 */
export function redisOptions (conf: RateLimitingConfig): RedisOptions {
  const r = conf.redis
  return {
    host: conf.redis_host ?? r.host,
    port: conf.redis_port !== 6379 ? conf.redis_port : r.port,
    timeout: conf.redis_timeout !== 2000 ? conf.redis_timeout : r.timeout,
    username: conf.redis_username ?? r.username,
    password: conf.redis_password ?? r.password,
    database: conf.redis_database !== 0 ? conf.redis_database : r.database,
    ssl: conf.redis_ssl || r.ssl,
    ssl_verify: conf.redis_ssl_verify || r.ssl_verify,
    server_name: conf.redis_server_name ?? r.server_name,
  }
}

/** Lua's %.1f, as Kong's messages print limits. */
const oneDecimal = (n: number): string => n.toFixed(1)

/**
 * Kong's entity checks (at_least_one_of the periods; conditionals for header_name, path and
 * redis_host) and the config record's custom_validator (a longer period may not allow
 * fewer requests than a shorter one).
 */
export function checkConfig (conf: RateLimitingConfig): { '@entity'?: string[], config?: string | Record<string, string> } | undefined {
  if (PERIODS.every((p) => conf[p] === null)) {
    return { '@entity': [`at least one of these fields must be non-empty: ${PERIODS.map((p) => `'config.${p}'`).join(', ')}`] }
  }
  const required = (ifField: string, field: string): { '@entity': string[], config: Record<string, string> } =>
    ({ '@entity': [`failed conditional validation given value of field '${ifField}'`], config: { [field]: 'required field missing' } })
  // Kong 3.2 names redis_host; with neither spelling set, so do we.
  if (conf.policy === 'redis' && conf.redis_host === null && conf.redis.host === null) return required('config.policy', 'redis_host')
  if (conf.limit_by === 'header' && conf.header_name === null) return required('config.limit_by', 'header_name')
  if (conf.limit_by === 'path' && conf.path === null) return required('config.limit_by', 'path')
  // Kong's validate_periods_order: every pair, shorter period first.
  for (let i = 0; i < PERIODS.length; i++) {
    const shorter = PERIODS[i] as Period
    const a = conf[shorter]
    if (a === null) continue
    for (let j = i + 1; j < PERIODS.length; j++) {
      const longer = PERIODS[j] as Period
      const b = conf[longer]
      if (b !== null && b < a) return { config: `The limit for ${longer}(${oneDecimal(b)}) cannot be lower than the limit for ${shorter}(${oneDecimal(a)})` }
    }
  }
  // Kong 3.4+, in the same custom validator, after the periods.
  if (conf.sync_rate !== SYNC_RATE_REALTIME) {
    if (conf.policy !== 'redis') return { config: 'sync_rate can only be used with the redis policy' }
    if (conf.sync_rate < 0.02) return { config: 'sync_rate must be greater than 0.02, or -1 to disable' }
  }
  return undefined
}
