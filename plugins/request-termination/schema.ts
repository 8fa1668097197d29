import { Type, nullable, type FieldCheck, type Static } from '@tollgate/sdk'

/** Kong's typedefs.header_name. */
const headerName: FieldCheck = ((v: string) =>
  (/^[a-zA-Z0-9\-_]+$/.test(v) ? undefined : `bad header name '${v}', allowed characters are A-Z, a-z, 0-9, '_', and '-'`)) as FieldCheck

// Kong 3.2: kong/plugins/request-termination/schema.lua, fields in Kong's order.
export const RequestTerminationSchema = Type.Object({
  status_code: Type.Integer({ minimum: 100, maximum: 599, default: 503, description: 'Status of the answer' }),
  message: nullable(Type.String(), { description: "Message of the JSON answer ({\"message\": ...}); by default Kong's for the status, when it has one" }),
  content_type: nullable(Type.String(), { description: 'Content-Type of `body`' }),
  body: nullable(Type.String(), { description: 'Raw body of the answer, instead of a message' }),
  echo: Type.Boolean({ default: false, description: 'Answer with a JSON copy of the request (and the matched route and service)' }),
  trigger: nullable(Type.String({ check: headerName }), { description: 'Terminate only requests with this header or query argument; others are proxied' }),
}, { additionalProperties: false })

export type RequestTerminationConfig = Static<typeof RequestTerminationSchema>

const present = (v: string | null): boolean => v !== null && v.length > 0

/** Kong's custom_validator of the config record. */
export function checkConfig (conf: RequestTerminationConfig): { config: string } | undefined {
  if (present(conf.message) && (present(conf.content_type) || present(conf.body))) return { config: 'message cannot be used with content_type or body' }
  if (present(conf.content_type) && !present(conf.body)) return { config: 'content_type requires a body' }
  if (conf.echo && (present(conf.content_type) || present(conf.body))) return { config: 'echo cannot be used with content_type and body' }
  return undefined
}
