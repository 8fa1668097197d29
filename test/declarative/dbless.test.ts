// DB-less mode end to end, as a user runs it: `tollgate start` with database = off and a
// kong.yml, the proxy serving what the file says, POST /config switching every worker
// process to a new configuration, a bad file refused at start and at POST, and the
// POSTed configuration surviving a restart. Kong's own /config cases are in kong-spec-off.

import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import type { AnyPlugin } from '../../core/runtime/plugin.js'
import headerInjector from '../../examples/header-injector/index.js'
import { echo, startTestGateway, startUpstream, until } from '../helpers/gateway.js'
import { runCli, startGateway } from '../helpers/process.js'
import { tempDir } from '../helpers/store.js'

interface Answer { status: number, headers: Record<string, string | string[] | undefined>, body: string }

/** A GET on a connection of its own, so that requests spread over the worker processes. */
async function get (url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await request(url, { headers, reset: true })
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() }
}

async function postConfig (admin: string, yaml: string, query = ''): Promise<{ status: number, body: any }> {
  const res = await request(`${admin}/config${query}`, { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: yaml })
  const text = await res.body.text()
  return { status: res.statusCode, body: text === '' ? undefined : JSON.parse(text) }
}

/** A configuration: one service on `port`, routes by path, key-auth on `/private`. */
function kongYml (port: number, paths: string[]): string {
  return `_format_version: "3.0"
services:
- name: echo
  url: http://127.0.0.1:${port}
  routes:
${paths.map((p) => `  - name: route${p.replace(/\//g, '-')}\n    paths: [${p}]\n`).join('')}  - name: private
    paths: [/private]
    plugins:
    - name: key-auth
consumers:
- username: alice
  keyauth_credentials:
  - key: alice-secret
`
}

t.test('tollgate start with database = off serves the file; POST /config switches both worker processes', async (t) => {
  const up = await startUpstream(t, echo)
  const dir = tempDir(t)
  const file = join(dir, 'kong.yml')
  writeFileSync(file, kongYml(up.port, ['/one']))
  const gw = await startGateway(t, ['--prefix', join(dir, 'prefix')], {
    TOLLGATE_DATABASE: 'off', TOLLGATE_DECLARATIVE_CONFIG: file, TOLLGATE_WORKER_PROCESSES: '2', TOLLGATE_ALLOW_DEBUG_HEADER: 'on',
  })
  t.equal((await get(`${gw.proxy}/one`)).status, 200, 'a route of the file is served')
  t.equal((await get(`${gw.proxy}/private`)).status, 401, 'key-auth from the file')
  t.equal((await get(`${gw.proxy}/private`, { apikey: 'alice-secret' })).status, 200, 'with the key from the file')
  const status = JSON.parse((await get(`${gw.admin}/status`)).body)
  t.match(status.configuration_hash, /^[0-9a-f]{32}$/)
  t.notOk('database' in status, 'DB-less: no database in /status')

  // Writes are refused, reads work.
  const write = await request(`${gw.admin}/services`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x', host: 'x' }) })
  t.same([write.statusCode, await write.body.json()], [405, { code: 12, name: 'operation unsupported', message: "cannot create 'services' entities when not using a database" }])
  t.equal(JSON.parse((await get(`${gw.admin}/routes`)).body).data.length, 2)

  // A bad configuration is refused whole: the old one keeps serving.
  const bad = await postConfig(gw.admin, '_format_version: "3.0"\nservices:\n- name: s\n  host: h\n  port: nope\n')
  t.same([bad.status, bad.body.fields], [400, { services: [{ port: 'expected an integer' }] }])
  t.equal((await get(`${gw.proxy}/one`)).status, 200)

  const r = await postConfig(gw.admin, kongYml(up.port, ['/two']))
  t.equal(r.status, 201)
  t.same(Object.keys(r.body).sort(), ['consumers', 'keyauth_credentials', 'plugins', 'routes', 'services'])
  t.equal(Object.keys(r.body.routes).length, 2)
  // Each worker process follows the new configuration version; both must drop /one.
  const sawNew = new Set<string>()
  await until(async () => {
    const a = await get(`${gw.proxy}/two`, { 'kong-debug': '1' })
    if (a.status === 200) sawNew.add(String(a.headers['tollgate-worker']))
    return sawNew.size === 2
  }, 'both worker processes serve /two')
  await until(async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, async () => (await get(`${gw.proxy}/one`)).status))
    return answers.every((s) => s === 404)
  }, 'no worker serves /one any more')
  t.equal((await get(`${gw.proxy}/private`, { apikey: 'alice-secret' })).status, 200, 'credentials reloaded with the rest')

  // The same text again with check_hash: 304, nothing reloaded.
  const version = JSON.parse((await get(`${gw.admin}/status`)).body).configuration_version
  const same = await postConfig(gw.admin, kongYml(up.port, ['/two']), '?check_hash=1')
  t.equal(same.status, 304)
  t.equal(JSON.parse((await get(`${gw.admin}/status`)).body).configuration_version, version)
})

t.test('the POSTed configuration survives a restart without a file; a file given at start wins', async (t) => {
  const up = await startUpstream(t, echo)
  const dir = tempDir(t)
  const prefix = join(dir, 'prefix')
  const env = { TOLLGATE_DATABASE: 'off' }
  let gw = await startGateway(t, ['--prefix', prefix], env)
  t.equal((await get(`${gw.proxy}/posted`)).status, 404)
  t.equal((await postConfig(gw.admin, kongYml(up.port, ['/posted']))).status, 201)
  await until(async () => (await get(`${gw.proxy}/posted`)).status === 200, '/posted served')
  const hash = JSON.parse((await get(`${gw.admin}/status`)).body).configuration_hash
  gw.child.kill('SIGTERM')
  await gw.exited

  gw = await startGateway(t, ['--prefix', prefix], env)
  t.equal((await get(`${gw.proxy}/posted`)).status, 200, 'served again after the restart')
  t.equal(JSON.parse((await get(`${gw.admin}/status`)).body).configuration_hash, hash)
  gw.child.kill('SIGTERM')
  await gw.exited

  const file = join(dir, 'kong.yml')
  writeFileSync(file, kongYml(up.port, ['/from-file']))
  gw = await startGateway(t, ['--prefix', prefix], { ...env, TOLLGATE_DECLARATIVE_CONFIG: file })
  t.equal((await get(`${gw.proxy}/from-file`)).status, 200)
  t.equal((await get(`${gw.proxy}/posted`)).status, 404, 'the file replaced what was posted')
})

t.test('a bad file stops the start with Kong\'s message; declarative keys need database = off', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'kong.yml')
  writeFileSync(file, '_format_version: "3.0"\nservices:\n- name: s\n  port: 99999\n')
  const bad = await runCli(['start', '--prefix', join(dir, 'p1')], { TOLLGATE_DATABASE: 'off', TOLLGATE_DECLARATIVE_CONFIG: file, TOLLGATE_PROXY_LISTEN: '127.0.0.1:0', TOLLGATE_ADMIN_LISTEN: '127.0.0.1:0' })
  t.equal(bad.code, 1)
  t.match(bad.stderr, `Error: error parsing declarative config file ${file}:\nFailed parsing:\nin 'services':\n  - in entry 1 of 'services':\n`)
  t.match(bad.stderr, "in 'port': value should be between 0 and 65535")
  t.match(bad.stderr, "in 'host': required field missing")
  t.notMatch(bad.stderr, /\n\s+at /, 'no stack trace')

  const missing = await runCli(['start', '--prefix', join(dir, 'p2')], { TOLLGATE_DATABASE: 'off', TOLLGATE_DECLARATIVE_CONFIG: join(dir, 'nope.yml') })
  t.equal(missing.code, 1)
  t.match(missing.stderr, `Error: error reading declarative config file ${join(dir, 'nope.yml')}: ENOENT`)

  const withDb = await runCli(['start', '--prefix', join(dir, 'p3')], { TOLLGATE_DECLARATIVE_CONFIG: file })
  t.equal(withDb.code, 1)
  t.match(withDb.stderr, "Error: 'declarative_config' is only used with database = off")

  const badKey = await runCli(['start', '--prefix', join(dir, 'p4')], { TOLLGATE_DATABASE: 'postgresql' })
  t.equal(badKey.code, 1)
  t.match(badKey.stderr, "invalid value for 'database'")
})

t.test('declarative_config_string, and POST /config in this thread when a plugin was handed in as an object', async (t) => {
  const up = await startUpstream(t, echo)
  // A plugin given to startGateway as an object cannot be loaded by name in the load thread:
  // the configuration is parsed and loaded in the gateway's own thread instead.
  const gw = await startTestGateway(t, {
    plugins: [headerInjector as unknown as AnyPlugin],
    config: { database: 'off', declarative_config_string: `{"_format_version":"3.0","services":[{"name":"s","url":"http://127.0.0.1:${up.port}","routes":[{"paths":["/json"]}]}]}` },
  })
  t.equal((await get(`${gw.proxy}/json`)).status, 200, 'declarative_config_string (JSON) loaded at start')
  const yml = `${kongYml(up.port, ['/tagged'])}plugins:\n- name: header-injector\n  config: { response: { x-tagged: 'yes' } }\n`
  const r = await postConfig(gw.admin, yml)
  t.equal(r.status, 201)
  await until(async () => (await get(`${gw.proxy}/tagged`)).headers['x-tagged'] === 'yes', 'the object plugin runs from the posted configuration')
  t.equal((await get(`${gw.proxy}/json`)).status, 404)
})

t.test('a large configuration (over 1 MB) loads in its own thread: the proxy answers from the old one meanwhile', async (t) => {
  const up = await startUpstream(t, echo)
  const gw = await startGateway(t, ['--prefix', join(tempDir(t), 'prefix')], { TOLLGATE_DATABASE: 'off' })
  t.equal((await postConfig(gw.admin, kongYml(up.port, ['/before']))).status, 201)
  const consumers = Array.from({ length: 15_000 }, (_, i) => `- username: user-${i}\n  keyauth_credentials:\n  - key: key-${i}-${'k'.repeat(24)}\n`).join('')
  // kongYml ends with its consumers list: the rest follow alice.
  const big = `${kongYml(up.port, ['/after'])}${consumers}`
  t.ok(big.length > 1024 * 1024, `${(big.length / 1048576).toFixed(1)} MB`)
  // Requests during the load: each is answered by the old configuration or the new one, whole.
  let loading = true
  const seen = { before: 0, after: 0, other: 0 }
  const probe = (async () => {
    while (loading) {
      const b = (await get(`${gw.proxy}/before`)).status
      const a = (await get(`${gw.proxy}/after`)).status
      if (b === 200 && a === 404) seen.before++
      else if (b === 404 && a === 200) seen.after++
      else if (!(b === 200 && a === 200)) seen.other++ // both 200: the switch fell between the two
    }
  })()
  const r = await postConfig(gw.admin, big)
  await until(async () => (await get(`${gw.proxy}/after`)).status === 200, 'the new configuration served')
  loading = false
  await probe
  t.equal(r.status, 201)
  t.equal(Object.keys(r.body.keyauth_credentials).length, 15_001)
  t.equal(seen.other, 0, `no answer from a partial configuration (old ${seen.before}, new ${seen.after})`)
  t.ok(seen.before > 0, 'the proxy answered from the old configuration while the new one loaded')
  t.match(gw.output(), 'POST /config: loading in a thread of its own')
  t.equal((await get(`${gw.proxy}/private`, { apikey: 'key-14999-kkkkkkkkkkkkkkkkkkkkkkkk' })).status, 200, 'the last key of the file works')
})
