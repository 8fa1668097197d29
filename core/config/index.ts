// Configuration precedence, lowest to highest: embedded defaults <- config file
// (`--conf FILE` or TOLLGATE_CONF) <- TOLLGATE_<KEY> environment variables, as in Kong
// (kong.conf <- KONG_* env). Everything is validated here, once, at boot.

import { accessSync, constants, readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { resolve } from 'node:path'
import { makeDirectory } from '../dirs.js'
import { ConfigError } from '../errors.js'
import { BadValue, KEYS, type Config } from './keys.js'

export type { Config, Listener, LogLevel, TlsVersion } from './keys.js'
export { KEYS, LOG_LEVELS } from './keys.js'

const ENV_PREFIX = 'TOLLGATE_'
/** Environment variables that steer loading itself rather than name a key. */
const META_ENV = new Set(['TOLLGATE_CONF'])

export interface LoadOptions {
  /** Config file path (from `--conf`); falls back to TOLLGATE_CONF. */
  conf?: string
  /** Values that win over everything (from CLI flags such as `--prefix`). */
  overrides?: Partial<Record<keyof Config, string>>
  env?: NodeJS.ProcessEnv
  cwd?: string
}

/** Parses kong.conf syntax: `key = value` lines, `#` comments (`\#` for a literal `#`). */
export function parseConfFile (text: string, file: string): Map<string, string> {
  const out = new Map<string, string>()
  text.split(/\r?\n/).forEach((line, i) => {
    const stripped = line.replace(/(?<!\\)#.*$/, '').replace(/\\#/g, '#').trim()
    if (stripped === '') return
    const eq = stripped.indexOf('=')
    if (eq <= 0) throw new ConfigError(`${file}:${i + 1}: expected 'key = value', got '${line.trim()}'`)
    out.set(stripped.slice(0, eq).trim(), stripped.slice(eq + 1).trim())
  })
  return out
}

export function loadConfig (opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env
  const cwd = opts.cwd ?? process.cwd()
  const raw = new Map<string, { value: string, source: string }>()
  for (const [key, def] of Object.entries(KEYS)) raw.set(key, { value: def.default, source: 'default' })

  const confPath = opts.conf ?? env.TOLLGATE_CONF
  if (confPath !== undefined && confPath !== '') {
    const file = resolve(cwd, confPath)
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (err) {
      throw new ConfigError(`cannot read configuration file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
    }
    for (const [key, value] of parseConfFile(text, file)) {
      if (!(key in KEYS)) throw new ConfigError(`unknown configuration key '${key}' in ${file} (known keys: ${Object.keys(KEYS).join(', ')})`, key)
      raw.set(key, { value, source: file })
    }
  }

  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || META_ENV.has(name) || value === undefined) continue
    const key = name.slice(ENV_PREFIX.length).toLowerCase()
    if (!(key in KEYS)) throw new ConfigError(`unknown configuration key '${key}' from environment variable ${name} (known keys: ${Object.keys(KEYS).join(', ')})`, key)
    raw.set(key, { value, source: `environment variable ${name}` })
  }

  for (const [key, value] of Object.entries(opts.overrides ?? {})) {
    if (value !== undefined) raw.set(key, { value, source: 'command line' })
  }

  const config: Record<string, unknown> = {}
  for (const [key, def] of Object.entries(KEYS)) {
    const { value, source } = raw.get(key) as { value: string, source: string }
    try {
      config[key] = (def.parse as (s: string) => unknown)(value)
    } catch (err) {
      if (!(err instanceof BadValue)) throw err
      // A secret's value stays out of the message, which ends up in logs.
      const shown = (SENSITIVE as readonly string[]).includes(key) ? 'the value' : JSON.stringify(value)
      throw new ConfigError(`invalid value for '${key}' (${source}): ${shown}: ${err.message}; expected ${def.expects}`, key)
    }
  }
  const result = config as unknown as Config
  result.prefix = resolve(cwd, result.prefix)
  if (result.declarative_config !== '') result.declarative_config = resolve(cwd, result.declarative_config)
  result.admin_token = secretFrom(result, 'admin_token', 'admin_token_file', cwd)
  result.keyauth_pepper = secretFrom(result, 'keyauth_pepper', 'keyauth_pepper_file', cwd)
  checkAdminExposure(result)
  // Kong ignores these keys with a database; a user who sets them expects them used.
  if (result.database !== 'off') {
    for (const key of ['declarative_config', 'declarative_config_string'] as const) {
      if (result[key] !== '') throw new ConfigError(`'${key}' is only used with database = off (DB-less mode); set database = off or remove it`, key)
    }
  }
  for (const key of ['admin_listen', 'status_listen', 'admin_gui_listen'] as const) {
    if (result[key].some((l) => l.http2 === true)) throw new ConfigError(`'${key}': http2 is served on proxy_listen only; remove the flag (ssl alone serves HTTP/1.1 over TLS)`, key)
  }
  return result
}

/**
 * A secret given either in the clear (`key`) or as a file holding it (`fileKey`), never
 * both: returns the secret, with the file's path made absolute in the config.
 */
function secretFrom (config: Config, key: 'admin_token' | 'keyauth_pepper', fileKey: 'admin_token_file' | 'keyauth_pepper_file', cwd: string): string {
  if (config[fileKey] === '') return config[key]
  if (config[key] !== '') throw new ConfigError(`'${key}' and '${fileKey}' are both set; set only one of them`, fileKey)
  const file = config[fileKey] = resolve(cwd, config[fileKey])
  let secret: string
  try {
    secret = readFileSync(file, 'utf8').trim()
  } catch (err) {
    throw new ConfigError(`cannot read '${fileKey}' ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, fileKey)
  }
  if (secret === '') throw new ConfigError(`'${fileKey}' ${file} is empty`, fileKey)
  try {
    return (KEYS[key].parse as (s: string) => string)(secret)
  } catch (err) {
    if (!(err instanceof BadValue)) throw err
    throw new ConfigError(`invalid content of '${fileKey}' ${file}: ${err.message}; expected ${KEYS[key].expects}`, fileKey)
  }
}

/** Whether a listener is reachable from this host only. */
export function isLoopback (host: string): boolean {
  const h = host.toLowerCase()
  if (h === 'localhost' || h === '::1') return true
  if (isIP(h) === 4) return h.startsWith('127.')
  // ::ffff:127.0.0.1, an IPv4 loopback address written as IPv6.
  return isIP(h) === 6 && /^::ffff:127\./.test(h)
}

/**
 * An Admin API anyone on the network can reach and nobody has to log in to is the whole
 * gateway handed out: refused unless a token is set or the operator says so.
 */
function checkAdminExposure (config: Config): void {
  if (config.admin_token !== '' || config.admin_allow_unauthenticated) return
  const exposed = config.admin_listen.find((l) => !isLoopback(l.host))
  if (exposed === undefined) return
  const address = `${exposed.host.includes(':') ? `[${exposed.host}]` : exposed.host}:${exposed.port}`
  throw new ConfigError(`admin_listen ${address} is not a loopback address and no admin token is set: ` +
    "set 'admin_token' (or 'admin_token_file') so that Admin API requests must carry it, " +
    "or set 'admin_allow_unauthenticated = on' to serve it to the network without one", 'admin_listen')
}

/** Creates the prefix directory and proves it writable, or throws a ConfigError saying why. */
export function preparePrefix (prefix: string): void {
  try {
    makeDirectory(prefix)
    accessSync(prefix, constants.W_OK)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message
    throw new ConfigError(`prefix directory ${prefix} is not writable (${code}); set 'prefix' to a writable directory`, 'prefix')
  }
}

/**
 * Keys whose values `GET /` never shows, as Kong's CONF_SENSITIVE (kong/conf_loader):
 * a set one reads as Kong's placeholder. The configuration string may hold credentials;
 * admin_token and keyauth_pepper are Tollgate's own secrets.
 */
const SENSITIVE = ['pg_password', 'declarative_config_string', 'admin_token', 'keyauth_pepper', 'ssl_cert_key', 'admin_ssl_cert_key', 'status_ssl_cert_key', 'admin_gui_ssl_cert_key'] as const
export const SENSITIVE_PLACEHOLDER = '******'

/** The configuration as `GET /` shows it: listeners rendered back to kong.conf syntax, secrets hidden. */
export function describeConfig (config: Config): Record<string, unknown> {
  const listen = (ls: Config['proxy_listen']) => ls.length === 0
    ? ['off']
    : ls.map((l) => `${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}${l.http2 === true ? ' http2' : ''}${l.ssl === true ? ' ssl' : ''}${l.backlog !== undefined ? ` backlog=${l.backlog}` : ''}`)
  const shown: Record<string, unknown> = { ...config, proxy_listen: listen(config.proxy_listen), admin_listen: listen(config.admin_listen), status_listen: listen(config.status_listen), admin_gui_listen: listen(config.admin_gui_listen) }
  for (const key of SENSITIVE) if (config[key].length > 0) shown[key] = SENSITIVE_PLACEHOLDER
  return shown
}
