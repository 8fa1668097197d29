import { Type, nullable, oneOf, type CheckEnv, type ConfigErrors, type FieldCheck, type Static } from '@tollgate/sdk'

const positive: FieldCheck = ((v: number) => (v > 0 ? undefined : 'value must be greater than 0')) as FieldCheck

export const METHODS = ['HEAD', 'GET', 'POST', 'PATCH', 'PUT'] as const
/** Kong 3.2 ships one strategy; Enterprise adds redis. */
export const STRATEGIES = ['memory'] as const

// Kong 3.2: kong/plugins/proxy-cache/schema.lua, fields in Kong's order; then two fields of
// later Kongs (ignore_uri_case 3.3, response_headers 3.4), whose defaults change nothing.
export const ProxyCacheSchema = Type.Object({
  response_code: Type.Array(Type.Integer({ minimum: 100, maximum: 900 }), {
    minItems: 1,
    default: [200, 301, 404],
    description: 'Upstream response status codes considered cacheable',
  }),
  request_method: Type.Array(oneOf(METHODS), { default: ['GET', 'HEAD'], description: 'Client request methods considered cacheable' }),
  content_type: Type.Array(Type.String(), {
    default: ['text/plain', 'application/json'],
    description: 'Upstream Content-Type values considered cacheable, compared with the whole header exactly (Kong 3.2)',
  }),
  cache_ttl: Type.Integer({ default: 300, check: positive, description: 'Seconds a stored response is served before it is refreshed' }),
  strategy: oneOf(STRATEGIES, { description: "Where responses are kept: 'memory' (a node-wide shared dictionary)" }),
  cache_control: Type.Boolean({ default: false, description: 'Follow the Cache-Control rules of RFC 7234 for requests and responses' }),
  storage_ttl: nullable(Type.Integer(), { description: 'Seconds a response is kept, when longer than it is served (for Refresh and max-stale)' }),
  memory: Type.Object({
    dictionary_name: Type.String({ default: 'kong_db_cache', description: 'The node shared dictionary to keep responses in (kong_db_cache, or one of nginx_http_lua_shared_dict)' }),
  }, { additionalProperties: false, description: "The memory strategy's settings" }),
  vary_query_params: nullable(Type.Array(Type.String()), { description: 'Query arguments the cache key is made of (default: all of them)' }),
  vary_headers: nullable(Type.Array(Type.String()), { description: 'Request headers the cache key is made of (default: none)' }),
  ignore_uri_case: Type.Boolean({ default: false, description: 'Kong 3.3+: key on the lower-cased request line' }),
  response_headers: Type.Object({
    age: Type.Boolean({ default: true, description: 'Send Age on a hit' }),
    'X-Cache-Status': Type.Boolean({ default: true, description: 'Send X-Cache-Status' }),
    'X-Cache-Key': Type.Boolean({ default: true, description: 'Send X-Cache-Key' }),
  }, { additionalProperties: false, description: 'Kong 3.4+: which of its headers the plugin sends (all of them to a request with Kong-Debug: 1)' }),
}, { additionalProperties: false })

export type ProxyCacheConfig = Static<typeof ProxyCacheSchema>

/**
 * Kong's custom_entity_check: the memory strategy's dictionary must exist on the node
 * (nginx's lua_shared_dict; here kong_db_cache or one of nginx_http_lua_shared_dict).
 */
export function checkConfig (conf: ProxyCacheConfig, env: CheckEnv): ConfigErrors | undefined {
  if (conf.strategy === 'memory' && !env.sharedDictDeclared(conf.memory.dictionary_name)) {
    return { '@entity': [`missing shared dict '${conf.memory.dictionary_name}'`] }
  }
  return undefined
}
