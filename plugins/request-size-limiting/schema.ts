import { Type, nullable, oneOf, type Static } from '@tollgate/sdk'

export const SIZE_UNITS = ['megabytes', 'kilobytes', 'bytes'] as const

export const UNIT_BYTES: Record<typeof SIZE_UNITS[number], number> = { bytes: 1, kilobytes: 1024, megabytes: 1048576 }

// Kong 3.2: kong/plugins/request-size-limiting/schema.lua, fields in Kong's order.
export const RequestSizeLimitingSchema = Type.Object({
  allowed_payload_size: nullable(Type.Integer(), { default: 128, description: 'Largest request body allowed, in size_unit' }),
  size_unit: oneOf(SIZE_UNITS, { default: 'megabytes', description: 'Unit of allowed_payload_size (1 kilobyte = 1024 bytes)' }),
  require_content_length: Type.Boolean({ default: false, description: 'Refuse (411) requests without a Content-Length, unless their body is chunked' }),
}, { additionalProperties: false })

export type RequestSizeLimitingConfig = Static<typeof RequestSizeLimitingSchema>
