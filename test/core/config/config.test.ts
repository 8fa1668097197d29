import { writeFileSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { describeConfig, loadConfig, parseConfFile, preparePrefix } from '../../../core/config/index.js'
import { ConfigError } from '../../../core/errors.js'
import { sharedDictSizes } from '../../../core/gateway.js'
import { VERSION } from '../../../core/meta.js'
import { tempDir } from '../../helpers/store.js'

t.test('embedded defaults', async (t) => {
  const c = loadConfig({ env: {}, cwd: '/srv' })
  t.same(c, {
    prefix: '/srv/tollgate-data',
    // Kong's defaults: a TLS port beside each plain one (HTTP/2 on the proxy's).
    proxy_listen: [{ host: '0.0.0.0', port: 8000 }, { host: '0.0.0.0', port: 8443, http2: true, ssl: true }],
    admin_listen: [{ host: '127.0.0.1', port: 8001 }, { host: '127.0.0.1', port: 8444, ssl: true }],
    status_listen: [],
    admin_gui_listen: [{ host: '127.0.0.1', port: 8002 }, { host: '127.0.0.1', port: 8445, ssl: true }],
    admin_gui_api_url: '',
    admin_gui_url: '',
    admin_token: '',
    admin_token_file: '',
    admin_allow_unauthenticated: false,
    keyauth_hash_keys: false,
    keyauth_pepper: '',
    keyauth_pepper_file: '',
    worker_processes: 1,
    plugins: ['bundled'],
    log_level: 'notice',
    allow_debug_header: false,
    isolated_plugins: [],
    isolation_pool_size: 2,
    isolation_timeout: 2000,
    isolation_max_memory: 128,
    headers: ['server', 'via', 'x-kong-proxy-latency', 'x-kong-response-latency', 'x-kong-admin-latency', 'x-kong-upstream-latency', 'x-kong-request-id'],
    headers_upstream: ['x-kong-request-id'],
    nginx_http_client_max_body_size: 0,
    nginx_http_large_client_header_buffers: { number: 4, size: 8192 },
    nginx_http_client_header_timeout: 60_000,
    nginx_http_client_body_timeout: 60_000,
    mem_cache_size: 128 * 1024 * 1024,
    nginx_http_lua_shared_dict: {},
    database: 'lmdb',
    pg_host: '127.0.0.1',
    pg_port: 5432,
    pg_user: 'kong',
    pg_password: '',
    pg_database: 'kong',
    pg_schema: '',
    pg_ssl: false,
    pg_ssl_verify: false,
    pg_timeout: 5000,
    pg_pool_size: 4,
    pg_max_concurrent_queries: 0,
    db_update_frequency: 5,
    declarative_config: '',
    declarative_config_string: '',
    ssl_cert: [],
    ssl_cert_key: [],
    admin_ssl_cert: [],
    admin_ssl_cert_key: [],
    status_ssl_cert: [],
    status_ssl_cert_key: [],
    admin_gui_ssl_cert: [],
    admin_gui_ssl_cert_key: [],
    ssl_cipher_suite: 'intermediate',
    ssl_ciphers: '',
    ssl_protocols: ['TLSv1.1', 'TLSv1.2', 'TLSv1.3'],
    ssl_prefer_server_ciphers: true,
    ssl_session_tickets: true,
    ssl_session_timeout: 86400,
  })
})

t.test('database and the declarative keys: lmdb, postgres or off; a file path resolved; only with database = off', async (t) => {
  const c = loadConfig({ env: { TOLLGATE_DATABASE: 'OFF', TOLLGATE_DECLARATIVE_CONFIG: 'conf/kong.yml' }, cwd: '/srv' })
  t.same([c.database, c.declarative_config], ['off', '/srv/conf/kong.yml'])
  t.equal(loadConfig({ env: { TOLLGATE_DATABASE: 'PostgreS ' } }).database, 'postgres')
  t.throws(() => loadConfig({ env: { TOLLGATE_DATABASE: 'cassandra' } }), /invalid value for 'database'.*expected 'lmdb', 'postgres' or 'off'$/)
  t.throws(() => loadConfig({ env: { TOLLGATE_DECLARATIVE_CONFIG_STRING: '_format_version: "3.0"' } }), /'declarative_config_string' is only used with database = off/)
  t.throws(() => loadConfig({ env: { TOLLGATE_DATABASE: 'postgres', TOLLGATE_DECLARATIVE_CONFIG: 'kong.yml' } }), /'declarative_config' is only used with database = off/)
})

t.test("database = postgres: Kong's pg_* keys and db_update_frequency, from a file and the environment", async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'kong.conf')
  writeFileSync(file, 'database = postgres\npg_host = db.internal\npg_port = 6432\npg_user = gw\npg_password = s3cr\\#et\npg_database = gateway\npg_schema = Tollgate_1\npg_ssl = on\npg_ssl_verify = on\n')
  const c = loadConfig({ conf: file, env: { TOLLGATE_PG_TIMEOUT: '250', TOLLGATE_PG_POOL_SIZE: '10', TOLLGATE_PG_MAX_CONCURRENT_QUERIES: '3', TOLLGATE_DB_UPDATE_FREQUENCY: '3600' } })
  t.match(c, {
    database: 'postgres',
    pg_host: 'db.internal',
    pg_port: 6432,
    pg_user: 'gw',
    pg_password: 's3cr#et',
    pg_database: 'gateway',
    pg_schema: 'Tollgate_1',
    pg_ssl: true,
    pg_ssl_verify: true,
    pg_timeout: 250,
    pg_pool_size: 10,
    pg_max_concurrent_queries: 3,
    db_update_frequency: 3600,
  })
  t.equal(loadConfig({ env: { TOLLGATE_PG_PASSWORD: ' with spaces # and a hash ' } }).pg_password, ' with spaces # and a hash ', 'a password from the environment is taken as is')
  t.same([1, 65535].map((p) => loadConfig({ env: { TOLLGATE_PG_PORT: String(p) } }).pg_port), [1, 65535], 'pg_port: 1 and 65535')
  t.same([100, 600000].map((ms) => loadConfig({ env: { TOLLGATE_PG_TIMEOUT: String(ms) } }).pg_timeout), [100, 600000], 'pg_timeout: 100 ms to 10 minutes')
  t.same(['1', '3600'].map((f) => loadConfig({ env: { TOLLGATE_DB_UPDATE_FREQUENCY: f } }).db_update_frequency), [1, 3600], 'db_update_frequency: 1 s to an hour')
  t.equal(loadConfig({ env: { TOLLGATE_PG_SCHEMA: ' ' } }).pg_schema, '', "pg_schema: blank is the user's search_path")
})

