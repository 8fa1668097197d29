import { Type, nullable, refuseLuaFields, oneOf, type FieldCheck, type Static } from '@tollgate/sdk'

// Kong 3.2's kong/plugins/http-log/schema.lua, fields in Kong's order; content_type also
// takes 'application/json; charset=utf-8' (the 3.2 docs).

const url = ((v: string): string | undefined => {
  let u: URL
  try { u = new URL(v) } catch { return 'missing host in url' }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `unsupported scheme '${u.protocol.slice(0, -1)}' in url`
  if (u.hostname === '') return 'missing host in url'
  return undefined
}) as FieldCheck

const FORBIDDEN: Array<[RegExp, string]> = [
  [/^host$/i, "cannot contain 'Host' header"],
  [/^content-length$/i, "cannot contain 'Content-Length' header"],
  [/^content-type$/i, "cannot contain 'Content-Type' header"],
]
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/

// Kong reports an empty value for the whole map, as its match_none errors.
const headerMap = ((m: Record<string, string>): string | undefined => {
  for (const [k, v] of Object.entries(m)) {
    if (!HEADER_NAME.test(k)) return `bad header name '${k}', allowed characters are A-Z, a-z, 0-9, '_', and '-'`
    for (const [re, err] of FORBIDDEN) if (re.test(k)) return err
    if (v.length < 1) return 'length must be at least 1'
  }
  return undefined
}) as FieldCheck

export const HttpLogSchema = Type.Object({
  http_endpoint: Type.String({ check: url, description: 'Where the log entries are sent (http or https; user info becomes Basic authorization)' }),
  method: oneOf(['POST', 'PUT', 'PATCH'] as const, { default: 'POST', description: 'The HTTP method of the log request' }),
  content_type: oneOf(['application/json', 'application/json; charset=utf-8'] as const, { default: 'application/json', description: 'The Content-Type of the log request' }),
  timeout: Type.Number({ default: 10000, description: 'Milliseconds to wait for the log server' }),
  keepalive: Type.Number({ default: 60000, description: 'Milliseconds an idle connection to the log server is kept' }),
  retry_count: Type.Integer({ default: 10, description: 'Retries of a failed batch, with exponential backoff' }),
  queue_size: Type.Integer({ default: 1, description: 'Entries per batch: above 1 a batch is sent as a JSON array' }),
  flush_timeout: Type.Number({ default: 2, description: 'Seconds an entry may wait for its batch to fill' }),
  headers: nullable(Type.Record(Type.String(), Type.String({ minLength: 0 }), { check: headerMap }), { default: null, description: 'Headers added to the log request' }),
  custom_fields_by_lua: nullable(Type.Record(Type.String(), Type.String()), { default: null, description: 'Kong runs these as Lua: not supported by Tollgate, only null or an empty map is accepted' }),
}, { additionalProperties: false })

export type HttpLogConfig = Static<typeof HttpLogSchema>

export function checkConfig (conf: HttpLogConfig): { config: string | Record<string, string> } | undefined {
  const lua = refuseLuaFields(conf, ['custom_fields_by_lua'])
  if (lua !== undefined) return lua
  const u = new URL(conf.http_endpoint)
  if ((u.username !== '' || u.password !== '') && conf.headers !== null && Object.keys(conf.headers).some((h) => h.toLowerCase() === 'authorization')) {
    return { config: "specifying both an 'Authorization' header and user info in 'http_endpoint' is not allowed" }
  }
  return undefined
}
