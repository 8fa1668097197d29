// keyauth_hash_keys and admin_token through `tollgate start` with worker_processes = 2: the
// primary makes the pepper, every worker hashes with it; `tollgate health` sends the token.

import { existsSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { echo, startUpstream, until } from '../../helpers/gateway.js'
import { runCli, startGateway, type Running } from '../../helpers/process.js'
import { tempDir } from '../../helpers/store.js'

const TOKEN = 'cluster-admin-token-0123456789'

async function admin (gw: Running, method: string, path: string, body?: unknown, token: string | null = TOKEN): Promise<{ status: number, body: any }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (token !== null) headers['kong-admin-token'] = token
  const res = await request(`${gw.admin}${path}`, { method: method as 'GET', headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.body.text()
  return { status: res.statusCode, body: text === '' ? undefined : JSON.parse(text) }
}

t.test('two workers authenticate hashed keys; the Admin API and tollgate health need the token', async (t) => {
  const prefix = tempDir(t)
  const env = { TOLLGATE_WORKER_PROCESSES: '2', TOLLGATE_ALLOW_DEBUG_HEADER: 'on', TOLLGATE_KEYAUTH_HASH_KEYS: 'on' }
  const gw = await startGateway(t, ['--prefix', prefix], { ...env, TOLLGATE_ADMIN_TOKEN: TOKEN })
  t.ok(existsSync(join(prefix, 'keyauth_pepper')), 'the primary made the pepper')
  t.equal((await admin(gw, 'GET', '/services', undefined, null)).status, 401, 'no token: 401')

  const up = await startUpstream(t, echo)
  t.equal((await admin(gw, 'POST', '/services', { name: 's', url: up.url })).status, 201)
  t.equal((await admin(gw, 'POST', '/services/s/routes', { paths: ['/k'] })).status, 201)
  t.equal((await admin(gw, 'POST', '/services/s/plugins', { name: 'key-auth' })).status, 201)
  t.equal((await admin(gw, 'POST', '/consumers', { username: 'eve' })).status, 201)
  const cred = await admin(gw, 'POST', '/consumers/eve/key-auth', {})
  const key = cred.body.key as string
  t.match(key, /^[A-Za-z0-9]{32}$/, 'the generated key, shown once')
  t.match((await admin(gw, 'GET', `/key-auths/${cred.body.id as string}`)).body.key, /^sha256:[0-9a-f]{64}$/)

  const workers = new Set<string>()
  const bad: number[] = []
  await until(async () => {
    // A new connection each time, so that both workers get some.
    const res = await request(`${gw.proxy}/k`, { headers: { apikey: key, 'kong-debug': '1' }, reset: true })
    await res.body.dump()
    if (res.statusCode !== 200) bad.push(res.statusCode)
    workers.add(res.headers['tollgate-worker'] as string)
    return workers.size === 2 || bad.length > 0
  }, 'both workers to answer')
  t.same(bad, [], 'every worker authenticated the key')
  t.equal(workers.size, 2)
  const wrong = await request(`${gw.proxy}/k`, { headers: { apikey: `${key}x` } })
  await wrong.body.dump()
  t.equal(wrong.statusCode, 401)

  let r = await runCli(['health', '--prefix', prefix], { ...env, TOLLGATE_ADMIN_TOKEN: TOKEN })
  t.equal(r.code, 0, 'tollgate health with the token configured')
  t.match(r.stdout, /tollgate is healthy/)
  r = await runCli(['health', '--prefix', prefix], env)
  t.equal(r.code, 1, 'and without it, the Admin API refuses it')
  t.match(r.stderr, /does not answer: status 401/)
})
