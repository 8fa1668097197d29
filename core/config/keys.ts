// The configuration keys: their defaults (embedded, so `tollgate start` needs no file),
// what each accepts, and how a raw string becomes a typed value. Names and value syntax
// follow kong.conf so a Kong user reads them without a manual.

import { availableParallelism } from 'node:os'
import { isIP } from 'node:net'

export interface Listener {
  host: string
  port: number
  backlog?: number
  /** `ssl`: connections are TLS (Kong's flag). */
  ssl?: boolean
  /** `http2`: TLS clients may choose HTTP/2 by ALPN; HTTP/1.1 stays available. */
  http2?: boolean
}

export const LOG_LEVELS = ['debug', 'info', 'notice', 'warn', 'error', 'crit', 'alert', 'emerg'] as const
export type LogLevel = typeof LOG_LEVELS[number]

export interface Config {
  /** Absolute directory holding the data store and runtime files. */
  prefix: string
  /** Proxy listeners; empty when `off`. */
  proxy_listen: Listener[]
  /** Admin API listeners; empty when `off`. */
  admin_listen: Listener[]
  /** Status API listeners (Kong's read-only monitoring endpoints); empty when `off`, the default. */
  status_listen: Listener[]
  /** Tollgate Manager (the web UI) listeners; empty when `off`. */
  admin_gui_listen: Listener[]
  /** The Admin API's URL as browsers reach it, for the Manager; '' to use the page's host and admin_listen's port. */
  admin_gui_api_url: string
  /** The Manager's origin: the only one the Admin API allows for CORS; '' allows any (Kong's default). */
  admin_gui_url: string
  /**
   * The token every Admin API request must carry (`Authorization: Bearer` or
   * `Kong-Admin-Token`); '' for none. After loading it also holds admin_token_file's content.
   */
  admin_token: string
  /** A file holding the admin token, absolute after loading; '' for none. */
  admin_token_file: string
  /** Lets the Admin API listen beyond loopback without a token. */
  admin_allow_unauthenticated: boolean
  /** Store key-auth keys as a peppered hash instead of in the clear (Kong stores them in the clear). */
  keyauth_hash_keys: boolean
  /** The pepper of key-auth key hashes; '' for the file under the prefix. */
  keyauth_pepper: string
  /** A file holding the pepper, absolute after loading; '' for none. */
  keyauth_pepper_file: string
  /** Worker processes to run; `auto` is resolved to the CPU count. */
  worker_processes: number
  /** Plugin names to load; `bundled` stands for every bundled plugin. */
  plugins: string[]
  log_level: LogLevel
  /** Answer `Kong-Debug: 1` requests with the matched route and service (Kong's option). */
  allow_debug_header: boolean
  /** Plugins whose handlers run in a worker-thread pool instead of the request's thread. */
  isolated_plugins: string[]
  isolation_pool_size: number
  /** Milliseconds one phase of an isolated plugin may take. */
  isolation_timeout: number
  /** Heap limit of each isolation worker, in MB. */
  isolation_max_memory: number
  /** Kong's own headers Tollgate adds to responses, lower-case (kong.conf `headers`). */
  headers: KongHeader[]
  /** Kong's own headers Tollgate adds to upstream requests (kong.conf `headers_upstream`). */
  headers_upstream: Array<'x-kong-request-id'>
  /** Largest request body the proxy accepts, in bytes; 0 for no limit (nginx client_max_body_size). */
  nginx_http_client_max_body_size: number
  /** The request line must fit one buffer, the whole head all of them (nginx large_client_header_buffers). */
  nginx_http_large_client_header_buffers: { number: number, size: number }
  /** Milliseconds a client may take to send a request's head (nginx client_header_timeout). */
  nginx_http_client_header_timeout: number
  /** Milliseconds a client may pause between two reads of a request body (nginx client_body_timeout). */
  nginx_http_client_body_timeout: number
  /** Bytes of the node's `kong_db_cache` shared dictionary (Kong's mem_cache_size). */
  mem_cache_size: number
  /** More named shared dictionaries and their sizes in bytes (Kong's injected `lua_shared_dict` directives). */
  nginx_http_lua_shared_dict: Record<string, number>
  /**
   * `lmdb`: the embedded store, written through the Admin API. `off`: DB-less, as Kong's
   * `database = off`: the configuration comes whole from a declarative file or POST /config,
   * and the Admin API's entity writes answer 405. `postgres`: a PostgreSQL database shared
   * by several nodes, each serving from its own LMDB copy of it (core/store/pg/).
   */
  database: 'lmdb' | 'postgres' | 'off'
  pg_host: string
  pg_port: number
  pg_user: string
  /** '' for none (trust or peer authentication). */
  pg_password: string
  pg_database: string
  /** The schema Tollgate's tables live in; '' for the user's search_path. */
  pg_schema: string
  pg_ssl: boolean
  pg_ssl_verify: boolean
  /** Milliseconds for connecting and for each statement. */
  pg_timeout: number
  /** Connections of each node's primary to PostgreSQL, besides its LISTEN connection. */
  pg_pool_size: number
  /** Queries in flight at once per process; 0: as many as the pool has connections. */
  pg_max_concurrent_queries: number
  /** Seconds between two polls of the change log: the safety net under LISTEN/NOTIFY. */
  db_update_frequency: number
  /** DB-less: a kong.yml (or .json) file loaded at every start; absolute, '' for none. */
  declarative_config: string
  /** DB-less: the declarative configuration itself, YAML or JSON; '' for none. */
  declarative_config_string: string
  /** Certificates for `ssl` proxy listeners: paths, PEM text or base64 PEM; [] for the generated defaults. */
  ssl_cert: string[]
  ssl_cert_key: string[]
  admin_ssl_cert: string[]
  admin_ssl_cert_key: string[]
  status_ssl_cert: string[]
  status_ssl_cert_key: string[]
  admin_gui_ssl_cert: string[]
  admin_gui_ssl_cert_key: string[]
  /** Mozilla's suites as Kong names them, or `custom` for ssl_ciphers and ssl_protocols. */
  ssl_cipher_suite: 'modern' | 'intermediate' | 'old' | 'custom'
  /** OpenSSL cipher list, with ssl_cipher_suite = custom. */
  ssl_ciphers: string
  /** Protocol versions, with ssl_cipher_suite = custom. */
  ssl_protocols: TlsVersion[]
  ssl_prefer_server_ciphers: boolean
  ssl_session_tickets: boolean
  /** Seconds a session may be resumed for. */
  ssl_session_timeout: number
}