t.test("GET / shows the configuration with pg_password and declarative_config_string hidden, as Kong's remove_sensitive", async (t) => {
  const shown = describeConfig(loadConfig({ env: { TOLLGATE_DATABASE: 'postgres', TOLLGATE_PG_PASSWORD: 's3cret' } }))
  t.equal(shown.pg_password, '******')
  t.notMatch(JSON.stringify(shown), /s3cret/, 'the password nowhere')
  const dbless = describeConfig(loadConfig({ env: { TOLLGATE_DATABASE: 'off', TOLLGATE_DECLARATIVE_CONFIG_STRING: '{"_format_version":"3.0","consumers":[{"username":"u","keyauth_credentials":[{"key":"k3y"}]}]}' } }))
  t.equal(dbless.declarative_config_string, '******')
  t.same([describeConfig(loadConfig({ env: {} })).pg_password, describeConfig(loadConfig({ env: {} })).declarative_config_string], ['', ''], 'empty ones are shown empty')
})

t.test('mem_cache_size and nginx_http_lua_shared_dict: sizes as nginx writes them, names and sizes checked', async (t) => {
  t.equal(loadConfig({ env: { TOLLGATE_MEM_CACHE_SIZE: '1g' } }).mem_cache_size, 1024 ** 3)
  t.same(loadConfig({ env: { TOLLGATE_NGINX_HTTP_LUA_SHARED_DICT: 'a 10m, b 64k' } }).nginx_http_lua_shared_dict, { a: 10 * 1024 ** 2, b: 64 * 1024 })
  t.same(loadConfig({ env: { TOLLGATE_NGINX_HTTP_LUA_SHARED_DICT: 'a 5m; lua_shared_dict b 5m' } }).nginx_http_lua_shared_dict, { a: 5 * 1024 ** 2, b: 5 * 1024 ** 2 }, "Kong's injection of several")
  t.throws(() => loadConfig({ env: { TOLLGATE_NGINX_HTTP_LUA_SHARED_DICT: 'a' } }), /nginx_http_lua_shared_dict/)
  t.throws(() => loadConfig({ env: { TOLLGATE_NGINX_HTTP_LUA_SHARED_DICT: 'a 1k' } }), /at least 8k/)
  t.throws(() => loadConfig({ env: { TOLLGATE_MEM_CACHE_SIZE: '12q' } }), /mem_cache_size/)
})

