import { Type, oneOf, type Static } from '@tollgate/sdk'

export const GENERATORS = ['uuid', 'uuid#counter', 'tracker'] as const

// Kong 3.2: kong/plugins/correlation-id/schema.lua, fields in Kong's order.
export const CorrelationIdSchema = Type.Object({
  header_name: Type.String({ default: 'Kong-Request-ID', description: 'The header carrying the correlation id' }),
  generator: oneOf(GENERATORS, { default: 'uuid#counter', description: "How an id is made: 'uuid', 'uuid#counter' (one uuid per process and a counter) or 'tracker'" }),
  echo_downstream: Type.Boolean({ default: false, description: 'Send the id back to the client too' }),
}, { additionalProperties: false })

export type CorrelationIdConfig = Static<typeof CorrelationIdSchema>
