import { Type, nullable, type Static } from '@tollgate/sdk'

// Kong: kong/plugins/basic-auth/schema.lua. `realm` is Kong 3.6's field; left null, the
// challenge is Kong 3.2's fixed `Basic realm="kong"`.
export const BasicAuthSchema = Type.Object({
  anonymous: nullable(Type.String(), {
    description: 'Id or username of the consumer to use when authentication fails; makes the plugin let such requests through',
  }),
  hide_credentials: Type.Boolean({ default: false, description: 'Remove the Authorization (or Proxy-Authorization) header before proxying' }),
  realm: nullable(Type.String(), { description: 'Realm announced in the WWW-Authenticate header; null: Kong 3.2\'s "kong"' }),
}, { additionalProperties: false })

export type BasicAuthConfig = Static<typeof BasicAuthSchema>
