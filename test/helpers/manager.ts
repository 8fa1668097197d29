// A gateway with Tollgate Manager on admin_gui_listen, and a browser page on it.
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'
import type { Page } from 'playwright-core'
import { startTestGateway, type TestGateway } from './gateway.js'
import { launchBrowser, type TestBrowser } from './browser.js'

export interface ManagerSetup {
  gw: TestGateway
  /** The Manager's base URL, http://127.0.0.1:<port>. */
  gui: string
  browser: TestBrowser
  page: Page
}

export async function startManager (t: Test, config: Record<string, string> = {}): Promise<ManagerSetup> {
  const gw = await startTestGateway(t, { config: { admin_gui_listen: '127.0.0.1:0', ...config } })
  const gui = `http://127.0.0.1:${(gw.gateway.gui[0] as AddressInfo).port}`
  const browser = await launchBrowser(t)
  const page = await browser.newPage()
  return { gw, gui, browser, page }
}

/** Polls `cond` until it holds (no fixed sleeps); fails with `what` after `ms`. */
export async function eventually (cond: () => Promise<boolean> | boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms
  for (;;) {
    if (await cond()) return
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}
