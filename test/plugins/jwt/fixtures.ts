// Stand-ins for spec/03-plugins/16-jwt/fixtures.lua: the same kinds of keys, generated with
// node:crypto at load, and Kong's jwt_parser.encode (a token signed over its own header).
import { createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto'

export interface KeyPair { privateKey: KeyObject, publicPem: string }

function rsa (): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  return { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string }
}

function ec (namedCurve: string): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve })
  return { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string }
}

export const rs256 = rsa()
export const rs384 = rsa()
export const rs512 = rsa()
export const es256 = ec('P-256')
export const es384 = ec('P-384')

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url')

const HASH: Record<string, string> = { 256: 'sha256', 384: 'sha384', 512: 'sha512' }

/** A compact JWS of `claims`, as Kong's jwt_parser.encode makes it (header { typ, alg } unless given). */
export function encode (claims: Record<string, unknown>, key: string | Buffer | KeyObject, alg = 'HS256', header?: Record<string, unknown>): string {
  const input = `${b64url(JSON.stringify(header ?? { typ: 'JWT', alg }))}.${b64url(JSON.stringify(claims))}`
  const hash = HASH[alg.slice(2)] as string
  let sig: Buffer
  if (alg.startsWith('HS')) sig = createHmac(hash, key as string | Buffer).update(input).digest()
  else sig = sign(hash, Buffer.from(input), alg.startsWith('ES') ? { key: key as KeyObject, dsaEncoding: 'ieee-p1363' } : key as KeyObject)
  return `${input}.${b64url(sig)}`
}
