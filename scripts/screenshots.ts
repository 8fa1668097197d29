// `npm run screenshots`: a gateway on a temp prefix with sample data and some traffic, and
// a PNG of each Tollgate Manager page in docs/screenshots/ (1280x800, headless Chromium).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { request } from 'undici'
import { loadConfig } from '../core/config/index.js'
import { startGateway } from '../core/gateway.js'
import { createLogger } from '../core/log.js'
import { CHROMIUM, CHROMIUM_ARGS } from '../test/helpers/browser.js'

const OUT = join(import.meta.dirname, '..', 'docs', 'screenshots')

async function main (): Promise<void> {
  mkdirSync(OUT, { recursive: true })
  const prefix = mkdtempSync(join(tmpdir(), 'tollgate-shots-'))
  const profile = mkdtempSync(join(tmpdir(), 'tollgate-shots-chromium-'))
  const upstream: Server = createServer((req, res) => {
    const slow = Math.random() * 15
    setTimeout(() => {
      const status = req.url?.includes('missing') === true ? 404 : 200
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ url: req.url }))
    }, slow)
  })
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  const upPort = (upstream.address() as AddressInfo).port
  const config = loadConfig({ env: {}, overrides: { prefix, proxy_listen: '127.0.0.1:0', admin_listen: '127.0.0.1:0', admin_gui_listen: '127.0.0.1:0' } })
  const gateway = await startGateway(config, createLogger('error'))
  const admin = `http://127.0.0.1:${(gateway.admin[0] as AddressInfo).port}`
  const proxy = `http://127.0.0.1:${(gateway.proxy[0] as AddressInfo).port}`
  const gui = `http://127.0.0.1:${(gateway.gui[0] as AddressInfo).port}`
  const call = async (method: string, path: string, body?: unknown): Promise<any> => {
    const res = await request(`${admin}${path}`, { method: method as 'GET', headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
    const text = await res.body.text()
    if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${text}`)
    return text === '' ? undefined : JSON.parse(text)
  }
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 800 } })
  await context.route((url) => url.hostname !== '127.0.0.1', async (route) => await route.abort())
  let trafficOn = true
  try {
    // Sample data.
    await call('POST', '/services', { name: 'example_service', url: `http://127.0.0.1:${upPort}`, tags: ['demo'] })
    await call('POST', '/services/example_service/routes', { name: 'example_route', paths: ['/mock'], tags: ['demo'] })
    await call('POST', '/services', { name: 'billing', url: `http://127.0.0.1:${upPort}/billing`, tags: ['finance'] })
    await call('POST', '/services/billing/routes', { name: 'billing_api', paths: ['/billing'], methods: ['GET', 'POST'], tags: ['finance'] })
    await call('POST', '/upstreams', { name: 'orders.internal', algorithm: 'round-robin', healthchecks: { active: { http_path: '/', healthy: { interval: 1, successes: 1 }, unhealthy: { interval: 1, http_failures: 1, tcp_failures: 1, timeouts: 1 } } } })
    await call('POST', '/upstreams/orders.internal/targets', { target: `127.0.0.1:${upPort}`, weight: 100 })
    await call('POST', '/upstreams/orders.internal/targets', { target: '127.0.0.1:1', weight: 50 })
    await call('POST', '/services', { name: 'orders', host: 'orders.internal', tags: ['demo'] })
    await call('POST', '/services/orders/routes', { name: 'orders_api', paths: ['/orders'] })
    for (const [username, key] of [['luka', 'top-secret-key'], ['ana', 'ana-key-2026'], ['mobile-app', undefined]] as const) {
      await call('POST', '/consumers', { username, custom_id: `cust-${username}` })
      await call('POST', `/consumers/${username}/key-auth`, key === undefined ? {} : { key })
    }
    await call('POST', '/consumers/luka/key-auth', {})
    await call('POST', '/consumers/luka/acls', { group: 'admins' })
    await call('POST', '/routes/example_route/plugins', { name: 'key-auth', config: { key_names: ['apikey'] } })
    await call('POST', '/plugins', { name: 'rate-limiting', config: { minute: 600, policy: 'local' } })
    await call('POST', '/services/billing/plugins', { name: 'correlation-id' })

    // Traffic for the live page: a few requests per second, some refused, some missing.
    const traffic = (async () => {
      const end = Date.now() + 120_000
      let i = 0
      while (trafficOn && Date.now() < end) {
        i++
        const path = i % 9 === 0 ? '/mock/x' : i % 7 === 0 ? '/billing/missing' : i % 3 === 0 ? '/orders/o' : '/mock/anything'
        const res = await request(`${proxy}${path}`, { headers: i % 9 === 0 ? {} : { apikey: 'top-secret-key' } }).catch(() => undefined)
        await res?.body.text()
        await new Promise((resolve) => setTimeout(resolve, 10 + (Math.sin(i / 40) + 1) * 30))
      }
    })()

    const page = context.pages()[0] ?? await context.newPage()
    const shot = async (name: string): Promise<void> => {
      await page.screenshot({ path: join(OUT, `${name}.png`) })
      console.log(`docs/screenshots/${name}.png`)
    }
    await page.goto(`${gui}/overview`)
    await page.getByText('example_service').or(page.locator('.counts dd', { hasText: /^\d/ })).first().waitFor()
    await page.locator('.plugin-grid li').first().waitFor()
    await shot('overview')

    await page.goto(`${gui}/services`)
    await page.locator('table tbody tr').first().waitFor()
    await shot('services')

    await page.goto(`${gui}/services/new`)
    await page.getByLabel('name', { exact: true }).fill('inventory')
    await page.getByLabel('host', { exact: true }).fill('not a host!!')
    await page.getByRole('button', { name: 'Save' }).click()
    await page.locator('.field-error').first().waitFor()
    await page.locator('.field-error').first().scrollIntoViewIfNeeded()
    await shot('service-form-error')

    const luka = await call('GET', '/consumers/luka')
    await page.goto(`${gui}/consumers/${luka.id as string}`)
    await page.getByRole('cell', { name: 'top-secret-key' }).waitFor()
    await page.getByRole('heading', { name: 'Credentials' }).scrollIntoViewIfNeeded()
    await shot('consumer')

    await page.goto(`${gui}/plugins`)
    await page.locator('table tbody tr').first().waitFor()
    await shot('plugins')

    const up = await call('GET', '/upstreams/orders.internal')
    // Wait for the active checks to tell both targets apart.
    const end = Date.now() + 20_000
    while (Date.now() < end) {
      const h = await call('GET', `/upstreams/${up.id as string}/health`)
      if ((h.data as Array<{ health: string }>).every((r) => r.health === 'HEALTHY' || r.health === 'UNHEALTHY') && new Set(h.data.map((r: any) => r.health)).size > 1) break
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    await page.goto(`${gui}/upstreams/${up.id as string}`)
    await page.locator('.badge').first().waitFor()
    await page.getByRole('heading', { name: 'Targets' }).scrollIntoViewIfNeeded()
    await shot('upstream')

    await page.goto(`${gui}/live`)
    const liveEnd = Date.now() + 60_000
    while (Number(await page.getByTestId('total').innerText()) < 400 && Date.now() < liveEnd) await page.waitForTimeout(250)
    await shot('live')

    await page.goto(`${gui}/plugins/new`)
    await page.getByLabel('name', { exact: true }).selectOption('rate-limiting')
    await page.getByLabel('config.minute', { exact: true }).waitFor()
    await shot('plugin-form')
    trafficOn = false
    await traffic
  } finally {
    trafficOn = false
    await context.close()
    await gateway.stop()
    upstream.closeAllConnections()
    upstream.close()
    rmSync(profile, { recursive: true, force: true })
    rmSync(prefix, { recursive: true, force: true })
  }
}

await main()
