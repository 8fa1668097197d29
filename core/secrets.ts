// Node-wide secrets that plugins' entities and handlers need in every process and thread:
// today key-auth's pepper (keyauth_hash_keys). Each entry point that opens the store calls
// useNodeSecrets with the node's configuration, or, in a thread, useKeyHashing with the
// pepper the thread was given.

import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { useKeyHashing } from '../plugins/key-auth/hashing.js'
import { ADMIN_TOKEN_MIN_LENGTH } from './config/keys.js'
import type { Config } from './config/index.js'
import { ConfigError } from './errors.js'

export const PEPPER_FILE = 'keyauth_pepper'

/**
 * The pepper of key-auth key hashes, or undefined with keyauth_hash_keys off: the
 * configured one, or else the one under the prefix, made (mode 0600) at first start.
 */
export function keyauthPepper (config: Config): string | undefined {
  if (!config.keyauth_hash_keys) return undefined
  if (config.keyauth_pepper !== '') return config.keyauth_pepper
  const file = join(config.prefix, PEPPER_FILE)
  try {
    // 'wx': when two processes start at once, one makes it and the other reads it.
    writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { flag: 'wx', mode: 0o600 })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new ConfigError(`cannot create the key-auth pepper ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'keyauth_pepper')
  }
  let pepper: string
  try {
    pepper = readFileSync(file, 'utf8').trim()
  } catch (err) {
    throw new ConfigError(`cannot read the key-auth pepper ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'keyauth_pepper')
  }
  if (pepper.length < ADMIN_TOKEN_MIN_LENGTH) throw new ConfigError(`the key-auth pepper ${file} holds fewer than ${ADMIN_TOKEN_MIN_LENGTH} characters; restore it, or set 'keyauth_pepper'`, 'keyauth_pepper')
  return pepper
}

/** Applies the node's secrets to this process; returns the pepper, for threads it starts. */
export function useNodeSecrets (config: Config): string | undefined {
  const pepper = keyauthPepper(config)
  useKeyHashing(pepper)
  return pepper
}
