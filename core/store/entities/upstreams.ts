import type { Static } from 'typebox'
import { Errors, type FieldErrors } from '../../errors.js'
import { checkCookieName, checkHeaderName, checkHostWithOptionalPort, checkSni, checkUpstreamName } from '../address.js'
import { checkPath } from '../checks.js'
import type { EntityDef } from '../entity.js'
import { runEntityChecks, type EntityCheck } from '../entity-checks.js'
import { Type, autoId, foreign, nullable, oneOf, tags, timestamp, type FieldCheck } from '../schema.js'

export const ALGORITHMS = ['consistent-hashing', 'least-connections', 'round-robin', 'latency'] as const
export const HASH_ON = ['none', 'consumer', 'ip', 'header', 'cookie', 'path', 'query_arg', 'uri_capture'] as const
export const HEALTHCHECK_TYPES = ['tcp', 'http', 'https', 'grpc', 'grpcs'] as const

// Kong: the `healthchecks` record of kong/db/schema/entities/upstreams.lua, with its
// defaults (every check off) and ranges: seconds 0..65535 (fractions allowed), counters
// 0..255, concurrency 1..2^31, status codes 100..999.
const seconds = (value: number, description: string) => Type.Number({ minimum: 0, maximum: 65535, default: value, description })
const counter = (description: string) => Type.Integer({ minimum: 0, maximum: 255, default: 0, description })
const statuses = (value: number[], description: string) =>
  Type.Array(Type.Integer({ minimum: 100, maximum: 999 }), { default: value, description })
const checkType = (description: string) => oneOf(HEALTHCHECK_TYPES, { default: 'http', description })
const path = (opts: Record<string, unknown>) => Type.String({ check: checkPath as FieldCheck, ...opts })

/** `headers` of active probes: Kong's typedefs.headers, a map of header names to values. */
function checkHeaderNames (headers: Record<string, unknown>): string | undefined {
  for (const name of Object.keys(headers)) {
    const err = checkHeaderName(name)
    if (err !== undefined) return err
  }
  return undefined
}

const ActiveChecks = Type.Object({
  type: checkType('Whether to probe over HTTP(S), gRPC(S) or only connect over TCP'),
  timeout: seconds(1, 'Seconds a probe may take'),
  concurrency: Type.Integer({ minimum: 1, maximum: 2 ** 31, default: 10, description: 'Targets probed at the same time' }),
  http_path: path({ default: '/', description: 'Path of the GET request probes send' }),
  https_sni: nullable(Type.String({ check: checkSni as FieldCheck }), { description: 'SNI of https probes' }),
  https_verify_certificate: Type.Boolean({ default: true, description: 'Verify the target certificate in https probes' }),
  headers: nullable(Type.Record(Type.String(), Type.Array(Type.String()), { kind: 'map', check: checkHeaderNames as FieldCheck }), {
    description: 'Headers probes send',
  }),
  healthy: Type.Object({
    interval: seconds(0, 'Seconds between probes of healthy targets (0: none)'),
    http_statuses: statuses([200, 302], 'Probe statuses counted as successes'),
    successes: counter('Successes that make a target healthy (0: off)'),
  }, { additionalProperties: false }),
  unhealthy: Type.Object({
    interval: seconds(0, 'Seconds between probes of unhealthy targets (0: none)'),
    http_statuses: statuses([429, 404, 500, 501, 502, 503, 504, 505], 'Probe statuses counted as failures'),
    tcp_failures: counter('TCP failures that make a target unhealthy (0: off)'),
    timeouts: counter('Probe timeouts that make a target unhealthy (0: off)'),
    http_failures: counter('HTTP failures that make a target unhealthy (0: off)'),
  }, { additionalProperties: false }),
}, { additionalProperties: false })

const PassiveChecks = Type.Object({
  type: checkType('Whether to judge proxied traffic by HTTP(S) or gRPC(S) status, or TCP only'),
  healthy: Type.Object({
    http_statuses: statuses([200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308],
      'Proxied statuses counted as successes'),
    successes: counter('Successes that make a target healthy (0: off)'),
  }, { additionalProperties: false }),
  unhealthy: Type.Object({
    http_statuses: statuses([429, 500, 503], 'Proxied statuses counted as failures'),
    tcp_failures: counter('TCP failures that make a target unhealthy (0: off)'),
    timeouts: counter('Timeouts that make a target unhealthy (0: off)'),
    http_failures: counter('HTTP failures that make a target unhealthy (0: off)'),
  }, { additionalProperties: false }),
}, { additionalProperties: false })

export const HealthchecksSchema = Type.Object({
  active: ActiveChecks,
  passive: PassiveChecks,
  threshold: Type.Number({ minimum: 0, maximum: 100, default: 0, description: 'Percentage of healthy weight below which the upstream is unhealthy' }),
}, { additionalProperties: false })

const hashParam = (description: string) => nullable(Type.String({ minLength: 1 }), { description })

