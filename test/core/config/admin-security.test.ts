// The Admin API's exposure rules and the secrets given as files (admin_token_file,
// keyauth_pepper_file), checked where the configuration is loaded.

import { chmodSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { describeConfig, isLoopback, loadConfig } from '../../../core/config/index.js'
import { ConfigError } from '../../../core/errors.js'
import { tempDir } from '../../helpers/store.js'

const TOKEN = 'a-token-of-some-length-0123456789'

t.test('a non-loopback admin_listen without a token refuses to load, naming the address and both ways out', async (t) => {
  for (const listen of ['0.0.0.0:8001', '[::]:8001', '10.0.0.5:8001', 'admin.internal:8001', '127.0.0.1:8001, 0.0.0.0:8444']) {
    const err = (() => { try { loadConfig({ env: { TOLLGATE_ADMIN_LISTEN: listen } }) } catch (e) { return e } })()
    t.type(err, ConfigError, listen)
    const address = listen.includes('0.0.0.0:8444') ? '0.0.0.0:8444' : listen
    t.equal((err as Error).message, `admin_listen ${address} is not a loopback address and no admin token is set: ` +
      "set 'admin_token' (or 'admin_token_file') so that Admin API requests must carry it, " +
      "or set 'admin_allow_unauthenticated = on' to serve it to the network without one")
  }
  t.same(loadConfig({ env: { TOLLGATE_ADMIN_LISTEN: '0.0.0.0:8001', TOLLGATE_ADMIN_TOKEN: TOKEN } }).admin_listen, [{ host: '0.0.0.0', port: 8001 }], 'a token lets it listen anywhere')
  t.ok(loadConfig({ env: { TOLLGATE_ADMIN_LISTEN: '0.0.0.0:8001', TOLLGATE_ADMIN_ALLOW_UNAUTHENTICATED: 'on' } }), 'so does admin_allow_unauthenticated')
  for (const listen of ['127.0.0.1:8001', '127.9.9.9:1', '[::1]:8001', 'localhost:8001', 'LOCALHOST:1', 'off']) {
    t.ok(loadConfig({ env: { TOLLGATE_ADMIN_LISTEN: listen } }), `${listen} is loopback`)
  }
  t.notOk(isLoopback('128.0.0.1'))
  t.ok(isLoopback('::ffff:127.0.0.1'))
})

t.test('admin_token: at least 16 characters, trimmed, hidden from GET /', async (t) => {
  t.throws(() => loadConfig({ env: { TOLLGATE_ADMIN_TOKEN: 'short' } }), /^invalid value for 'admin_token' \(environment variable TOLLGATE_ADMIN_TOKEN\): the value: too short \(5 characters\); expected empty, or a token of at least 16 printable ASCII characters, no spaces$/)
  t.throws(() => loadConfig({ env: { TOLLGATE_ADMIN_TOKEN: 'a token with spaces inside' } }), /the value: not printable ASCII without spaces;/)
  const c = loadConfig({ env: { TOLLGATE_ADMIN_TOKEN: ` ${TOKEN}\n` } })
  t.equal(c.admin_token, TOKEN)
  t.equal(describeConfig(c).admin_token, '******')
  t.equal(describeConfig(loadConfig({ env: { TOLLGATE_KEYAUTH_PEPPER: TOKEN } })).keyauth_pepper, '******')
})

t.test('admin_token_file: read and trimmed; unreadable, empty, short or beside admin_token is an error', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'token')
  writeFileSync(file, `${TOKEN}\n`)
  const conf = join(dir, 'tollgate.conf')
  writeFileSync(conf, 'admin_token_file = token\nadmin_listen = 0.0.0.0:8001\n')
  const c = loadConfig({ conf, env: {}, cwd: dir })
  t.equal(c.admin_token, TOKEN, 'from tollgate.conf, relative to the working directory')
  t.equal(c.admin_token_file, file)
  t.equal(loadConfig({ env: { TOLLGATE_ADMIN_TOKEN_FILE: file } }).admin_token, TOKEN, 'from the environment')

  t.throws(() => loadConfig({ env: { TOLLGATE_ADMIN_TOKEN_FILE: join(dir, 'missing') } }), new RegExp(`^cannot read 'admin_token_file' ${join(dir, 'missing')}: ENOENT$`))
  writeFileSync(join(dir, 'empty'), ' \n')
  t.throws(() => loadConfig({ env: { TOLLGATE_ADMIN_TOKEN_FILE: join(dir, 'empty') } }), /^'admin_token_file' .*empty is empty$/)
  writeFileSync(join(dir, 'short'), 'abc\n')
  t.throws(() => loadConfig({ env: { TOLLGATE_ADMIN_TOKEN_FILE: join(dir, 'short') } }), /^invalid content of 'admin_token_file' .*short: too short \(3 characters\); expected empty, or a token of at least 16 printable/)
  if (process.getuid?.() !== 0) {
    writeFileSync(join(dir, 'locked'), TOKEN)
    chmodSync(join(dir, 'locked'), 0o000)
    t.throws(() => loadConfig({ env: { TOLLGATE_ADMIN_TOKEN_FILE: join(dir, 'locked') } }), /^cannot read 'admin_token_file' .*locked: EACCES$/)
  }
  t.throws(() => loadConfig({ env: { TOLLGATE_ADMIN_TOKEN_FILE: file, TOLLGATE_ADMIN_TOKEN: TOKEN } }), /^'admin_token' and 'admin_token_file' are both set; set only one of them$/)

  const pepper = join(dir, 'pepper')
  writeFileSync(pepper, 'pepper-pepper-pepper\n')
  t.equal(loadConfig({ env: { TOLLGATE_KEYAUTH_PEPPER_FILE: pepper } }).keyauth_pepper, 'pepper-pepper-pepper', 'keyauth_pepper_file reads the same way')
  t.throws(() => loadConfig({ env: { TOLLGATE_KEYAUTH_PEPPER_FILE: pepper, TOLLGATE_KEYAUTH_PEPPER: TOKEN } }), /both set/)
})
