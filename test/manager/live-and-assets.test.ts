// The Live page's figures and charts follow proxy traffic (GET /status/traffic polled every
// second); the first load is small; and the app asks nothing of any host but 127.0.0.1.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import t from 'tap'
import { request } from 'undici'
import { echo, startUpstream, until } from '../helpers/gateway.js'
import { browserAvailable } from '../helpers/browser.js'
import { startManager } from '../helpers/manager.js'

const DIST = join(import.meta.dirname, '..', '..', 'dist', 'manager')

t.test('first load under 200 KB gzip-compressed', async (t) => {
  const html = readFileSync(join(DIST, 'index.html'), 'utf8')
  const assets = [...html.matchAll(/(?:src|href)="\/([^"]+)"/g)].map((m) => m[1] as string).filter((a) => a !== 'kconfig.js')
  t.ok(assets.some((a) => a.endsWith('.js')), 'a script')
  t.ok(assets.some((a) => a.endsWith('.css')), 'a stylesheet')
  let total = gzipSync(html).length
  for (const a of assets) total += gzipSync(readFileSync(join(DIST, a))).length
  t.comment(`first load: ${total} bytes gzip-compressed`)
  t.ok(total < 200 * 1024, `${total} bytes < 200 KB`)
})

t.test('live traffic', async (t) => {
  if (!browserAvailable(t)) return
  const up = await startUpstream(t, echo)
  const { gw, gui, page, browser } = await startManager(t)
  await gw.admin$('POST', '/services', { name: 'live', url: up.url })
  await gw.admin$('POST', '/services/live/routes', { name: 'live', paths: ['/live'] })

  await page.goto(`${gui}/live`)
  await page.getByRole('heading', { name: 'Live traffic' }).waitFor()
  t.equal(await page.locator('.chart canvas').count(), 3, 'three uPlot charts')
  const rps = page.getByTestId('rps')
  const total = page.getByTestId('total')
  await until(async () => (await total.innerText()) === '0', 'the empty window', 15_000)

  // Proxy requests in a bounded loop until the page shows them.
  let stop = false
  let sent = 0
  const traffic = (async () => {
    const end = Date.now() + 30_000
    while (!stop && Date.now() < end) {
      const res = await request(`${gw.proxy}/live/x`)
      await res.body.text()
      sent++
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  })()
  try {
    await until(async () => Number(await rps.innerText()) > 0, 'requests/s above 0', 20_000)
    await until(async () => Number(await total.innerText()) > 0, 'a total above 0', 20_000)
  } finally {
    stop = true
    await traffic
  }
  t.ok(sent > 0)
  // The charts were updated in place: still three canvases, the requests series now non-zero.
  t.equal(await page.locator('.chart canvas').count(), 3)
  t.same(browser.offHost, [], 'no request beyond 127.0.0.1')
})

t.test('no network beyond 127.0.0.1 on any page', async (t) => {
  if (!browserAvailable(t)) return
  const { gui, page, browser } = await startManager(t)
  const failed: string[] = []
  page.on('requestfailed', (r) => failed.push(r.url()))
  for (const path of ['/', '/services', '/routes', '/consumers', '/plugins', '/upstreams', '/certificates', '/live', '/plugins/new']) {
    await page.goto(`${gui}${path}`, { waitUntil: 'networkidle' })
    await page.locator('main h1').first().waitFor()
  }
  t.same(browser.offHost, [], 'no request to another host was made')
  t.same(failed, [], 'no request failed')
})
