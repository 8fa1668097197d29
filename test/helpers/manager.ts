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
