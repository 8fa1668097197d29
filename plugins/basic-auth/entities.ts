import { createHash } from 'node:crypto'
import { Buffer } from 'node:buffer'
import { Errors, Type, autoId, foreign, tags, timestamp, type EntityDef } from '@tollgate/sdk'

/**
 * Kong's kong/plugins/basic-auth/crypto.lua: the lowercase hex SHA-1 of the password
 * followed by the consumer's id (the salt); a missing password hashes the id alone.
 */
export function hashPassword (consumerId: string, password: string | Buffer | undefined | null): string {
  const h = createHash('sha1')
  if (password != null) h.update(password)
  return h.update(consumerId).digest('hex')
}

const MUTUALLY_REQUIRED = "all or none of these fields must be set: 'password', 'consumer.id'"

function consumerIdOf (v: unknown): string | undefined {
  const id = (v as { id?: unknown } | null | undefined)?.id
  return typeof id === 'string' ? id : undefined
}

/**
 * Kong's on_write transformation (input password, needs consumer.id): a given password is
 * stored hashed, never in the clear. On update the patch's consumer, or else the stored
 * row's, salts it; moving a credential to another consumer without a new password is
 * refused, since its hash would no longer match (run_transformation_checks).
 */
function hashOnWrite (input: Record<string, unknown>, op: 'insert' | 'upsert' | 'update' | 'validate', existing?: Record<string, unknown>): Record<string, unknown> {
  if (op === 'validate') return input
  const given = consumerIdOf(input.consumer)
  if (op === 'update') {
    const stored = consumerIdOf(existing?.consumer)
    const passwordSet = typeof input.password === 'string'
    const consumerChanged = 'consumer' in input && given !== stored
    if (consumerChanged && (!passwordSet || given === undefined)) throw Errors.schemaViolation({ '@entity': [MUTUALLY_REQUIRED] })
    if (!passwordSet) return input
    return { ...input, password: hashPassword(given ?? stored ?? '', input.password as string) }
  }
  if (typeof input.password !== 'string' || given === undefined) return input
  return { ...input, password: hashPassword(given, input.password) }
}

// Kong: kong/plugins/basic-auth/daos.lua
export const basicauthCredentials: EntityDef = {
  name: 'basicauth_credentials',
  adminName: 'basic-auths',
  adminNestedName: 'basic-auth',
  endpointKey: 'username',
  cacheKey: ['username'],
  schema: Type.Object({
    id: autoId(),
    created_at: timestamp('Unix epoch when the credential was created'),
    consumer: foreign('consumers', { required: true, onDelete: 'cascade', description: 'The consumer this credential identifies' }),
    username: Type.String({ unique: true, description: 'The username to give in the Authorization header' }),
    password: Type.String({ description: 'The password; stored as the SHA-1 of the password salted with the consumer id, and shown only so' }),
    tags: tags(),
  }, { additionalProperties: false }),
  rewrite: hashOnWrite,
  // A declarative file's rows (_transform true, the default): cleartext passwords hashed as
  // the Admin API does; an export (_transform: false) keeps its hashes.
  transform: (row) => {
    const consumerId = consumerIdOf(row.consumer)
    return typeof row.password === 'string' && consumerId !== undefined ? { ...row, password: hashPassword(consumerId, row.password) } : row
  },
}
