// Forms generated from Kong's schemas show the Admin API's errors beside their fields, and a
// delete asks first in a dialog that Escape cancels.
import t from 'tap'
import { browserAvailable } from '../helpers/browser.js'
import { startManager } from '../helpers/manager.js'
import { until } from '../helpers/gateway.js'

t.test('field errors, entity errors and the delete dialog', async (t) => {
  if (!browserAvailable(t)) return
  const { gw, gui, page, browser } = await startManager(t)
  const label = (name: string) => page.getByLabel(name, { exact: true })

  await t.test('a service with an invalid host', async (t) => {
    await page.goto(`${gui}/services/new`)
    await label('name').fill('bad')
    await label('host').fill('not a host!!')
    await page.getByRole('button', { name: 'Save' }).click()
    const host = label('host')
    await page.locator('[aria-invalid="true"]').first().waitFor()
    t.equal(await host.getAttribute('aria-invalid'), 'true')
    const describedBy = (await host.getAttribute('aria-describedby')) ?? ''
    const errorId = describedBy.split(' ').find((id) => id.endsWith('-error'))
    t.ok(errorId, 'the input is described by its error')
    const error = page.locator(`#${errorId as string}`)
    t.equal(await error.getAttribute('role'), 'alert')
    t.equal(await error.innerText(), 'invalid value: not a host!!', "Kong's message for the field")
    // The error follows its input inside the field's block.
    t.ok(await page.locator('.field', { has: host }).locator('[role="alert"]').isVisible())
    await until(async () => await page.evaluate('document.activeElement?.id') === 'f-host', 'focus on the field in error', 15_000)
    t.same((await gw.admin$('GET', '/services')).data, [], 'nothing saved')
  })

  await t.test('a rate-limiting plugin with no limit: the entity check at the top', async (t) => {
    await page.goto(`${gui}/plugins`)
    await page.getByRole('button', { name: 'New plugin' }).click()
    await label('name').selectOption('rate-limiting')
    await label('config.minute').waitFor()
    await page.getByRole('button', { name: 'Save' }).click()
    const top = page.locator('.form-errors[role="alert"]')
    await top.getByText('at least one of these fields must be non-empty').waitFor()
    t.match(await top.innerText(), /config\.minute/)
    // A limit given: saved.
    await label('config.minute').fill('5')
    await page.getByRole('button', { name: 'Save' }).click()
    await page.getByRole('heading', { name: 'Plugin rate-limiting' }).waitFor()
    const plugins = await gw.admin$('GET', '/plugins')
    t.equal(plugins.data[0].config.minute, 5)
  })

  await t.test('a field error inside a record: config.minute', async (t) => {
    const plugin = (await gw.admin$('GET', '/plugins')).data[0]
    await page.goto(`${gui}/plugins/${plugin.id as string}/edit`)
    await label('config.minute').fill('-3')
    await page.getByRole('button', { name: 'Save' }).click()
    await page.locator('#f-config_minute-error').waitFor()
    t.match(await page.locator('#f-config_minute-error').innerText(), /./, 'the error is shown by config.minute')
    t.match(await label('config.minute').getAttribute('aria-describedby') ?? '', /f-config_minute-error/)
  })

  await t.test('delete asks first; Escape and Cancel keep the entity', async (t) => {
    const svc = await gw.admin$('POST', '/services', { name: 'doomed', url: 'http://127.0.0.1:9' })
    await page.goto(`${gui}/services/${svc.id as string}`)
    await page.getByRole('button', { name: 'Delete' }).click()
    const dialog = page.getByRole('dialog')
    await dialog.waitFor()
    t.equal(await page.evaluate('document.activeElement?.textContent'), 'Cancel', 'focus goes to Cancel')
    await page.keyboard.press('Tab')
    await page.keyboard.press('Tab')
    t.ok(await page.evaluate("document.activeElement?.closest('dialog') !== null"), 'Tab stays in the dialog')
    await page.keyboard.press('Escape')
    await dialog.waitFor({ state: 'detached' })
    t.equal((await gw.admin$('GET', '/services/doomed')).id, svc.id, 'Escape cancels')
    await page.getByRole('button', { name: 'Delete' }).click()
    await dialog.getByRole('button', { name: 'Cancel' }).click()
    await dialog.waitFor({ state: 'detached' })
    await page.getByRole('button', { name: 'Delete' }).click()
    await dialog.getByRole('button', { name: 'Delete' }).click()
    await page.getByRole('heading', { name: 'Services' }).waitFor()
    t.same((await gw.admin$('GET', '/services')).data, [], 'deleted')
  })

  await t.test("an upstream's targets with their health", async (t) => {
    const up = await gw.admin$('POST', '/upstreams', { name: 'orders.internal' })
    await gw.admin$('POST', '/upstreams/orders.internal/targets', { target: '127.0.0.1:8080', weight: 100 })
    await page.goto(`${gui}/upstreams`)
    await page.getByRole('link', { name: 'orders.internal' }).click()
    await page.getByRole('heading', { name: 'Upstream orders.internal' }).waitFor()
    const row = page.getByRole('row', { name: /127\.0\.0\.1:8080/ })
    await row.waitFor()
    t.match(await row.innerText(), /HEALTHCHECKS_OFF/, 'health from /upstreams/{id}/health')
    await page.getByRole('button', { name: 'New target' }).click()
    await label('target').fill('127.0.0.1:8081')
    await label('weight').fill('5')
    await page.getByRole('button', { name: 'Save' }).click()
    await page.getByRole('row', { name: /127\.0\.0\.1:8081/ }).waitFor()
    const targets = await gw.admin$('GET', `/upstreams/${up.id as string}/targets`)
    t.same(targets.data.map((x: any) => [x.target, x.weight]).sort(), [['127.0.0.1:8080', 100], ['127.0.0.1:8081', 5]])
  })

  await t.test('an edit sends what changed (PATCH), a cleared input as null', async (t) => {
    const svc = await gw.admin$('POST', '/services', { name: 'editable', url: 'http://127.0.0.1:9/base', tags: ['a', 'b'], retries: 4 })
    await page.goto(`${gui}/services/${svc.id as string}/edit`)
    t.equal(await label('retries').inputValue(), '4', 'the current values')
    t.equal(await label('tags').inputValue(), 'a, b')
    await label('retries').fill('2')
    await label('path').fill('')
    await page.getByRole('button', { name: 'Save' }).click()
    await page.getByRole('heading', { name: 'Service editable' }).waitFor()
    const after = await gw.admin$('GET', '/services/editable')
    t.same([after.retries, after.path, after.tags, after.host], [2, null, ['a', 'b'], '127.0.0.1'])
    await gw.admin$('DELETE', '/services/editable')
  })

  await t.test('keyboard: the skip link, then the navigation', async (t) => {
    await page.goto(`${gui}/overview`)
    await page.getByRole('heading', { name: 'Overview' }).waitFor()
    await page.keyboard.press('Tab')
    t.equal(await page.evaluate('document.activeElement?.textContent'), 'Skip to content')
    await page.keyboard.press('Tab')
    await page.keyboard.press('Tab')
    t.equal(await page.evaluate('document.activeElement?.textContent'), 'Services', 'second nav link')
    await page.keyboard.press('Enter')
    await page.getByRole('heading', { name: 'Services' }).waitFor()
    t.equal(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Services' }).getAttribute('aria-current'), 'page')
  })
  t.same(browser.offHost, [])
})
