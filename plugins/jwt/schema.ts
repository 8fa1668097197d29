import { Type, nullable, oneOf, set, type Static } from '@tollgate/sdk'

// Kong: kong/plugins/jwt/schema.lua
export const JwtSchema = Type.Object({
  uri_param_names: set(Type.String(), { default: ['jwt'], description: 'Query arguments that may hold the token' }),
  cookie_names: set(Type.String(), { default: [], description: 'Cookies that may hold the token' }),
  key_claim_name: Type.String({ default: 'iss', description: 'The claim (or, failing it, the token header field) naming the credential' }),
  secret_is_base64: Type.Boolean({ default: false, description: 'Credential secrets are base64-encoded' }),
  claims_to_verify: nullable(set(oneOf(['exp', 'nbf'] as const)), { description: "Registered claims to verify: 'exp' and/or 'nbf'" }),
  anonymous: nullable(Type.String(), {
    description: 'Id or username of the consumer to use when authentication fails; makes the plugin let such requests through',
  }),
  run_on_preflight: Type.Boolean({ default: true, description: 'Authenticate CORS preflight (OPTIONS) requests too' }),
  maximum_expiration: Type.Number({ default: 0, minimum: 0, maximum: 31536000, description: 'Longest allowed token lifetime in seconds (exp minus now); 0 for no limit' }),
  header_names: set(Type.String(), { default: ['authorization'], description: 'Headers that may hold the token, as `Bearer <token>`' }),
}, { additionalProperties: false })

export type JwtConfig = Static<typeof JwtSchema>

/** Kong's entity check: a maximum_expiration needs exp among the verified claims. */
export function checkConfig (conf: JwtConfig): { '@entity'?: string[], config?: Record<string, string> } | undefined {
  if (conf.maximum_expiration > 0 && !(conf.claims_to_verify ?? []).includes('exp')) {
    return {
      '@entity': ["failed conditional validation given value of field 'config.maximum_expiration'"],
      config: { claims_to_verify: 'expected to contain: exp' },
    }
  }
  return undefined
}
