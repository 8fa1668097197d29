// Lists page through 250 consumers with Next (each shown exactly once) and Previous, and the
// search box (?search=) finds one of them.
import t from 'tap'
import { browserAvailable } from '../helpers/browser.js'
import { startManager } from '../helpers/manager.js'
import { until } from '../helpers/gateway.js'

t.test('250 consumers, page by page', async (t) => {
  if (!browserAvailable(t)) return
  const { gw, gui, page } = await startManager(t)
  const names = Array.from({ length: 250 }, (_, i) => `user-${String(i + 1).padStart(3, '0')}`)
  for (const [i, username] of names.entries()) {
    await gw.admin$('POST', '/consumers', { username, tags: i % 100 === 7 ? ['vip', 'eu'] : i % 100 === 8 ? ['vip'] : undefined })
  }

  await page.goto(`${gui}/consumers`)
  const rows = page.locator('table tbody tr')
  const firstColumn = async (): Promise<string[]> => await page.locator('table tbody tr td:first-child').allInnerTexts()
  const seen: string[] = []
  let pageNo = 1
  for (;;) {
    await page.getByText(`Page ${pageNo}`, { exact: true }).waitFor()
    await page.locator('table[aria-busy="false"]').waitFor()
    seen.push(...await firstColumn())
    const next = page.getByRole('button', { name: 'Next' })
    if (await next.isDisabled()) break
    // Keyboard: focus Next and press Enter.
    await next.focus()
    await page.keyboard.press('Enter')
    pageNo++
  }
  t.equal(pageNo, 13, '13 pages of 20')
  t.equal(seen.length, 250, 'every consumer')
  t.same([...seen].sort(), names, 'each exactly once')

  await page.getByRole('button', { name: 'Previous' }).click()
  await page.getByText('Page 12', { exact: true }).waitFor()
  await page.locator('table[aria-busy="false"]').waitFor()
  t.equal(await rows.count(), 20)

  await page.getByLabel('Search').fill('USER-123')
  await page.getByRole('button', { name: 'Filter' }).click()
  await page.getByText('Page 1', { exact: true }).waitFor()
  await page.locator('table[aria-busy="false"]').waitFor()
  t.same(await firstColumn(), ['user-123'], 'search finds one, case-insensitively')
  t.ok(await page.getByRole('button', { name: 'Next' }).isDisabled())

  // Tags: comma is AND, slash OR (Kong's ?tags=).
  await page.getByLabel('Search').fill('')
  await page.getByLabel('Tags').fill('vip,eu')
  await page.getByRole('button', { name: 'Filter' }).click()
  await until(async () => (await firstColumn()).sort().join() === 'user-008,user-108,user-208', 'vip,eu consumers', 15_000)
  await page.getByLabel('Tags').fill('vip')
  await page.getByLabel('Tags').press('Enter')
  await until(async () => (await firstColumn()).length === 6, 'the six vip consumers', 15_000)
  t.same((await firstColumn()).sort(), ['user-008', 'user-009', 'user-108', 'user-109', 'user-208', 'user-209'])

  await page.getByLabel('Tags').fill('')
  await page.getByLabel('Search').fill('user-123')
  await page.getByLabel('Search').press('Enter')
  await until(async () => (await firstColumn()).join() === 'user-123', 'the search again', 15_000)
  await page.getByRole('link', { name: 'user-123' }).click()
  await page.getByRole('heading', { name: 'Consumer user-123' }).waitFor()
})
