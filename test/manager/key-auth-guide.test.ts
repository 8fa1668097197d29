// Kong's "Key Authentication" getting-started chapter (test/e2e/key-auth-guide.test.ts does it
// with curl), done entirely in Tollgate Manager: service, route, consumer, key, plugin.
import t from 'tap'
import { request } from 'undici'
import { echo, startUpstream } from '../helpers/gateway.js'
import { browserAvailable } from '../helpers/browser.js'
import { startManager } from '../helpers/manager.js'

async function proxied (url: string, headers: Record<string, string> = {}): Promise<{ status: number, body: any }> {
  const res = await request(url, { headers })
  const text = await res.body.text()
  return { status: res.statusCode, body: text === '' ? undefined : JSON.parse(text) }
}

t.test('the Key Authentication guide in the Manager', async (t) => {
  if (!browserAvailable(t)) return
  const up = await startUpstream(t, echo)
  const { gw, gui, page, browser } = await startManager(t)
  const mock = `${gw.proxy}/mock/anything`
  const label = (name: string) => page.getByLabel(name, { exact: true })

  // Services and Routes
  await page.goto(`${gui}/services`)
  await page.getByRole('button', { name: 'New service' }).click()
  await label('name').fill('example_service')
  await label('url').fill(up.url)
  await page.getByRole('button', { name: 'Save' }).click()
  await page.getByRole('heading', { name: 'Service example_service' }).waitFor()

  await page.getByRole('button', { name: 'New route' }).click()
  await label('name').fill('example_route')
  await label('paths').fill('/mock')
  await page.getByRole('button', { name: 'Save' }).click()
  await page.getByRole('heading', { name: 'Route example_route' }).waitFor()
  t.equal((await proxied(mock)).status, 200, 'proxied before any plugin')

  // A consumer and its key
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Consumers' }).click()
  await page.getByRole('button', { name: 'New consumer' }).click()
  await label('username').fill('luka')
  await page.getByRole('button', { name: 'Save' }).click()
  await page.getByRole('heading', { name: 'Consumer luka' }).waitFor()
  await page.getByRole('button', { name: 'New key-auth credential' }).click()
  await label('key').fill('top-secret-key')
  await page.getByRole('button', { name: 'Save' }).click()
  await page.getByRole('cell', { name: 'top-secret-key' }).waitFor()

  // key-auth on the route, from the route's page, as the guide's last step does
  await page.goto(`${gui}/routes`)
  await page.getByRole('link', { name: 'example_route' }).click()
  await page.getByRole('button', { name: 'New plugin' }).click()
  await label('name').selectOption('key-auth')
  await label('config.key_names').fill('apikey')
  await page.getByRole('button', { name: 'Save' }).click()
  await page.getByRole('heading', { name: 'Plugin key-auth' }).waitFor()

  const plugins = await gw.admin$('GET', '/plugins')
  t.equal(plugins.data.length, 1)
  t.equal(plugins.data[0].route?.id, (await gw.admin$('GET', '/routes/example_route')).id, 'scoped to the route')

  let p = await proxied(mock)
  t.same([p.status, p.body.message], [401, 'No API key found in request'], 'no key')
  p = await proxied(mock, { apikey: 'bad-key' })
  t.same([p.status, p.body.message], [401, 'Invalid authentication credentials'], 'bad key')
  p = await proxied(mock, { apikey: 'top-secret-key' })
  t.equal(p.status, 200, 'good key')
  t.equal(p.body.headers['x-consumer-username'], 'luka')
  t.same(browser.offHost, [], 'nothing beyond 127.0.0.1 was asked for')
})
