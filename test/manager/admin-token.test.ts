// A gateway with admin_token: the Manager asks for it, refuses a wrong one with the Admin
// API's message, shows the overview with the right one, and signs out.
import t from 'tap'
import { browserAvailable } from '../helpers/browser.js'
import { startManager } from '../helpers/manager.js'

t.test('sign in with the admin token', async (t) => {
  if (!browserAvailable(t)) return
  const { gui, page, browser } = await startManager(t, { admin_token: 'manager-test-token' })
  const tokens: string[] = []
  page.on('request', (r) => {
    const h = r.headers()['kong-admin-token']
    if (h !== undefined) tokens.push(h)
  })
  await page.goto(`${gui}/`)
  const input = page.getByLabel('Admin token')
  await input.waitFor()
  t.equal(await input.getAttribute('type'), 'password')

  await input.fill('wrong-token')
  await page.getByRole('button', { name: 'Sign in' }).click()
  const error = page.locator('#signin-error')
  await error.getByText('Invalid credentials. Token or User credentials required').waitFor()
  t.equal(await input.getAttribute('aria-invalid'), 'true')

  await input.fill('manager-test-token')
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('heading', { name: 'Overview' }).waitFor()
  await page.getByText('Welcome').or(page.getByText('node_id')).first().waitFor()
  t.ok(tokens.includes('manager-test-token'), 'sent as Kong-Admin-Token')
  t.equal(await page.evaluate('sessionStorage.length'), 1, 'kept in sessionStorage')

  // Another page keeps the session.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Services' }).click()
  await page.getByRole('heading', { name: 'Services' }).waitFor()
  await page.reload()
  await page.getByRole('heading', { name: 'Services' }).waitFor()

  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.getByLabel('Admin token').waitFor()
  t.equal(await page.evaluate('sessionStorage.length'), 0, 'forgotten')

  // A stale token in storage: the first 401 brings the sign-in back.
  await page.evaluate("sessionStorage.setItem('tollgate.admin-token', 'stale')")
  await page.goto(`${gui}/services`)
  await page.getByLabel('Admin token').waitFor()
  t.same(browser.offHost, [])
})
