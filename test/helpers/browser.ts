// Headless Chromium for Tollgate Manager's tests: Debian's /usr/bin/chromium driven through
// playwright-core (playwright's own browser download cannot run here), with a fresh profile
// directory removed at teardown. Every request to a host other than 127.0.0.1 is aborted and
// recorded in `offHost`, so a test can assert that the app reached nothing beyond the machine.
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import type { Test } from 'tap'
import { chromium, type BrowserContext, type Page } from 'playwright-core'

/** TOLLGATE_CHROMIUM, else `chromium` found on PATH, else Debian's place for it. */
export const CHROMIUM = process.env.TOLLGATE_CHROMIUM ?? onPath('chromium') ?? '/usr/bin/chromium'

function onPath (name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && existsSync(join(dir, name))) return join(dir, name)
  }
  return undefined
}

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
]

export interface TestBrowser {
  context: BrowserContext
  /** URLs of requests to anything but 127.0.0.1 (all aborted). */
  offHost: string[]
  newPage (): Promise<Page>
}

/**
 * Whether browser tests can run: without Chromium they are skipped, except under CI=true,
 * where a missing browser is a failure.
 */
export function browserAvailable (t: Test): boolean {
  if (existsSync(CHROMIUM)) return true
  if (process.env.CI === 'true') {
    t.fail(`${CHROMIUM} is missing: install Debian's chromium (.ci/run does)`)
    return false
  }
  t.skip(`${CHROMIUM} is missing`, () => {})
  return false
}

export async function launchBrowser (t: Test, opts: { width?: number, height?: number } = {}): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'tollgate-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: opts.width ?? 1280, height: opts.height ?? 800 },
    timeout: 30_000,
  })
  const offHost: string[] = []
  await context.route((url) => url.hostname !== '127.0.0.1', async (route) => {
    offHost.push(route.request().url())
    await route.abort('blockedbyclient')
  })
  context.setDefaultTimeout(15_000)
  t.teardown(async () => {
    await context.close().catch(() => {})
    rmSync(profile, { recursive: true, force: true })
  })
  return {
    context,
    offHost,
    async newPage () {
      const existing = context.pages()
      const page = existing.length > 0 && existing[0]!.url() === 'about:blank' ? existing[0]! : await context.newPage()
      return page
    },
  }
}