t.test("the node's dictionaries: kong_db_cache by mem_cache_size, rate-limiting's counters 12m and prometheus's 5m as Kong's template, all overridable", async (t) => {
  t.same(sharedDictSizes(loadConfig({ env: {} })), { kong_db_cache: 128 * 1024 ** 2, kong_rate_limiting_counters: 12 * 1024 ** 2, prometheus_metrics: 5 * 1024 ** 2 })
  t.same(sharedDictSizes(loadConfig({ env: { TOLLGATE_NGINX_HTTP_LUA_SHARED_DICT: 'kong_rate_limiting_counters 64m, prometheus_metrics 20m, mine 1m' } })),
    { kong_db_cache: 128 * 1024 ** 2, kong_rate_limiting_counters: 64 * 1024 ** 2, prometheus_metrics: 20 * 1024 ** 2, mine: 1024 ** 2 })
})

t.test("headers and headers_upstream: Kong's tokens, case-insensitive, off", async (t) => {
  const headers = (v: string): string[] => loadConfig({ env: { TOLLGATE_HEADERS: v } }).headers
  t.same(headers('server_tokens'), ['server', 'via'])
  t.same(headers('latency_tokens, X-Kong-Upstream-Status'), ['x-kong-proxy-latency', 'x-kong-response-latency', 'x-kong-admin-latency', 'x-kong-upstream-latency', 'x-kong-upstream-status'])
  t.same(headers('Via,via, X-KONG-REQUEST-ID'), ['via', 'x-kong-request-id'], 'repeats once, any case')
  t.same(headers('off'), [])
  t.same(headers('off, server_tokens'), [], "as in Kong, 'off' first turns everything off")
  t.same(headers('server, off'), ['server'], 'and an off later is ignored')
  t.same(loadConfig({ env: { TOLLGATE_HEADERS_UPSTREAM: 'off' } }).headers_upstream, [])
})

