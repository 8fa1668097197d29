// What every chapter of Kong's Get Started series after "Services and Routes" starts from:
// `tollgate start` in a child process with its own prefix, an echo upstream standing in
// for the guide's mock service, and that chapter's example_service and example_route
// (`/mock`), made as its curl commands make them.
import type { Test } from 'tap'
import { request } from 'undici'
import { startMockUpstream } from './mock-upstream.js'
import { form, startGateway, type Running } from './process.js'
import { tempDir } from './store.js'

export interface GuideAnswer { status: number, headers: Record<string, string | string[] | undefined>, body: any }

/** A GET with its JSON body read (undefined when empty). */
export async function guideGet (url: string, headers: Record<string, string> = {}): Promise<GuideAnswer> {
  const res = await request(url, { headers })
  const text = await res.body.text()
  return { status: res.statusCode, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) }
}

export async function servicesAndRoutes (t: Test): Promise<{ gw: Running, mock: string }> {
  const up = await startMockUpstream(t)
  const gw = await startGateway(t, ['--prefix', tempDir(t)])
  let r = await form(`${gw.admin}/services`, 'POST', { name: 'example_service', url: up.url })
  t.equal(r.status, 201, 'example_service')
  r = await form(`${gw.admin}/services/example_service/routes`, 'POST', { name: 'example_route', 'paths[]': '/mock' })
  t.equal(r.status, 201, 'example_route')
  return { gw, mock: `${gw.proxy}/mock/anything` }
}
