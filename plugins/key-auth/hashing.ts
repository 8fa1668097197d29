// Keys at rest (keyauth_hash_keys = on, beyond Kong, which stores keys in the clear): a
// key is stored as `sha256:` and the hex HMAC-SHA-256 of the key under the node's pepper,
// so a copy of the database or an export holds nothing a client can present. The proxy
// hashes the presented key and looks the hash up through the same unique index.

import { createHmac } from 'node:crypto'

const PREFIX = 'sha256:'
/** What a stored hash looks like; any other value is a key in the clear. */
const HASHED = /^sha256:[0-9a-f]{64}$/

let pepper: Buffer | undefined
let given: string | undefined

/**
 * Turns hashing on with this pepper, or off with undefined. Every process and thread that
 * writes credentials or authenticates requests sets it from the node's configuration
 * (core/secrets.ts) before it opens the store.
 */
export function useKeyHashing (secret: string | undefined): void {
  given = secret
  pepper = secret === undefined ? undefined : Buffer.from(secret, 'utf8')
}

/** The pepper in use, for a thread this process starts (it sets its own from it). */
export function keyHashingPepper (): string | undefined {
  return given
}

export function hashingKeys (): boolean {
  return pepper !== undefined
}

export function isHashedKey (value: unknown): boolean {
  return typeof value === 'string' && HASHED.test(value)
}

/** The stored form of a key; only while hashing is on. */
export function hashKey (key: string): string {
  if (pepper === undefined) throw new Error('key-auth key hashing is off')
  return PREFIX + createHmac('sha256', pepper).update(key, 'utf8').digest('hex')
}
