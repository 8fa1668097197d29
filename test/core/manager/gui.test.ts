import { mkdirSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import t from 'tap'
import { request } from 'undici'
import { createGuiServer, managerDir } from '../../../core/admin/gui.js'
import { loadConfig } from '../../../core/config/index.js'
import { createLogger } from '../../../core/log.js'
import { startTestGateway, until } from '../../helpers/gateway.js'
import { tempDir } from '../../helpers/store.js'
import { httpsGet } from '../../helpers/tls.js'

const APP = `console.log(${JSON.stringify('x'.repeat(2000))})\n`

/** A built app as esbuild leaves it: index.html, a content-hashed script, a stylesheet. */
function fakeBuild (dir: string): void {
  mkdirSync(join(dir, 'assets'), { recursive: true })
  writeFileSync(join(dir, 'index.html'), '<!doctype html><script src="/kconfig.js"></script><script type="module" src="/assets/app-3F2A9C1B.js"></script>')
  writeFileSync(join(dir, 'assets', 'app-3F2A9C1B.js'), APP)
  writeFileSync(join(dir, 'app.css'), 'body{color:black}')
}

async function serve (t: Test, overrides: Record<string, string> = {}, opts: { built?: boolean } = {}): Promise<string> {
  const dir = tempDir(t)
  if (opts.built !== false) fakeBuild(dir)
  const config = loadConfig({ env: {}, overrides: { prefix: tempDir(t), ...overrides } })
  const server = createGuiServer({ config, log: createLogger('error'), admin: [{ port: 8001, ssl: false }, { port: 8444, ssl: true }], dir })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}


t.test('the app: its files, and index.html for every page the app routes itself', async (t) => {
  const url = await serve(t)
  for (const path of ['/', '/services', '/consumers/5f1c0e1a-0000-4000-8000-000000000000', '/live?x=1']) {
    const r = await request(`${url}${path}`)
    t.equal(r.statusCode, 200, path)
    t.match(await r.body.text(), /^<!doctype html>/, `${path} is the app`)
    t.equal(r.headers['cache-control'], 'no-cache', 'the page is revalidated, so a new build shows at once')
  }
  const js = await request(`${url}/assets/app-3F2A9C1B.js`, { headers: { 'accept-encoding': 'gzip, br' } })
  t.equal(js.headers['content-type'], 'text/javascript; charset=utf-8')
  t.equal(js.headers['content-encoding'], 'gzip')
  t.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable', 'a hashed name is kept for good')
  t.equal(js.headers.vary, 'Accept-Encoding')
  const zipped = Buffer.from(await js.body.arrayBuffer())
  t.ok(zipped.length < APP.length / 10)
  t.equal(gunzipSync(zipped).toString(), APP)
  const plain = await request(`${url}/assets/app-3F2A9C1B.js`)
  t.equal(plain.headers['content-encoding'], undefined, 'no gzip unless asked')
  t.equal(await plain.body.text(), APP)
  const etag = plain.headers.etag as string
  const again = await request(`${url}/assets/app-3F2A9C1B.js`, { headers: { 'if-none-match': etag } })
  t.equal(again.statusCode, 304)
  await again.body.dump()
  const css = await request(`${url}/app.css`)
  t.equal(css.headers['content-type'], 'text/css; charset=utf-8')
  await css.body.dump()
  const missing = await request(`${url}/assets/gone.js`)
  t.equal(missing.statusCode, 404, 'a missing file is not the app')
  await missing.body.dump()
  const head = await request(`${url}/`, { method: 'HEAD' })
  t.equal(head.statusCode, 200)
  await head.body.dump()
})

t.test('headers keep the page to itself and the Admin API', async (t) => {
  const url = await serve(t)
  const r = await request(`${url}/`)
  await r.body.dump()
  const csp = r.headers['content-security-policy'] as string
  t.match(csp, /default-src 'self'/)
  t.match(csp, /script-src 'self'(;|$)/, 'no inline or foreign scripts')
  t.match(csp, /connect-src 'self' http:\/\/\*:8001 https:\/\/\*:8444/, "the Admin API's ports on the page's host")
  t.match(csp, /frame-ancestors 'none'/)
  t.equal(r.headers['x-frame-options'], 'DENY')
  t.equal(r.headers['x-content-type-options'], 'nosniff')
  t.match(r.headers.server, /^tollgate\//)
  for (const method of ['POST', 'DELETE', 'PUT']) {
    const w = await request(`${url}/services`, { method: method as 'POST' })
    t.equal(w.statusCode, 405, method)
    t.equal(w.headers.allow, 'GET, HEAD')
    await w.body.dump()
  }
  const bad = await request(`${url}/%E0%A4%A`)
  t.equal(bad.statusCode, 400)
  await bad.body.dump()
})

t.test('/kconfig.js tells the page where the Admin API is and whether it wants a token', async (t) => {
  const read = async (url: string) => {
    const r = await request(`${url}/kconfig.js`)
    t.equal(r.headers['cache-control'], 'no-store')
    const text = await r.body.text()
    const m = /^window\.K_CONFIG = (.*)\n$/.exec(text)
    return JSON.parse(m?.[1] ?? 'null')
  }
  t.same(await read(await serve(t)), { ADMIN_API_URL: '', ADMIN_API_PORT: 8001, ADMIN_API_SSL_PORT: 8444, ADMIN_TOKEN_REQUIRED: false, VERSION: '0.1.0' })
  const behind = await serve(t, { admin_gui_api_url: 'https://admin.example.test/kong/', admin_token: 'a-token-of-32-characters-or-more-0123' })
  t.match(await read(behind), { ADMIN_API_URL: 'https://admin.example.test/kong', ADMIN_TOKEN_REQUIRED: true })
  const r = await request(`${behind}/`)
  await r.body.dump()
  t.match(r.headers['content-security-policy'], /connect-src 'self' https:\/\/admin\.example\.test;/)
  const k = await request(`${behind}/kconfig.js`)
  t.notMatch(await k.body.text(), /a-token-of/, 'the token itself is never served')
})

t.test('not built: 503 with what to do, and the gateway still starts', async (t) => {
  const url = await serve(t, {}, { built: false })
  const r = await request(`${url}/services`)
  t.equal(r.statusCode, 503)
  t.match(await r.body.text(), /npm run build/)
})

t.test('config: admin_gui_* keys are checked', async (t) => {
  const load = (overrides: Record<string, string>) => () => loadConfig({ env: {}, overrides: { prefix: tempDir(t), ...overrides } })
  t.throws(load({ admin_gui_listen: '127.0.0.1:8002 http2 ssl' }), /'admin_gui_listen': http2 is served on proxy_listen only/)
  t.throws(load({ admin_gui_api_url: 'ftp://x' }), /admin_gui_api_url.*not an http or https URL/)
  t.throws(load({ admin_gui_api_url: 'not a url' }), /admin_gui_api_url.*is not a URL/)
  t.throws(load({ admin_gui_url: 'http://ui.test/manager' }), /admin_gui_url.*has a path/)
  t.equal(load({ admin_gui_url: 'HTTP://UI.test:80/' })().admin_gui_url, 'http://ui.test')
  t.same(load({})().admin_gui_listen, [{ host: '127.0.0.1', port: 8002 }, { host: '127.0.0.1', port: 8445, ssl: true }], "Kong's ports, on loopback")
  t.same(load({ admin_gui_listen: 'off' })().admin_gui_listen, [])
  t.ok(managerDir().endsWith(join('dist', 'manager')))
})

t.test('the gateway serves the Manager on admin_gui_listen, pointing at its bound Admin API ports', async (t) => {
  const g = await startTestGateway(t, { config: { admin_listen: '127.0.0.1:0, 127.0.0.1:0 ssl', admin_gui_listen: '127.0.0.1:0, 127.0.0.1:0 ssl' } })
  t.equal(g.gateway.gui.length, 2)
  const [plain, ssl] = g.gateway.gui as [AddressInfo, AddressInfo]
  const r = await request(`http://127.0.0.1:${plain.port}/kconfig.js`)
  const k = JSON.parse(/= (.*)\n/.exec(await r.body.text())?.[1] ?? 'null')
  t.equal(k.ADMIN_API_PORT, (g.gateway.admin[0] as AddressInfo).port)
  t.equal(k.ADMIN_API_SSL_PORT, (g.gateway.admin[1] as AddressInfo).port)
  const s = await httpsGet(ssl.port, { path: '/kconfig.js' })
  t.equal(s.status, 200, 'the ssl listener serves over TLS')
  t.match(s.body, /K_CONFIG/)
  await g.gateway.stop()
  await until(async () => {
    try { await (await request(`http://127.0.0.1:${plain.port}/`)).body.dump(); return false } catch { return true }
  }, 'the Manager closes with the gateway')
})