export const TLS_VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const
export type TlsVersion = typeof TLS_VERSIONS[number]

/** The headers kong.conf's `headers` setting turns on and off, as Kong names them. */
export const KONG_HEADERS = ['Server', 'Via', 'X-Kong-Proxy-Latency', 'X-Kong-Response-Latency', 'X-Kong-Admin-Latency',
  'X-Kong-Upstream-Latency', 'X-Kong-Upstream-Status', 'X-Kong-Request-Id'] as const
export type KongHeader = Lowercase<typeof KONG_HEADERS[number]>

// Kong's two shorthands: server_tokens for Server and Via, latency_tokens for the four
// latency headers.
const HEADER_TOKENS: Record<string, KongHeader[]> = {
  server_tokens: ['server', 'via'],
  latency_tokens: ['x-kong-proxy-latency', 'x-kong-response-latency', 'x-kong-admin-latency', 'x-kong-upstream-latency'],
  ...Object.fromEntries(KONG_HEADERS.map((h) => [h.toLowerCase(), [h.toLowerCase() as KongHeader]])),
}

interface KeyDef<T> {
  default: string
  /** What the key accepts, in the words of the error message. */
  expects: string
  parse: (raw: string) => T
  description: string
}

/** Thrown by a parser; the loader adds the key and the source. */
export class BadValue extends Error {}

const LISTEN_EXPECTS = "'off' or a comma-separated list of host:port entries with optional flags ssl, http2, backlog=N (e.g. 0.0.0.0:8000, 0.0.0.0:8443 http2 ssl, [::1]:8000 backlog=511)"

// nginx socket tuning Kong's example values carry (kong.conf.default's proxy_listen has
// `reuseport backlog=16384`). Node's cluster already shares one listening socket among the
// workers, and accepts without deferral, so these are accepted and change nothing.
const NGINX_ONLY_FLAGS = new Set(['reuseport', 'deferred', 'bind'])

