import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto'
import type { Static } from 'typebox'
import type { FieldErrors } from '../../errors.js'
import type { EntityDef } from '../entity.js'
import { Type, autoId, nullable, tags, timestamp, type FieldCheck } from '../schema.js'

// PEM checks with node:crypto where Kong uses resty.openssl (kong/db/schema/typedefs.lua
// validate_certificate / validate_key). Kong's messages start alike; what follows the
// colon is OpenSSL's reason, in node's words here.

/** The first certificate of a PEM text (a chain may follow it), or undefined. */
export function parseCertificate (pem: string): X509Certificate | undefined {
  try { return new X509Certificate(pem) } catch { return undefined }
}

export function checkCertificate (pem: string): string | undefined {
  try {
    new X509Certificate(pem) // eslint-disable-line no-new
    return undefined
  } catch (err) {
    return `invalid certificate: ${reason(err)}`
  }
}

export function checkKey (pem: string): string | undefined {
  try {
    createPrivateKey(pem)
    return undefined
  } catch (err) {
    return `invalid key: ${reason(err)}`
  }
}

function reason (err: unknown): string {
  return (err as Error).message.replace(/^error:[0-9A-F]+:/, '')
}

/** Whether the private key in `keyPem` belongs to the certificate (Kong compares their public keys). */
function matches (cert: X509Certificate, keyPem: string): boolean {
  let key: KeyObject
  try { key = createPrivateKey(keyPem) } catch { return false }
  try { return cert.checkPrivateKey(key) } catch { return false }
}

// Kong: kong/db/schema/entities/certificates.lua (3.2: no updated_at)
export const CertificateSchema = Type.Object({
  id: autoId(),
  created_at: timestamp('Unix epoch when the certificate was created'),
  cert: Type.String({ check: checkCertificate as FieldCheck, description: 'PEM certificate, optionally followed by its chain' }),
  key: Type.String({ check: checkKey as FieldCheck, description: 'PEM private key of `cert`' }),
  cert_alt: nullable(Type.String({ check: checkCertificate as FieldCheck }), { description: 'Alternative PEM certificate, of another key type than `cert` (RSA and ECDSA)' }),
  key_alt: nullable(Type.String({ check: checkKey as FieldCheck }), { description: 'PEM private key of `cert_alt`' }),
  tags: tags(),
}, { additionalProperties: false })

export type Certificate = Static<typeof CertificateSchema>

const SAME_TYPE = 'certificate and alternative certificate need to have different type (e.g. RSA and ECDSA), the provided certificates were both of the same type'

/** Kong's entity_checks of certificates, in its order. */
function certificateChecks (c: Record<string, unknown>): FieldErrors | undefined {
  const errors: string[] = []
  const set = (v: unknown): boolean => v !== null && v !== undefined && v !== ''
  if (set(c.cert_alt) !== set(c.key_alt)) errors.push("all or none of these fields must be set: 'cert_alt', 'key_alt'")
  const cert = typeof c.cert === 'string' ? parseCertificate(c.cert) : undefined
  if (cert !== undefined && typeof c.key === 'string' && !matches(cert, c.key)) errors.push('certificate does not match key')
  const alt = typeof c.cert_alt === 'string' ? parseCertificate(c.cert_alt) : undefined
  if (alt !== undefined && typeof c.key_alt === 'string' && !matches(alt, c.key_alt)) errors.push('alternative certificate does not match key')
  if (cert !== undefined && alt !== undefined && cert.publicKey.asymmetricKeyType === alt.publicKey.asymmetricKeyType) errors.push(SAME_TYPE)
  return errors.length === 0 ? undefined : { '@entity': errors }
}

/**
 * Kong's certificates. The `snis` a certificate is written and read with in the Admin API
 * are rows of `snis` (kong/db/dao/certificates.lua); core/admin/certificates.ts does that,
 * so the store knows only the certificate's own fields.
 */
export const certificates: EntityDef = {
  name: 'certificates',
  schema: CertificateSchema,
  entityChecks: [
    { mutually_required: ['cert_alt', 'key_alt'] },
    { custom_entity_check: { field_sources: ['cert', 'key'] } },
    { custom_entity_check: { field_sources: ['cert_alt', 'key_alt'] } },
    { custom_entity_check: { field_sources: ['cert', 'cert_alt'] } },
  ],
  checks: certificateChecks,
  // Its own endpoints, which read and write its `snis` too (core/admin/certificates.ts).
  customAdmin: true,
  // /certificates/{sni name}/... in the generated endpoints (services, snis under it).
  adminLookup: (reader, segment) => (reader.find('snis', { name: segment })?.certificate as { id: string } | undefined)?.id,
}