t.test('precedence: defaults <- file <- environment <- command line', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'tollgate.conf')
  writeFileSync(file, [
    '# a comment',
    'prefix = /from/file',
    'proxy_listen = 127.0.0.1:9000, [::1]:9000 backlog=128   # trailing comment',
    'log_level = debug',
    'plugins = bundled, my-plugin, @acme/tollgate-plugin-x',
    '',
  ].join('\n'))
  let c = loadConfig({ conf: file, env: {} })
  t.equal(c.prefix, '/from/file')
  t.same(c.proxy_listen, [{ host: '127.0.0.1', port: 9000 }, { host: '::1', port: 9000, backlog: 128 }])
  t.equal(c.log_level, 'debug')
  t.same(c.plugins, ['bundled', 'my-plugin', '@acme/tollgate-plugin-x'])

  c = loadConfig({ env: { TOLLGATE_CONF: file, TOLLGATE_LOG_LEVEL: 'warn', TOLLGATE_WORKER_PROCESSES: 'auto' } })
  t.equal(c.log_level, 'warn', 'environment beats the file')
  t.equal(c.prefix, '/from/file', 'TOLLGATE_CONF names the file')
  t.ok(c.worker_processes >= 1, 'auto resolves to the CPU count')

  c = loadConfig({ conf: file, env: { TOLLGATE_PREFIX: '/from/env' }, overrides: { prefix: '/from/cli' } })
  t.equal(c.prefix, '/from/cli', 'command line beats the environment')
  t.same(loadConfig({ env: { TOLLGATE_ADMIN_LISTEN: 'off' } }).admin_listen, [], "'off' disables a listener")
})

t.test('every bad value is one line naming the key and what it expects', async (t) => {
  const cases: [Record<string, string>, string, RegExp][] = [
    [{ TOLLGATE_FOO: '1' }, 'foo', /^unknown configuration key 'foo' from environment variable TOLLGATE_FOO/],
    [{ TOLLGATE_PROXY_LISTEN: 'abc' }, 'proxy_listen', /^invalid value for 'proxy_listen' \(environment variable TOLLGATE_PROXY_LISTEN\): "abc": .*expected 'off' or/],
    [{ TOLLGATE_PROXY_LISTEN: '0.0.0.0:70000' }, 'proxy_listen', /port 70000 is out of range/],
    [{ TOLLGATE_ADMIN_LISTEN: '127.0.0.1:8001 ssl proxy_protocol' }, 'admin_listen', /listen flag 'proxy_protocol' is not supported/],
    [{ TOLLGATE_ADMIN_LISTEN: '' }, 'admin_listen', /invalid value for 'admin_listen'/],
    [{ TOLLGATE_WORKER_PROCESSES: '0' }, 'worker_processes', /expected 'auto' or a whole number from 1 to 1024$/],
    [{ TOLLGATE_WORKER_PROCESSES: 'two' }, 'worker_processes', /invalid value for 'worker_processes'/],
    [{ TOLLGATE_LOG_LEVEL: 'loud' }, 'log_level', /expected one of debug, info, notice, warn, error, crit, alert, emerg$/],
    [{ TOLLGATE_PLUGINS: 'bundled, Bad Name' }, 'plugins', /'Bad Name' is not a plugin name or path/],
    [{ TOLLGATE_PREFIX: ' ' }, 'prefix', /invalid value for 'prefix'/],
    [{ TOLLGATE_HEADERS: 'server_tokens, x-powered-by' }, 'headers', /invalid entry 'x-powered-by'.*expected 'off' or a comma-separated list of server_tokens, latency_tokens, Server, Via/],
    [{ TOLLGATE_HEADERS_UPSTREAM: 'via' }, 'headers_upstream', /invalid entry 'via'.*expected 'off' or X-Kong-Request-Id/],
    [{ TOLLGATE_DATABASE: 'mysql' }, 'database', /^invalid value for 'database' \(environment variable TOLLGATE_DATABASE\): "mysql": unknown database; expected 'lmdb', 'postgres' or 'off'$/],
    [{ TOLLGATE_PG_PORT: '0' }, 'pg_port', /^invalid value for 'pg_port' .*"0".*expected a port from 1 to 65535$/],
    [{ TOLLGATE_PG_PORT: '65536' }, 'pg_port', /expected a port from 1 to 65535$/],
    [{ TOLLGATE_PG_PORT: '54x' }, 'pg_port', /expected a port from 1 to 65535$/],
    [{ TOLLGATE_PG_SCHEMA: 'my-schema' }, 'pg_schema', /^invalid value for 'pg_schema' .*"my-schema": not a plain identifier; expected a schema name \(letters, digits and _\), or empty for the search_path$/],
    [{ TOLLGATE_PG_SCHEMA: '1abc' }, 'pg_schema', /not a plain identifier/],
    [{ TOLLGATE_PG_SCHEMA: 'a"; DROP SCHEMA public; --' }, 'pg_schema', /not a plain identifier/],
    [{ TOLLGATE_PG_TIMEOUT: '99' }, 'pg_timeout', /expected milliseconds from 100 to 600000$/],
    [{ TOLLGATE_PG_TIMEOUT: '5s' }, 'pg_timeout', /expected milliseconds from 100 to 600000$/],
    [{ TOLLGATE_DB_UPDATE_FREQUENCY: '0' }, 'db_update_frequency', /expected seconds from 1 to 3600$/],
    [{ TOLLGATE_DB_UPDATE_FREQUENCY: '3601' }, 'db_update_frequency', /expected seconds from 1 to 3600$/],
    [{ TOLLGATE_PG_HOST: ' ' }, 'pg_host', /invalid value for 'pg_host'.*expected a host name or IP address$/],
    [{ TOLLGATE_PG_DATABASE: '' }, 'pg_database', /invalid value for 'pg_database'/],
    [{ TOLLGATE_PG_SSL: 'maybe' }, 'pg_ssl', /invalid value for 'pg_ssl'/],
    [{ TOLLGATE_PG_POOL_SIZE: '0' }, 'pg_pool_size', /expected an integer from 1 to 100$/],
  ]
  for (const [env, key, message] of cases) {
    const err = t.throws(() => loadConfig({ env })) as unknown
    t.ok(err instanceof ConfigError, `${JSON.stringify(env)} gives a ConfigError`)
    t.equal((err as ConfigError).key, key)
    t.match((err as Error).message, message)
    t.notMatch((err as Error).message, /\n/, 'one line')
  }
})