function parseListen (raw: string): Listener[] {
  const value = raw.trim()
  if (value === 'off') return []
  if (value === '') throw new BadValue('empty')
  return value.split(',').map((entry) => {
    const [address, ...flags] = entry.trim().split(/\s+/)
    const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address ?? '')
    if (m === null) throw new BadValue(`'${entry.trim()}' is not host:port`)
    const host = (m[1] ?? m[2]) as string
    if (m[1] !== undefined ? isIP(host) !== 6 : (host !== '*' && isIP(host) !== 4 && !/^[A-Za-z0-9.-]+$/.test(host))) {
      throw new BadValue(`'${host}' is not an IP address or host name`)
    }
    const port = Number(m[3])
    if (port > 65535) throw new BadValue(`port ${port} is out of range`)
    const listener: Listener = { host: host === '*' ? '0.0.0.0' : host, port }
    for (const flag of flags) {
      const backlog = /^backlog=(\d+)$/.exec(flag)
      if (backlog !== null) listener.backlog = Number(backlog[1])
      else if (flag === 'ssl') listener.ssl = true
      else if (flag === 'http2') listener.http2 = true
      else if (!NGINX_ONLY_FLAGS.has(flag)) throw new BadValue(`listen flag '${flag}' is not supported (supported: ssl, http2, backlog=N, reuseport)`)
    }
    // nginx would speak cleartext HTTP/2 only (prior knowledge) on such a port, which no
    // browser and few clients do; Tollgate negotiates HTTP/2 by ALPN, inside TLS.
    if (listener.http2 === true && listener.ssl !== true) throw new BadValue(`'${entry.trim()}': http2 needs ssl on the same entry (HTTP/2 is negotiated inside TLS)`)
    return listener
  })
}

/** A comma-separated list; PEM text may itself hold no commas, so the split is safe. */
/** An http(s) URL, with no trailing slash; '' for none. */
function parseGuiUrl (raw: string): string {
  const v = raw.trim()
  if (v === '') return ''
  let url: URL
  try { url = new URL(v) } catch { throw new BadValue(`'${v}' is not a URL`) }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new BadValue(`'${v}' is not an http or https URL`)
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') throw new BadValue(`'${v}' has a query, fragment or credentials`)
  return url.href.replace(/\/+$/, '')
}

/** An origin (scheme, host, port): what a browser sends in `Origin`; '' for none. */
function parseGuiOrigin (raw: string): string {
  const v = parseGuiUrl(raw)
  if (v === '') return ''
  const url = new URL(v)
  if (url.pathname !== '/') throw new BadValue(`'${raw.trim()}' has a path; an origin is <scheme>://<host>[:<port>]`)
  return url.origin
}

function parseList (raw: string): string[] {
  return raw.split(',').map((s) => s.trim()).filter((s) => s !== '')
}

function parseProtocols (raw: string): TlsVersion[] {
  const list = raw.trim().split(/\s+/).filter((s) => s !== '')
  if (list.length === 0) throw new BadValue('empty')
  for (const p of list) if (!(TLS_VERSIONS as readonly string[]).includes(p)) throw new BadValue(`'${p}' is not a TLS version`)
  // Node sets a range, not a set: TLSv1 and TLSv1.3 without the two between cannot be had.
  const idx = list.map((p) => TLS_VERSIONS.indexOf(p as TlsVersion)).sort()
  for (let i = 1; i < idx.length; i++) if ((idx[i] as number) - (idx[i - 1] as number) > 1) throw new BadValue('the versions must be consecutive (e.g. TLSv1.2 TLSv1.3)')
  return idx.map((i) => TLS_VERSIONS[i] as TlsVersion)
}

