import { createServer, connect, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import { writeFileSync } from 'node:fs'
import t from 'tap'
import { request } from 'undici'
import { tempDir } from '../../helpers/store.js'
import { refused, runCli, startGateway } from '../../helpers/process.js'
import { until } from '../../helpers/gateway.js'

t.test('start serves proxy and Admin API; SIGTERM stops it cleanly', async (t) => {
  const prefix = tempDir(t)
  const gw = await startGateway(t, ['--prefix', prefix])
  const root = await request(`${gw.admin}/`)
  t.equal(root.statusCode, 200)
  const body = await root.body.json() as Record<string, unknown>
  t.match(body, { version: '0.1.0', configuration: { prefix } })
  t.match(root.headers.server, /^tollgate\//)
  const proxied = await request(`${gw.proxy}/anything`)
  t.equal(proxied.statusCode, 404)
  t.match(await proxied.body.json(), { message: 'no Route matched with those values', request_id: /^[0-9a-f]{32}$/ })
  const status = await request(`${gw.admin}/status`)
  t.match(await status.body.json(), { database: { reachable: true }, server: { total_requests: 1 } })
  gw.child.kill('SIGTERM')
  const exit = await gw.exited
  t.equal(exit.code, 0, 'exit code 0')
  t.match(exit.stdout, /"tollgate stopped"/)
})

t.test('SIGTERM lets an in-flight request finish before exiting', async (t) => {
  const gw = await startGateway(t, ['--prefix', tempDir(t)])
  const url = new URL(gw.admin)
  const socket = connect(Number(url.port), url.hostname)
  await new Promise((resolve) => socket.once('connect', resolve))
  let answer = ''
  socket.on('data', (d: Buffer) => { answer += d.toString() })
  socket.on('error', () => {})
  const closedByGateway = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  socket.write('POST /status HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{"half":')
  // A later request, on a connection opened after those bytes were sent, is answered only
  // after the gateway accepted (and read) the first one: it is in flight now.
  const later = await request(`${gw.admin}/status`, { reset: true })
  await later.body.dump()
  t.equal(later.statusCode, 200, 'a later request was answered')
  gw.child.kill('SIGTERM')
  // The Admin API stops accepting once shutdown is under way; the half request holds it.
  await until(() => refused(gw.admin), 'the Admin API to stop accepting connections')
  t.equal(gw.child.exitCode, null, 'still running while a request is in flight')
  t.equal(answer, '', 'and that request not answered yet')
  socket.write('true}')
  // The connection stays open on this side: the gateway itself must close it to exit.
  const exit = await gw.exited
  await closedByGateway
  t.pass('the idle keep-alive connection did not hold the exit back')
  t.match(answer, /^HTTP\/1.1 405 /, 'the in-flight request got its answer')
  t.match(answer, /{"message":"Method not allowed"}/)
  t.equal(exit.code, 0)
  socket.destroy()
})

t.test('boot errors: one line on stderr and exit 1, nothing started', async (t) => {
  const prefix = tempDir(t)
  let r = await runCli(['start', '--prefix', prefix], { TOLLGATE_LOG_LEVEL: 'chatty' })
  t.equal(r.code, 1)
  t.match(r.stderr, /^Error: invalid value for 'log_level' \(environment variable TOLLGATE_LOG_LEVEL\): "chatty": unknown level; expected one of .*\n$/)

  const busy = createServer()
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve))
  t.teardown(() => busy.close())
  const port = (busy.address() as AddressInfo).port
  r = await runCli(['start', '--prefix', prefix], { TOLLGATE_PROXY_LISTEN: `127.0.0.1:${port}`, TOLLGATE_ADMIN_LISTEN: '127.0.0.1:0' })
  t.equal(r.code, 1)
  t.equal(r.stderr, `Error: proxy_listen: cannot listen on 127.0.0.1:${port}: is already in use\n`)

  const file = join(prefix, 'not-a-dir')
  writeFileSync(file, '')
  r = await runCli(['start', '--prefix', join(file, 'x')], { TOLLGATE_PROXY_LISTEN: '127.0.0.1:0', TOLLGATE_ADMIN_LISTEN: '127.0.0.1:0' })
  t.equal(r.code, 1)
  t.match(r.stderr, /^Error: prefix directory .* is not writable \(ENOTDIR\); set 'prefix' to a writable directory\n$/)
  if (process.platform === 'linux') {
    // /proc answers mkdir with ENOENT, on which node's recursive mkdir spun for ever.
    r = await runCli(['start', '--prefix', '/proc/tollgate-test'], { TOLLGATE_PROXY_LISTEN: '127.0.0.1:0', TOLLGATE_ADMIN_LISTEN: '127.0.0.1:0' })
    t.equal(r.code, 1)
    t.equal(r.stderr, "Error: prefix directory /proc/tollgate-test is not writable (ENOENT); set 'prefix' to a writable directory\n")
  }

  const conf = join(prefix, 'tollgate.conf')
  writeFileSync(conf, 'admin_listen = 127.0.0.1:0\ncolour = blue\n')
  r = await runCli(['start', '--conf', conf])
  t.equal(r.code, 1)
  t.match(r.stderr, /^Error: unknown configuration key 'colour' in /)

  r = await runCli(['stat'])
  t.equal(r.code, 1)
  t.match(r.stderr, /^Error: unknown command 'stat'/)
  r = await runCli(['start', '--bogus'])
  t.equal(r.code, 1)
  t.match(r.stderr, /^Error: Unknown option '--bogus'/)
  r = await runCli(['version'])
  t.equal(r.code, 0)
  t.equal(r.stdout, '0.1.0\n')
})

t.test('a throw that escapes every handler is logged at fatal; the gateway goes on', async (t) => {
  const { fileURLToPath } = await import('node:url')
  const plugin = fileURLToPath(new URL('../../../dist/test/fixtures/plugins/timer-thrower.js', import.meta.url))
  const gw = await startGateway(t, ['--prefix', tempDir(t)], { TOLLGATE_PLUGINS: `bundled,${plugin}` })
  const post = async (path: string, body: unknown): Promise<void> => {
    const r = await request(`${gw.admin}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    await r.body.dump()
  }
  await post('/services', { name: 's', url: 'http://127.0.0.1:9' })
  await post('/services/s/routes', { paths: ['/t'] })
  await post('/plugins', { name: 'timer-thrower' })
  for (const how of ['timer', 'promise']) {
    const r = await request(`${gw.proxy}/t`, { headers: { 'x-throw': how } })
    await r.body.dump()
    const line = how === 'timer' ? 'uncaught exception, contained' : 'unhandled rejection, contained'
    await until(() => gw.output().includes(line), line)
    t.match(gw.output(), new RegExp(`"level":60.*${line}`), `${how}: logged at fatal`)
  }
  const after = await request(`${gw.admin}/`)
  await after.body.dump()
  t.equal(after.statusCode, 200, 'still serving')
  t.equal(gw.child.exitCode, null)
})
