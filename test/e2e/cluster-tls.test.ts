// TLS with worker_processes = 2 through `tollgate start`: certificates written through the
// Admin API reach every worker's handshakes, and a session issued by one worker resumes on
// the other (the node's ticket keys are shared).
import t from 'tap'
import { Agent, request } from 'undici'
import { runCli, startGateway } from '../helpers/process.js'
import { echo, startUpstream, until } from '../helpers/gateway.js'
import { tempDir } from '../helpers/store.js'
import { h2Get, httpsGet, pair } from '../helpers/tls.js'

t.test('two workers: hot certificates and resumption across processes', async (t) => {
  const up = await startUpstream(t, echo)
  const prefix = tempDir(t)
  const env = { TOLLGATE_WORKER_PROCESSES: '2', TOLLGATE_ALLOW_DEBUG_HEADER: 'on', TOLLGATE_PROXY_LISTEN: '127.0.0.1:0 http2 ssl', TOLLGATE_ADMIN_LISTEN: '127.0.0.1:0 ssl' }
  const gw = await startGateway(t, ['--prefix', prefix], env)
  const port = Number(new URL(gw.proxy).port)
  // The Admin API over TLS too, with the generated (self-signed) default.
  const admin = gw.admin.replace('http:', 'https:')
  const dispatcher = new Agent({ connect: { rejectUnauthorized: false } })
  t.teardown(() => dispatcher.close())
  const post = async (path: string, body: unknown): Promise<void> => {
    const res = await request(`${admin}${path}`, { dispatcher, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    t.equal(res.statusCode, 201, `POST ${path}`)
    await res.body.dump()
  }
  await post('/services', { name: 'echo', url: up.url })
  await post('/services/echo/routes', { paths: ['/'] })
  const debug = { 'kong-debug': '1' }
  // Both workers looked the name up (and cached the answer) before the certificate exists.
  const both = async (cn: string, what: string): Promise<void> => {
    const workers = new Set<string>()
    await until(async () => {
      const r = await httpsGet(port, { servername: 'a.example.test', headers: debug })
      if (r.cn !== cn || r.status !== 200) { workers.clear(); return false }
      workers.add(String(r.headers['tollgate-worker']))
      return workers.size === 2
    }, what)
    t.equal(workers.size, 2, what)
  }
  await both('localhost', 'both workers serve the default before any certificate')
  await post('/certificates', { ...pair('a-rsa'), snis: ['a.example.test'] })
  // Every worker serves the new certificate (each follows the primary's writes).
  await both('a.example.test', 'both workers serve the certificate from the Admin API')
  const res = await request(`${admin}/certificates/a.example.test`, { dispatcher, method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(pair('wild-rsa')) })
  t.equal(res.statusCode, 200, 'certificate replaced')
  await res.body.dump()
  await both('*.wild.example.test', 'both workers serve the replaced certificate, without a restart')
  await request(`${admin}/certificates/a.example.test`, { dispatcher, method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(pair('a-rsa')) }).then((r) => r.body.dump())
  await both('a.example.test', 'and back')

  const first = await httpsGet(port, { servername: 'a.example.test', headers: debug })
  const resumedOn = new Set<string>()
  let session = first.session
  for (let i = 0; i < 12 && resumedOn.size < 2; i++) {
    const r = await httpsGet(port, { servername: 'a.example.test', headers: debug, session })
    t.equal(r.reused, true, `connection ${i + 1} resumed`)
    resumedOn.add(String(r.headers['tollgate-worker']))
    session = r.session ?? session
  }
  t.equal(resumedOn.size, 2, 'sessions resumed on both workers')
  const h2 = await h2Get(port, { servername: 'a.example.test' })
  t.same([h2.alpn, h2.status, h2.cn], ['h2', 200, 'a.example.test'], 'HTTP/2 through a worker')
  const health = await runCli(['health', '--prefix', prefix], env)
  t.equal(health.code, 0, `tollgate health asks a TLS Admin API over TLS: ${health.stderr}`)
})