/** nginx time: 300, 300s, 5m, 12h, 1d. */
function parseDuration (raw: string): number {
  const m = /^(\d+)(s|m|h|d)?$/.exec(raw.trim())
  if (m === null) throw new BadValue('not a duration')
  return Number(m[1]) * ({ s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'] ?? 1)
}

function parseWorkers (raw: string): number {
  const value = raw.trim()
  if (value === 'auto') return availableParallelism()
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 1024) throw new BadValue('not auto or 1..1024')
  return Number(value)
}

const PLUGIN_NAME = /^(?:@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*$|^(?:\.{0,2}\/|\/).+$/

function parsePlugins (raw: string): string[] {
  const names = raw.split(',').map((s) => s.trim()).filter((s) => s !== '')
  if (names.length === 1 && names[0] === 'off') return []
  for (const n of names) if (!PLUGIN_NAME.test(n)) throw new BadValue(`'${n}' is not a plugin name or path`)
  return [...new Set(names)]
}

function parseLogLevel (raw: string): LogLevel {
  const v = raw.trim() as LogLevel
  if (!LOG_LEVELS.includes(v)) throw new BadValue('unknown level')
  return v
}

function parseBoolean (raw: string): boolean {
  const v = raw.trim().toLowerCase()
  if (v === 'on' || v === 'true') return true
  if (v === 'off' || v === 'false') return false
  throw new BadValue('not a boolean')
}

const intIn = (lo: number, hi: number) => (raw: string): number => {
  const v = raw.trim()
  if (!/^\d+$/.test(v) || Number(v) < lo || Number(v) > hi) throw new BadValue('out of range')
  return Number(v)
}

function parseNames (raw: string): string[] {
  const names = raw.split(',').map((s) => s.trim()).filter((s) => s !== '')
  for (const n of names) if (!/^[a-z0-9][a-z0-9_-]*$/.test(n)) throw new BadValue(`'${n}' is not a plugin name`)
  return [...new Set(names)]
}

/**
 * A `headers` / `headers_upstream` list, case-insensitive. As in Kong, `off` first turns
 * every header off, and an `off` after other entries is ignored.
 */
const headerList = <T extends string>(allowed: Record<string, T[]>) => (raw: string): T[] => {
  const entries = raw.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '')
  for (const e of entries) if (e !== 'off' && allowed[e] === undefined) throw new BadValue(`invalid entry '${e}'`)
  if (entries[0] === 'off') return []
  return [...new Set(entries.flatMap((e) => allowed[e] ?? []))]
}

// nginx's value syntax, which Kong's nginx_http_* keys take: sizes as 8k / 10m / 1g or
// bytes, times as 500ms / 60s / 1m / 1h or seconds.
const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }
const TIME_UNITS: Record<string, number> = { ms: 1, '': 1000, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

function nonEmpty (raw: string): string {
  const v = raw.trim()
  if (v === '') throw new BadValue('empty')
  return v
}

function parseSize (raw: string): number {
  const m = /^(\d{1,12})([kmg]?)$/i.exec(raw.trim())
  if (m === null) throw new BadValue('not a size')
  const bytes = Number(m[1]) * (SIZE_UNITS[(m[2] as string).toLowerCase()] as number)
  if (bytes > Number.MAX_SAFE_INTEGER) throw new BadValue('too large')
  return bytes
}

const timeIn = (lo: number, hi: number) => (raw: string): number => {
  const m = /^(\d{1,9})(ms|[smhd]?)$/i.exec(raw.trim())
  if (m === null) throw new BadValue('not a time')
  const ms = Number(m[1]) * (TIME_UNITS[(m[2] as string).toLowerCase()] as number)
  if (ms < lo || ms > hi) throw new BadValue('out of range')
  return ms
}

function parseHeaderBuffers (raw: string): { number: number, size: number } {
  const m = /^(\d{1,3})\s+(\S+)$/.exec(raw.trim())
  if (m === null) throw new BadValue('not a number and a size')
  const number = Number(m[1])
  const size = parseSize(m[2] as string)
  // The upper bound keeps the whole head within what node's parser can be given.
  if (number < 1 || size < 1024 || number * size > 1024 * 1024) throw new BadValue('out of range')
  return { number, size }
}

/**
 * `name size` entries, separated by ',' or ';'. Kong users declare extra zones with
 * `nginx_http_lua_shared_dict = name 5m`, and several with the injection trick
 * `a 5m; lua_shared_dict b 5m`: both read the same here.
 */
function parseSharedDicts (raw: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const entry of raw.split(/[,;]/).map((s) => s.trim()).filter((s) => s !== '')) {
    const m = /^(?:lua_shared_dict\s+)?([A-Za-z0-9_-]+)\s+(\S+)$/.exec(entry)
    if (m === null) throw new BadValue(`'${entry}' is not 'name size'`)
    const size = parseSize(m[2] as string)
    if (size < 8 * 1024) throw new BadValue(`'${entry}': a dictionary needs at least 8k`)
    out[m[1] as string] = size
  }
  return out
}

