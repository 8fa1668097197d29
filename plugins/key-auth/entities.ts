import { randomInt } from 'node:crypto'
import { Type, autoId, foreign, tags, timestamp, type EntityDef } from '@tollgate/sdk'
import { hashKey, hashingKeys, isHashedKey } from './hashing.js'

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

/** A 32-character key from a cryptographic source, as Kong's random_string makes them. */
export function generateKey (): string {
  let key = ''
  for (let i = 0; i < 32; i++) key += ALPHABET[randomInt(ALPHABET.length)]
  return key
}

// Kong: kong/plugins/key-auth/daos.lua
export const keyauthCredentials: EntityDef = {
  name: 'keyauth_credentials',
  adminName: 'key-auths',
  adminNestedName: 'key-auth',
  endpointKey: 'key',
  // Kong's cache_key; `key` is generated when absent, so declarative files give credentials
  // without an id a random one on every load, as Kong 3.4+ does (Kong/kong#12288).
  cacheKey: ['key'],
  ttl: true,
  schema: Type.Object({
    id: autoId(),
    created_at: timestamp('Unix epoch when the credential was created'),
    consumer: foreign('consumers', { required: true, onDelete: 'cascade', description: 'The consumer this key identifies' }),
    key: Type.String({
      unique: true,
      generate: generateKey,
      description: "The key; 32 random characters when not given. With keyauth_hash_keys = on, stored as 'sha256:' and its hex HMAC-SHA-256, and shown in the clear only in the answer to the write that set it",
    }),
    tags: tags(),
  }, { additionalProperties: false }),
  // keyauth_hash_keys = on: a key given or generated is stored hashed; one already hashed
  // (an export re-imported) is kept.
  seal: (value) => {
    const key = value.key
    if (!hashingKeys() || typeof key !== 'string' || isHashedKey(key)) return undefined
    value.key = hashKey(key)
    return { key }
  },
  // A declarative file's keys (_transform true) hashed as the Admin API does, so that a
  // sync compares hashes with hashes; an export (_transform: false) holds hashes already.
  transform: (row) => hashingKeys() && typeof row.key === 'string' && !isHashedKey(row.key) ? { ...row, key: hashKey(row.key) } : row,
}