t.test('config file errors', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'bad.conf')
  writeFileSync(file, 'log_level = info\nnot a setting\n')
  t.throws(() => loadConfig({ conf: file, env: {} }), { message: `${file}:2: expected 'key = value', got 'not a setting'` })
  writeFileSync(file, 'colour = blue\n')
  t.throws(() => loadConfig({ conf: file, env: {} }), { key: 'colour', message: /^unknown configuration key 'colour' in / })
  t.throws(() => loadConfig({ conf: join(dir, 'missing.conf'), env: {} }), { message: /^cannot read configuration file .*missing.conf: ENOENT$/ })
  t.same([...parseConfFile('a = b \\# not a comment # comment\n', 'x')], [['a', 'b # not a comment']], 'escaped #')
})

t.test('the prefix must be a writable directory', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'file')
  writeFileSync(file, '')
  t.throws(() => preparePrefix(join(file, 'sub')), { key: 'prefix', message: /is not writable \(ENOTDIR\)/ })
  t.throws(() => preparePrefix(file), { key: 'prefix', message: /is not writable/ })
  preparePrefix(join(dir, 'a', 'b'))
  t.pass('nested directories are created')
})

t.test('VERSION matches package.json', async (t) => {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
  t.equal(VERSION, pkg.version)
})

t.test("status_listen: Kong's Status API listeners, off by default, in listen syntax", async (t) => {
  t.same(loadConfig({ env: { TOLLGATE_STATUS_LISTEN: '127.0.0.1:8100' } }).status_listen, [{ host: '127.0.0.1', port: 8100 }])
  t.same(loadConfig({ env: { TOLLGATE_STATUS_LISTEN: 'off' } }).status_listen, [])
  t.throws(() => loadConfig({ env: { TOLLGATE_STATUS_LISTEN: '127.0.0.1' } }), /status_listen/)
})