/** The shortest admin token accepted: anything shorter is guessable. */
export const ADMIN_TOKEN_MIN_LENGTH = 16

function parseSecret (raw: string): string {
  const v = raw.trim()
  if (v !== '' && v.length < ADMIN_TOKEN_MIN_LENGTH) throw new BadValue(`too short (${v.length} characters)`)
  return v
}

/** A token is sent in a header, `Authorization: Bearer` among them: one printable ASCII word. */
function parseAdminToken (raw: string): string {
  const v = parseSecret(raw)
  if (!/^[\x21-\x7e]*$/.test(v)) throw new BadValue('not printable ASCII without spaces')
  return v
}

function parsePrefix (raw: string): string {
  const v = raw.trim()
  if (v === '') throw new BadValue('empty')
  return v
}

export const KEYS: { [K in keyof Config]: KeyDef<Config[K]> } = {
  prefix: {
    default: './tollgate-data',
    expects: 'a directory path',
    parse: parsePrefix,
    description: 'Directory for the data store and runtime files; relative paths start at the working directory',
  },
  proxy_listen: {
    default: '0.0.0.0:8000, 0.0.0.0:8443 http2 ssl',
    expects: LISTEN_EXPECTS,
    parse: parseListen,
    description: 'Where the proxy accepts client traffic',
  },
  admin_listen: {
    default: '127.0.0.1:8001, 127.0.0.1:8444 ssl',
    expects: LISTEN_EXPECTS,
    parse: parseListen,
    description: 'Where the Admin API listens; keep it on loopback or behind a firewall',
  },
  status_listen: {
    default: 'off',
    expects: LISTEN_EXPECTS,
    parse: parseListen,
    description: "Where the Status API listens (GET /status, and prometheus's /metrics): read-only, for monitoring; e.g. 127.0.0.1:8100",
  },
  admin_gui_listen: {
    default: '127.0.0.1:8002, 127.0.0.1:8445 ssl',
    expects: LISTEN_EXPECTS,
    parse: parseListen,
    description: 'Where Tollgate Manager (the web UI) is served; the browser then calls the Admin API, so admin_listen must be reachable from it too',
  },
  admin_gui_api_url: {
    default: '',
    expects: 'empty, or an http(s) URL: <scheme>://<host>[:<port>][/<path>]',
    parse: parseGuiUrl,
    description: "The Admin API's address as the Manager's browsers reach it (behind a load balancer, say); empty: the page's own host with admin_listen's port",
  },
  admin_gui_url: {
    default: '',
    expects: 'empty, or the Manager\'s origin: <scheme>://<host>[:<port>]',
    parse: parseGuiOrigin,
    description: "The Manager's origin as browsers see it; when set, the Admin API allows only this origin for CORS (Kong's admin_gui_url); empty: any origin",
  },
  admin_token: {
    default: '',
    expects: `empty, or a token of at least ${ADMIN_TOKEN_MIN_LENGTH} printable ASCII characters, no spaces`,
    parse: parseAdminToken,
    description: 'Every Admin API request must send it as Authorization: Bearer <token> or Kong-Admin-Token: <token>, or is answered 401; empty for no token',
  },
  admin_token_file: {
    default: '',
    expects: 'a path to a file holding the admin token',
    parse: (raw) => raw.trim(),
    description: "A file holding the admin token (surrounding whitespace ignored), instead of admin_token; relative paths start at the working directory",
  },
  admin_allow_unauthenticated: {
    default: 'off',
    expects: "'on' or 'off'",
    parse: parseBoolean,
    description: 'With on, the Admin API may listen on a non-loopback address without a token; otherwise that refuses to start',
  },
  keyauth_hash_keys: {
    default: 'off',
    expects: "'on' or 'off'",
    parse: parseBoolean,
    description: "With on, key-auth keys are stored as 'sha256:' and the hex HMAC-SHA-256 of the key under the pepper; the plaintext is shown once, when the credential is created",
  },
  keyauth_pepper: {
    default: '',
    expects: `empty, or a secret of at least ${ADMIN_TOKEN_MIN_LENGTH} characters`,
    parse: parseSecret,
    description: "With keyauth_hash_keys = on: the HMAC key of stored key hashes, the same on every node; empty for keyauth_pepper_file, or else <prefix>/keyauth_pepper, generated at first start",
  },
  keyauth_pepper_file: {
    default: '',
    expects: 'a path to a file holding the pepper',
    parse: (raw) => raw.trim(),
    description: 'With keyauth_hash_keys = on: a file holding the pepper (surrounding whitespace ignored), instead of keyauth_pepper',
  },
  worker_processes: {
    default: '1',
    expects: "'auto' or a whole number from 1 to 1024",
    parse: parseWorkers,
    description: 'Proxy worker processes (auto = one per CPU)',
  },
  plugins: {
    default: 'bundled',
    expects: "a comma-separated list of plugin names or paths, 'bundled' or 'off'",
    parse: parsePlugins,
    description: 'Plugins this node loads; `bundled` stands for all bundled plugins',
  },
  allow_debug_header: {
    default: 'off',
    expects: "'on' or 'off'",
    parse: parseBoolean,
    description: 'With on, requests sending Kong-Debug: 1 get Kong-Route-Id/-Name, Kong-Service-Id/-Name and Tollgate-Worker headers back',
  },
  isolated_plugins: {
    default: '',
    expects: 'a comma-separated list of loaded plugin names',
    parse: parseNames,
    description: 'Plugins run isolated in worker threads: a crash, a hang or a memory blow-up fails only the request',
  },
  isolation_pool_size: {
    default: '2',
    expects: 'a whole number from 1 to 64',
    parse: intIn(1, 64),
    description: 'Worker threads per gateway process for isolated plugins',
  },
  isolation_timeout: {
    default: '2000',
    expects: 'milliseconds from 1 to 600000',
    parse: intIn(1, 600_000),
    description: 'How long one phase of an isolated plugin may run before the request fails with 500',
  },
  isolation_max_memory: {
    default: '128',
    expects: 'megabytes from 16 to 16384',
    parse: intIn(16, 16_384),
    description: 'Heap limit of each isolation worker thread',
  },
  headers: {
    default: 'server_tokens, latency_tokens, X-Kong-Request-Id',
    expects: `'off' or a comma-separated list of server_tokens, latency_tokens, ${KONG_HEADERS.join(', ')}`,
    parse: headerList(HEADER_TOKENS),
    description: "Kong's own headers added to responses; server_tokens stands for Server and Via, latency_tokens for the latency headers",
  },
  headers_upstream: {
    default: 'X-Kong-Request-Id',
    expects: "'off' or X-Kong-Request-Id",
    parse: headerList({ 'x-kong-request-id': ['x-kong-request-id' as const] }),
    description: "Kong's own headers added to upstream requests",
  },
  nginx_http_client_max_body_size: {
    default: '0',
    expects: 'a size such as 0, 512k, 10m or 1g (0: no limit)',
    parse: parseSize,
    description: 'Largest request body proxied; a larger one is answered 413 before any plugin runs (Content-Length) or as soon as it is exceeded (chunked)',
  },
  nginx_http_large_client_header_buffers: {
    default: '4 8k',
    expects: "a number and a size, e.g. '4 8k' (at most 1m in all)",
    parse: parseHeaderBuffers,
    description: 'A request line longer than one buffer is answered 414; a header line longer than one, or a head larger than all of them, 494 (as Kong)',
  },
  nginx_http_client_header_timeout: {
    default: '60s',
    expects: 'a time from 100ms to 1h, such as 500ms, 60s or 1m',
    parse: timeIn(100, 3_600_000),
    description: 'A client that has not sent a whole request head in this time is answered 408 and disconnected',
  },
  nginx_http_client_body_timeout: {
    default: '60s',
    expects: 'a time from 100ms to 1h, such as 500ms, 60s or 1m',
    parse: timeIn(100, 3_600_000),
    description: 'A client that sends no request body bytes for this long is answered 408 (if no answer has started) and disconnected',
  },
  mem_cache_size: {
    default: '128m',
    expects: 'a size of at least 8k, such as 128m or 1g',
    parse: (raw) => {
      const size = parseSize(raw)
      if (size < 8 * 1024) throw new BadValue('too small')
      return size
    },
    description: "Size of the node's kong_db_cache shared dictionary, where proxy-cache keeps responses by default; its least recently used entries are evicted when full",
  },
  nginx_http_lua_shared_dict: {
    default: '',
    expects: "'name size' entries separated by ',' or ';', such as 'my_cache 10m'",
    parse: parseSharedDicts,
    description: 'More node-wide shared dictionaries, each bounded to its size with LRU eviction (e.g. for proxy-cache memory.dictionary_name)',
  },
  database: {
    default: 'lmdb',
    expects: "'lmdb', 'postgres' or 'off'",
    parse: (raw) => {
      const v = raw.trim().toLowerCase()
      if (v !== 'lmdb' && v !== 'postgres' && v !== 'off') throw new BadValue('unknown database')
      return v
    },
    description: 'lmdb: the embedded store, written through the Admin API; postgres: a PostgreSQL database shared by several nodes, each serving from a local copy; off: DB-less, the configuration comes from declarative_config or POST /config',
  },
  // Kong's pg_* keys, with Kong's defaults (kong.conf.default).
  pg_host: {
    default: '127.0.0.1',
    expects: 'a host name or IP address',
    parse: nonEmpty,
    description: 'With database = postgres: the PostgreSQL server',
  },
  pg_port: {
    default: '5432',
    expects: 'a port from 1 to 65535',
    parse: intIn(1, 65535),
    description: 'With database = postgres: the PostgreSQL port',
  },
  pg_user: {
    default: 'kong',
    expects: 'a user name',
    parse: (raw) => raw.trim(),
    description: 'With database = postgres: the user to connect as',
  },
  pg_password: {
    default: '',
    expects: 'a password',
    parse: (raw) => raw,
    description: 'With database = postgres: the password, if the server asks for one',
  },
  pg_database: {
    default: 'kong',
    expects: 'a database name',
    parse: nonEmpty,
    description: 'With database = postgres: the database, created beforehand (tollgate migrations bootstrap creates the tables in it)',
  },
  pg_schema: {
    default: '',
    expects: 'a schema name (letters, digits and _), or empty for the search_path',
    parse: (raw) => {
      const v = raw.trim()
      if (v !== '' && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(v)) throw new BadValue('not a plain identifier')
      return v
    },
    description: "With database = postgres: the schema of Tollgate's tables; empty for the user's search_path",
  },
  pg_ssl: {
    default: 'off',
    expects: "'on' or 'off'",
    parse: parseBoolean,
    description: 'With database = postgres: connect over TLS',
  },
  pg_ssl_verify: {
    default: 'off',
    expects: "'on' or 'off'",
    parse: parseBoolean,
    description: "With pg_ssl = on: verify the server's certificate against the system CAs",
  },
  pg_timeout: {
    default: '5000',
    expects: 'milliseconds from 100 to 600000',
    parse: intIn(100, 600_000),
    description: 'With database = postgres: how long connecting, and each statement, may take (ms)',
  },
  pg_pool_size: {
    default: '4',
    expects: 'an integer from 1 to 100',
    parse: intIn(1, 100),
    description: "With database = postgres: connections of each node's primary process (Admin API writes, catching up), besides one LISTEN connection; proxy processes open their own only for the rate-limiting cluster policy",
  },
  pg_max_concurrent_queries: {
    default: '0',
    expects: 'an integer from 0 to 1000',
    parse: intIn(0, 1000),
    description: 'With database = postgres: queries in flight at once per process; 0 for as many as its pool has connections',
  },
  db_update_frequency: {
    default: '5',
    expects: 'seconds from 1 to 3600',
    parse: intIn(1, 3600),
    description: "With database = postgres: how often each node polls the change log, beside LISTEN/NOTIFY's prompt delivery (a missed notification is caught within this)",
  },
  declarative_config: {
    default: '',
    expects: 'a path to a .yml, .yaml or .json file',
    parse: (raw) => raw.trim(),
    description: "With database = off: a declarative configuration file (Kong's kong.yml) loaded at every start; relative paths start at the working directory",
  },
  declarative_config_string: {
    default: '',
    expects: 'a declarative configuration, YAML or JSON',
    parse: (raw) => raw,
    description: 'With database = off and no declarative_config: the declarative configuration itself',
  },
  ssl_cert: {
    default: '',
    expects: 'a comma-separated list of certificates: absolute paths, PEM text or base64-encoded PEM',
    parse: parseList,
    description: 'Certificates for `proxy_listen` entries with `ssl` (one per key type: RSA, ECDSA); unset: a pair generated into the prefix at first start',
  },
  ssl_cert_key: {
    default: '',
    expects: 'a comma-separated list of private keys, in the order of ssl_cert',
    parse: parseList,
    description: 'Private keys for `ssl_cert`, in the same order',
  },
  admin_ssl_cert: {
    default: '',
    expects: 'a comma-separated list of certificates: absolute paths, PEM text or base64-encoded PEM',
    parse: parseList,
    description: 'Certificates for `admin_listen` entries with `ssl` (one per key type: RSA, ECDSA); unset: a pair generated into the prefix at first start',
  },
  admin_ssl_cert_key: {
    default: '',
    expects: 'a comma-separated list of private keys, in the order of admin_ssl_cert',
    parse: parseList,
    description: 'Private keys for `admin_ssl_cert`, in the same order',
  },
  status_ssl_cert: {
    default: '',
    expects: 'a comma-separated list of certificates: absolute paths, PEM text or base64-encoded PEM',
    parse: parseList,
    description: 'Certificates for `status_listen` entries with `ssl` (one per key type: RSA, ECDSA); unset: a pair generated into the prefix at first start',
  },
  status_ssl_cert_key: {
    default: '',
    expects: 'a comma-separated list of private keys, in the order of status_ssl_cert',
    parse: parseList,
    description: 'Private keys for `status_ssl_cert`, in the same order',
  },
  admin_gui_ssl_cert: {
    default: '',
    expects: 'a comma-separated list of certificates: absolute paths, PEM text or base64-encoded PEM',
    parse: parseList,
    description: 'Certificates for `admin_gui_listen` entries with `ssl` (one per key type: RSA, ECDSA); unset: a pair generated into the prefix at first start',
  },
  admin_gui_ssl_cert_key: {
    default: '',
    expects: 'a comma-separated list of private keys, in the order of admin_gui_ssl_cert',
    parse: parseList,
    description: 'Private keys for `admin_gui_ssl_cert`, in the same order',
  },
  ssl_cipher_suite: {
    default: 'intermediate',
    expects: 'one of modern, intermediate, old, custom',
    parse: (raw) => {
      const v = raw.trim()
      if (v === 'fips') throw new BadValue('fips needs a FIPS build of OpenSSL, which Node does not ship')
      if (!['modern', 'intermediate', 'old', 'custom'].includes(v)) throw new BadValue('unknown suite')
      return v as Config['ssl_cipher_suite']
    },
    description: "Mozilla's server-side TLS recommendations (v5), as Kong applies them to TLS listeners; `custom` uses ssl_ciphers and ssl_protocols",
  },
  ssl_ciphers: {
    default: '',
    expects: 'an OpenSSL cipher list (openssl ciphers syntax)',
    parse: (raw) => raw.trim(),
    description: 'With ssl_cipher_suite = custom: the ciphers served (TLSv1.3 suites by their TLS_ names)',
  },
  ssl_protocols: {
    default: 'TLSv1.1 TLSv1.2 TLSv1.3',
    expects: 'consecutive TLS versions among TLSv1, TLSv1.1, TLSv1.2, TLSv1.3, space-separated',
    parse: parseProtocols,
    description: 'With ssl_cipher_suite = custom: the protocol versions served',
  },
  ssl_prefer_server_ciphers: {
    default: 'on',
    expects: "'on' or 'off'",
    parse: parseBoolean,
    description: "With ssl_cipher_suite = custom: the server's cipher order wins over the client's",
  },
  ssl_session_tickets: {
    default: 'on',
    expects: "'on' or 'off'",
    parse: parseBoolean,
    description: 'Resume TLS sessions by tickets; every worker process of a node shares the ticket keys',
  },
  ssl_session_timeout: {
    default: '1d',
    expects: 'a duration: seconds, or a number followed by s, m, h or d',
    parse: parseDuration,
    description: 'How long a TLS session may be resumed',
  },
  log_level: {
    default: 'notice',
    expects: `one of ${LOG_LEVELS.join(', ')}`,
    parse: parseLogLevel,
    description: 'Least severe level that is logged',
  },
}
