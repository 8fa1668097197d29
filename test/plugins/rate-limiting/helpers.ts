// What the rate-limiting test files share: a request with its answer read, and the burst
// that shows a node counts one budget across its worker processes.
import { Agent, request } from 'undici'
import { windowStarts } from '../../../plugins/rate-limiting/handler.js'

export async function send (url: string, headers: Record<string, string> = {}): Promise<{ status: number, headers: Record<string, string>, body: any }> {
  const res = await request(url, { headers })
  const text = await res.body.text()
  let body: unknown = text
  try { body = JSON.parse(text) } catch {}
  return { status: res.statusCode, headers: res.headers as Record<string, string>, body }
}

export interface BurstAnswer { status: number, worker: string }

/**
 * 300 concurrent requests to `url` (Kong-Debug on, so each answer names its worker), inside
 * one minute window and after the plugin reached every worker; undefined when five
 * attempts found no such burst. The plugin must count by the `x-attempt` header (limit_by
 * header), which each attempt changes, so an attempt that failed leaves the next a full
 * budget.
 */
export async function burstOf300 (url: string): Promise<BurstAnswer[] | undefined> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const minute = windowStarts(Date.now()).minute
    const agent = new Agent({ connections: 50, pipelining: 0 })
    const all = await Promise.all(Array.from({ length: 300 }, async () => {
      const res = await request(url, { dispatcher: agent, headers: { 'kong-debug': '1', 'x-attempt': String(attempt) } })
      await res.body.dump()
      return { status: res.statusCode, worker: String(res.headers['tollgate-worker']), limited: res.headers['x-ratelimit-limit-minute'] !== undefined }
    }))
    await agent.close()
    if (windowStarts(Date.now()).minute !== minute || all.some((r) => !r.limited)) continue
    return all.map(({ status, worker }) => ({ status, worker }))
  }
  return undefined
}
