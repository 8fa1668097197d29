import { createPublicKey, randomInt } from 'node:crypto'
import { Type, autoId, foreign, nullable, oneOf, tags, timestamp, type EntityDef } from '@tollgate/sdk'

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

/** 32 characters from a cryptographic source, as Kong's `auto = true` strings are made. */
export function generateString (): string {
  let s = ''
  for (let i = 0; i < 32; i++) s += ALPHABET[randomInt(ALPHABET.length)]
  return s
}

export const ALGORITHMS = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'ES256', 'ES384'] as const
export type Algorithm = typeof ALGORITHMS[number]

/** Algorithms verified with a public key (rsa_public_key) rather than the shared secret. */
const PUBLIC_KEY_PATTERN = /^(RS256|RS384|RS512|ES256|ES384)$/

/** Whether `pem` is a public key OpenSSL can load (Kong's validate_ssl_key, openssl_pkey.new). */
export function isPublicKey (pem: string): boolean {
  try {
    createPublicKey(pem)
    return true
  } catch {
    return false
  }
}

// Kong: kong/plugins/jwt/daos.lua. Kong 3.2's conditional covers RS* only; the Kong 3.2 docs
// give rsa_public_key for RS256 and ES256 alike, and an ES credential without a key can never
// verify a token, so Tollgate requires it for every public-key algorithm.
export const jwtSecrets: EntityDef = {
  name: 'jwt_secrets',
  adminName: 'jwts',
  adminNestedName: 'jwt',
  endpointKey: 'key',
  cacheKey: ['key'],
  schema: Type.Object({
    id: autoId(),
    created_at: timestamp('Unix epoch when the credential was created'),
    consumer: foreign('consumers', { required: true, onDelete: 'cascade', description: 'The consumer this credential identifies' }),
    key: Type.String({ unique: true, generate: generateString, description: "The value of the token's key claim (iss by default) naming this credential; 32 random characters when not given" }),
    secret: Type.String({ generate: generateString, description: 'The HMAC secret of HS* algorithms; 32 random characters when not given' }),
    rsa_public_key: nullable(Type.String(), { description: 'PEM public key verifying RS*/ES* tokens' }),
    algorithm: oneOf(ALGORITHMS, { default: 'HS256', description: 'The algorithm tokens of this credential are signed with' }),
    tags: tags(),
  }, { additionalProperties: false }),
  entityChecks: [{
    conditional: {
      if_field: 'algorithm',
      // Kong's shape, with the ES algorithms added; its custom_validator (a function) is not shown.
      if_match: { match_any: { patterns: ['^RS256$', '^RS384$', '^RS512$', '^ES256$', '^ES384$'] } },
      then_field: 'rsa_public_key',
      then_match: { required: true },
    },
  }],
  checksOnInvalid: true,
  checks: (entity) => {
    const alg = entity.algorithm
    if (typeof alg !== 'string' || !PUBLIC_KEY_PATTERN.test(alg)) return undefined
    const key = entity.rsa_public_key
    let err: string | undefined
    if (key === null || key === undefined) err = 'required field missing'
    else if (typeof key === 'string' && !isPublicKey(key)) err = 'invalid key'
    if (err === undefined) return undefined
    return { rsa_public_key: err, '@entity': ["failed conditional validation given value of field 'algorithm'"] }
  },
}
