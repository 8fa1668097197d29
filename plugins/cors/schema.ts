import { Type, nullable, oneOf, type FieldCheck, type Static } from '@tollgate/sdk'

export const METHODS = ['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'] as const

/** Kong's validate_asterisk_or_regex; the regex is JavaScript's, not PCRE. */
const asteriskOrRegex: FieldCheck = ((v: string) => {
  if (v === '*') return undefined
  try {
    new RegExp(v) // eslint-disable-line no-new
    return undefined
  } catch {
    return `'${v}' is not a valid regex`
  }
}) as FieldCheck

// Kong 3.2: kong/plugins/cors/schema.lua, fields in Kong's order; private_network is Kong 3.5's.
export const CorsSchema = Type.Object({
  origins: nullable(Type.Array(Type.String({ check: asteriskOrRegex })), {
    description: "Allowed origins for Access-Control-Allow-Origin: '*', exact origins or regexes; none (or only '*') allows every origin",
  }),
  headers: nullable(Type.Array(Type.String()), { description: 'Access-Control-Allow-Headers of a preflight answer; by default the request\'s Access-Control-Request-Headers' }),
  exposed_headers: nullable(Type.Array(Type.String()), { description: 'Access-Control-Expose-Headers' }),
  methods: nullable(Type.Array(oneOf(METHODS)), { default: [...METHODS], description: 'Access-Control-Allow-Methods of a preflight answer' }),
  max_age: nullable(Type.Number(), { description: 'Access-Control-Max-Age of a preflight answer, seconds' }),
  credentials: Type.Boolean({ default: false, description: "Send Access-Control-Allow-Credentials: true (with origins '*', the request's origin is then allowed instead of '*')" }),
  private_network: Type.Boolean({ default: false, description: 'Answer Access-Control-Request-Private-Network: true preflights with Access-Control-Allow-Private-Network: true (Kong 3.5+)' }),
  preflight_continue: Type.Boolean({ default: false, description: 'Proxy preflight requests to the upstream instead of answering them' }),
}, { additionalProperties: false })

export type CorsConfig = Static<typeof CorsSchema>