// Kong: kong/db/schema/entities/upstreams.lua (3.2), fields in Kong's order.
export const UpstreamSchema = Type.Object({
  id: autoId(),
  created_at: timestamp('Unix epoch when the upstream was created'),
  name: Type.String({ unique: true, check: checkUpstreamName as FieldCheck, description: 'Hostname services name as their host to be balanced over this upstream' }),
  algorithm: oneOf(ALGORITHMS, { default: 'round-robin', description: 'Load-balancing algorithm' }),
  hash_on: oneOf(HASH_ON, { default: 'none', description: 'What consistent hashing hashes' }),
  hash_fallback: oneOf(HASH_ON, { default: 'none', description: 'What to hash when hash_on gives nothing' }),
  hash_on_header: nullable(Type.String({ check: checkHeaderName as FieldCheck }), { description: 'Header hashed when hash_on is header' }),
  hash_fallback_header: nullable(Type.String({ check: checkHeaderName as FieldCheck }), { description: 'Header hashed when hash_fallback is header' }),
  hash_on_cookie: nullable(Type.String({ check: checkCookieName as FieldCheck }), { description: 'Cookie hashed when hashing on cookie' }),
  hash_on_cookie_path: path({ default: '/', description: 'Path of the cookie Kong sets when hashing on cookie' }),
  hash_on_query_arg: hashParam('Query argument hashed when hash_on is query_arg'),
  hash_fallback_query_arg: hashParam('Query argument hashed when hash_fallback is query_arg'),
  hash_on_uri_capture: hashParam('Route path capture hashed when hash_on is uri_capture'),
  hash_fallback_uri_capture: hashParam('Route path capture hashed when hash_fallback is uri_capture'),
  slots: Type.Integer({ minimum: 10, maximum: 65536, default: 10000, description: 'Slots on the consistent-hashing ring' }),
  healthchecks: HealthchecksSchema,
  tags: tags(),
  host_header: nullable(Type.String({ check: checkHostWithOptionalPort as FieldCheck }), { description: 'Host header sent to targets (and in active probes)' }),
  client_certificate: foreign('certificates', { description: 'Certificate presented to targets' }),
  use_srv_name: Type.Boolean({ default: false, description: 'With SRV targets, send the SRV name as Host and SNI' }),
}, { additionalProperties: false })

export type Upstream = Static<typeof UpstreamSchema>

const required = (ifField: string, value: string, thenField: string): EntityCheck =>
  ({ conditional: { if_field: ifField, if_match: { match: `^${value}$` }, then_field: thenField, then_match: { required: true } } })
const fallbackIn = (hashOn: string, allowed: string[]): EntityCheck =>
  ({ conditional: { if_field: 'hash_on', if_match: { match: `^${hashOn}$` }, then_field: 'hash_fallback', then_match: { one_of: allowed } } })

// Kong's entity_checks, in Kong's order (the order of the `@entity` messages).
const CHECKS: EntityCheck[] = [
  required('hash_on', 'header', 'hash_on_header'),
  required('hash_fallback', 'header', 'hash_fallback_header'),
  required('hash_on', 'cookie', 'hash_on_cookie'),
  required('hash_fallback', 'cookie', 'hash_on_cookie'),
  fallbackIn('none', ['none']),
  fallbackIn('cookie', ['none']),
  // hash_fallback may not repeat hash_on, except header/query_arg/uri_capture by another name.
  fallbackIn('consumer', ['none', 'ip', 'header', 'cookie', 'path', 'query_arg', 'uri_capture']),
  fallbackIn('ip', ['none', 'consumer', 'header', 'cookie', 'path', 'query_arg', 'uri_capture']),
  fallbackIn('path', ['none', 'consumer', 'header', 'cookie', 'query_arg', 'ip', 'uri_capture']),
  { distinct: ['hash_on_header', 'hash_fallback_header'] },
  required('hash_on', 'query_arg', 'hash_on_query_arg'),
  required('hash_fallback', 'query_arg', 'hash_fallback_query_arg'),
  { distinct: ['hash_on_query_arg', 'hash_fallback_query_arg'] },
  required('hash_on', 'uri_capture', 'hash_on_uri_capture'),
  required('hash_fallback', 'uri_capture', 'hash_fallback_uri_capture'),
  { distinct: ['hash_on_uri_capture', 'hash_fallback_uri_capture'] },
]

/**
 * Kong's shorthand_fields of upstreams, applied to input as given (a PATCH's own fields,
 * before they are merged over the row: kong/db/dao/init.lua check_update runs
 * process_auto_fields on the patch alone). In order: `algorithm` least-connections or
 * latency clears `hash_on`; then a `hash_on` present in the input sets the algorithm:
 * none (or null, which becomes none without touching the algorithm) → round-robin, any
 * other value → consistent-hashing. So `{"algorithm":"consistent-hashing","hash_on":"none"}`
 * ends up round-robin, as in Kong, and a PATCH of `slots` alone changes no algorithm.
 */
function shorthands (input: Record<string, unknown>): Record<string, unknown> {
  const out = { ...input }
  const errors: FieldErrors = {}
  const { algorithm } = out
  if (algorithm !== undefined) {
    if (algorithm !== null && typeof algorithm !== 'string') errors.algorithm = 'expected a string'
    else if (algorithm === 'least-connections' || algorithm === 'latency') out.hash_on = null
  }
  const hashOn = out.hash_on
  if (hashOn !== undefined) {
    if (hashOn !== null && typeof hashOn !== 'string') errors.hash_on = 'expected a string'
    else if (hashOn === null) out.hash_on = 'none'
    else out.algorithm = hashOn === 'none' ? 'round-robin' : 'consistent-hashing'
  }
  if (Object.keys(errors).length > 0) throw Errors.schemaViolation(errors)
  return out
}

export const upstreams: EntityDef = {
  name: 'upstreams',
  schema: UpstreamSchema,
  endpointKey: 'name',
  rewrite: shorthands,
  entityChecks: CHECKS,
  checksOnInvalid: true,
  checks: (u) => runEntityChecks(CHECKS, UpstreamSchema, u),
}
