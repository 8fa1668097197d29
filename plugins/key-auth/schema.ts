import { Type, nullable, type FieldCheck, type Static } from '@tollgate/sdk'

/** Kong's header-name check for key_names (typedefs.header_name). */
function checkHeaderName (name: string): string | undefined {
  if (name === '') return 'no header name provided'
  return /^[a-zA-Z0-9\-_]+$/.test(name) ? undefined : `bad header name '${name}', allowed characters are A-Z, a-z, 0-9, '_', and '-'`
}

// Kong: kong/plugins/key-auth/schema.lua
export const KeyAuthSchema = Type.Object({
  key_names: Type.Array(Type.String({ minLength: 0, check: checkHeaderName as FieldCheck }), {
    default: ['apikey'],
    description: 'Names of the header, query argument or body field holding the key; tried in order',
  }),
  hide_credentials: Type.Boolean({ default: false, description: 'Remove the key from the request before proxying it' }),
  anonymous: nullable(Type.String(), {
    description: 'Id or username of the consumer to use when authentication fails; makes the plugin let such requests through',
  }),
  key_in_header: Type.Boolean({ default: true, description: 'Look for the key in request headers' }),
  key_in_query: Type.Boolean({ default: true, description: 'Look for the key in the query string' }),
  key_in_body: Type.Boolean({ default: false, description: 'Look for the key in the body (form, JSON or multipart)' }),
  run_on_preflight: Type.Boolean({ default: true, description: 'Authenticate CORS preflight (OPTIONS) requests too' }),
  realm: nullable(Type.String(), { description: 'Realm announced in the WWW-Authenticate header' }),
}, { additionalProperties: false })

export type KeyAuthConfig = Static<typeof KeyAuthSchema>
