import { createHash } from 'node:crypto'
import type { Static } from 'typebox'
import type { EntityDef } from '../entity.js'
import { Type, autoId, nullable, tags, timestamp, type FieldCheck } from '../schema.js'
import { checkCertificate, parseCertificate } from './certificates.js'

// Kong: kong/db/schema/entities/ca_certificates.lua (3.2)
export const CaCertificateSchema = Type.Object({
  id: autoId(),
  created_at: timestamp('Unix epoch when the CA certificate was created'),
  cert: Type.String({ check: checkCertificate as FieldCheck, description: 'One PEM CA certificate' }),
  cert_digest: nullable(Type.String(), { unique: true, description: 'SHA-256 of the certificate (DER, hex); computed on write' }),
  tags: tags(),
}, { additionalProperties: false })

export type CaCertificate = Static<typeof CaCertificateSchema>

/** SHA-256 of the certificate's DER, in hex: Kong's cert_digest. */
export function certDigest (pem: string): string | undefined {
  const cert = parseCertificate(pem)
  return cert === undefined ? undefined : createHash('sha256').update(cert.raw).digest('hex')
}

/** Kong's on_write transformation: a written `cert` sets `cert_digest`. */
function withDigest (input: Record<string, unknown>): Record<string, unknown> {
  if (typeof input.cert !== 'string') return input
  const digest = certDigest(input.cert)
  return digest === undefined ? input : { ...input, cert_digest: digest }
}

const BEGIN = /-----BEGIN CERTIFICATE-----/g

function caChecks (c: Record<string, unknown>): { '@entity': string[] } | undefined {
  if (typeof c.cert !== 'string') return undefined
  const fail = (message: string): { '@entity': string[] } => ({ '@entity': [message] })
  if ((c.cert.match(BEGIN) ?? []).length > 1) return fail('please submit only one certificate at a time')
  const cert = parseCertificate(c.cert)
  if (cert === undefined) return undefined
  if (Date.parse(cert.validTo) < Date.now()) return fail('certificate expired, "Not After" time is in the past')
  if (!cert.ca) return fail('certificate does not appear to be a CA because it is missing the "CA" basic constraint')
  return undefined
}

export const caCertificates: EntityDef = {
  name: 'ca_certificates',
  schema: CaCertificateSchema,
  rewrite: withDigest,
  transform: withDigest,
  entityChecks: [{ custom_entity_check: { field_sources: ['cert'] } }],
  checks: caChecks,
}
