// Where a TLS listener's default certificates come from: `ssl_cert` / `ssl_cert_key` (and the
// admin_ / status_ pairs), given as Kong accepts them (a path, the PEM text, or base64 of
// it), or else a pair generated into the prefix at first start and reused after, as Kong
// does with kong-default.crt and kong-default-ecdsa.crt.

import { X509Certificate, createPrivateKey } from 'node:crypto'
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { isAbsolute, join, resolve } from 'node:path'
import type { Config } from '../config/index.js'
import { makeDirectory } from '../dirs.js'
import { ConfigError } from '../errors.js'
import { selfSigned, type PemPair } from './self-signed.js'

export type { PemPair }

/** The three listener kinds with their own certificate keys. */
export type TlsApi = 'proxy' | 'admin' | 'status' | 'gui'

const KEYS = {
  proxy: ['ssl_cert', 'ssl_cert_key', 'proxy_listen'],
  admin: ['admin_ssl_cert', 'admin_ssl_cert_key', 'admin_listen'],
  status: ['status_ssl_cert', 'status_ssl_cert_key', 'status_listen'],
  gui: ['admin_gui_ssl_cert', 'admin_gui_ssl_cert_key', 'admin_gui_listen'],
} as const satisfies Record<TlsApi, readonly [keyof Config, keyof Config, keyof Config]>

/** PEM text from one entry: PEM itself, base64 of PEM, or a file path (relative to `cwd`). */
function pemOf (entry: string, key: string, cwd: string): string {
  if (entry.startsWith('-----BEGIN')) return entry
  if (/^[A-Za-z0-9+/=\s]+$/.test(entry) && entry.length > 64) {
    const decoded = Buffer.from(entry, 'base64').toString('utf8')
    if (decoded.startsWith('-----BEGIN')) return decoded
  }
  const file = isAbsolute(entry) ? entry : resolve(cwd, entry)
  try {
    return readFileSync(file, 'utf8')
  } catch (err) {
    throw new ConfigError(`${key}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, key)
  }
}

/**
 * The configured pairs for `api`, checked: as many keys as certificates, each parses, each
 * key belongs to its certificate. Undefined when none is configured.
 */
export function configuredPairs (config: Config, api: TlsApi, cwd = process.cwd()): PemPair[] | undefined {
  const [certKey, keyKey] = KEYS[api]
  const certs = config[certKey]
  const keys = config[keyKey]
  if (certs.length === 0 && keys.length === 0) return undefined
  if (certs.length !== keys.length) {
    throw new ConfigError(`${certKey} and ${keyKey} must list as many entries each (${certs.length} certificates, ${keys.length} keys)`, certKey)
  }
  return certs.map((c, i) => {
    const cert = pemOf(c, certKey, cwd)
    const key = pemOf(keys[i] as string, keyKey, cwd)
    let x509: X509Certificate
    try { x509 = new X509Certificate(cert) } catch (err) { throw new ConfigError(`${certKey}: entry ${i + 1} is not a PEM certificate (${(err as Error).message})`, certKey) }
    let pkey
    try { pkey = createPrivateKey(key) } catch (err) { throw new ConfigError(`${keyKey}: entry ${i + 1} is not a PEM private key (${(err as Error).message})`, keyKey) }
    if (!x509.checkPrivateKey(pkey)) throw new ConfigError(`${keyKey}: entry ${i + 1} does not match the certificate of ${certKey} entry ${i + 1}`, keyKey)
    return { cert, key }
  })
}

/** Where the generated defaults live in the prefix. */
export function defaultCertPaths (prefix: string): Array<{ cert: string, key: string, type: 'rsa' | 'ecdsa' }> {
  const dir = join(prefix, 'ssl')
  return [
    { cert: join(dir, 'tollgate-default.crt'), key: join(dir, 'tollgate-default.key'), type: 'rsa' },
    { cert: join(dir, 'tollgate-default-ecdsa.crt'), key: join(dir, 'tollgate-default-ecdsa.key'), type: 'ecdsa' },
  ]
}

/**
 * The generated RSA and ECDSA defaults, made on first use and kept in the prefix, so a
 * client that pinned one keeps seeing it across restarts. Written to a temporary name and
 * renamed, so a process reading them never sees half a file.
 */
export function defaultPairs (prefix: string): PemPair[] {
  return defaultCertPaths(prefix).map(({ cert, key, type }) => {
    if (!existsSync(cert) || !existsSync(key)) {
      makeDirectory(join(prefix, 'ssl'), 0o700)
      const pair = selfSigned(type)
      const tmp = `.${process.pid}.tmp`
      writeFileSync(key + tmp, pair.key, { mode: 0o600 })
      writeFileSync(cert + tmp, pair.cert)
      renameSync(key + tmp, key)
      renameSync(cert + tmp, cert)
      return pair
    }
    return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') }
  })
}

/** Whether any listener of `api` is a TLS one. */
export function needsTls (config: Config, api: TlsApi): boolean {
  return config[KEYS[api][2]].some((l) => l.ssl === true)
}

/** The pairs `api`'s TLS listeners serve by default: the configured ones, else the generated. */
export function listenerPairs (config: Config, api: TlsApi): PemPair[] {
  return configuredPairs(config, api) ?? defaultPairs(config.prefix)
}
