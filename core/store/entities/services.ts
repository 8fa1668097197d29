import type { Static } from 'typebox'
import type { FieldErrors } from '../../errors.js'
import type { EntityDef } from '../entity.js'
import { checkHost, checkPath } from '../checks.js'
import { Type, autoId, checkUtf8Name, foreign, nullable, oneOf, tags, timestamp, uuid, type FieldCheck } from '../schema.js'

export const PROTOCOLS = ['grpc', 'grpcs', 'http', 'https', 'tcp', 'tls', 'tls_passthrough', 'udp'] as const

const timeout = (what: string) => Type.Integer({
  minimum: 1, maximum: 2147483646, default: 60000, description: `Timeout in milliseconds for ${what}`,
})

// Kong: kong/db/schema/entities/services.lua
export const ServiceSchema = Type.Object({
  id: autoId(),
  created_at: timestamp('Unix epoch when the service was created'),
  updated_at: timestamp('Unix epoch when the service was last updated'),
  name: nullable(Type.String({ check: checkUtf8Name as FieldCheck }), { unique: true, description: 'Unique service name' }),
  retries: Type.Integer({ minimum: 0, maximum: 32767, default: 5, description: 'Retries on connection failure' }),
  protocol: oneOf(PROTOCOLS, { default: 'http', description: 'Protocol used to talk to the upstream' }),
  host: Type.String({ check: checkHost as FieldCheck, description: 'Upstream host' }),
  port: Type.Integer({ minimum: 0, maximum: 65535, default: 80, description: 'Upstream port' }),
  path: nullable(Type.String({ check: checkPath as FieldCheck }), { description: 'Path prefix used in requests to the upstream' }),
  connect_timeout: timeout('establishing a connection to the upstream'),
  write_timeout: timeout('two successive writes to the upstream'),
  read_timeout: timeout('two successive reads from the upstream'),
  tags: tags(),
  // Kong: a foreign key to `certificates`, and a plain list of ids of `ca_certificates`
  // (each of which the store requires to name a row, see IdListField).
  client_certificate: foreign('certificates', { description: 'Certificate presented to the upstream (https only)' }),
  tls_verify: nullable(Type.Boolean(), { description: 'Verify the upstream certificate (https only)' }),
  tls_verify_depth: nullable(Type.Integer({ minimum: 0, maximum: 64 }), { description: 'Maximum certificate chain depth' }),
  ca_certificates: nullable(Type.Array(uuid({ reference: 'ca_certificates' })), { description: 'CA certificates for upstream verification' }),
  enabled: Type.Boolean({ default: true, description: 'Whether the service is proxied to' }),
}, { additionalProperties: false })

export type Service = Static<typeof ServiceSchema>

/** Expands Kong's `url` shorthand into protocol, host, port and path. */
function expandUrl (input: Record<string, unknown>): Record<string, unknown> {
  if (!('url' in input)) return input
  const { url, ...rest } = input
  if (typeof url !== 'string') return { ...rest, url }
  let parsed: URL | undefined
  try { parsed = new URL(url.trim()) } catch { parsed = undefined }
  if (parsed === undefined || parsed.hostname === '') {
    // Kong reports an unparseable url as a missing host and a bad path.
    return { ...rest, host: undefined, path: url.trim() === '' ? '' : url }
  }
  const protocol = parsed.protocol.slice(0, -1)
  const defaultPort = protocol === 'https' || protocol === 'grpcs' || protocol === 'tls' ? 443 : 80
  const hostname = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname
  const rawPath = url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '').replace(/[?#].*$/, '')
  return {
    ...rest,
    protocol,
    host: hostname,
    port: parsed.port === '' ? defaultPort : Number(parsed.port),
    path: rawPath === '' ? null : rawPath,
  }
}

const TLS_ONLY = ['client_certificate', 'tls_verify', 'tls_verify_depth', 'ca_certificates'] as const
const CONDITIONAL_ON_PROTOCOL = "failed conditional validation given value of field 'protocol'"

export const services: EntityDef = {
  name: 'services',
  schema: ServiceSchema,
  endpointKey: 'name',
  expand: expandUrl,
  // Kong's `conditional` entity checks on `protocol`: each one that fails reports the field
  // and, at entity level, which field's value made it fail (once per failed check).
  checks: (s) => {
    const errors: FieldErrors = {}
    const failed: string[] = []
    const mustBeNull = (field: string): void => {
      if (s[field] == null) return
      errors[field] = 'value must be null'
      failed.push(CONDITIONAL_ON_PROTOCOL)
    }
    if (['tcp', 'tls', 'udp', 'grpc', 'grpcs', 'tls_passthrough'].includes(String(s.protocol))) mustBeNull('path')
    if (s.protocol !== 'https' && s.protocol !== 'tls') for (const f of TLS_ONLY) mustBeNull(f)
    if (failed.length === 0) return undefined
    return { '@entity': failed, ...errors }
  },
}
