import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'
import { request, type Dispatcher } from 'undici'
import { createAdminServer } from '../../core/admin/server.js'
import { loadConfig } from '../../core/config/index.js'
import { createLogger, type Logger } from '../../core/log.js'
import { newProxyStats } from '../../core/proxy/server.js'
import type { PluginRegistry } from '../../core/runtime/registry.js'
import type { LmdbStore, StoreOptions } from '../../core/store/index.js'
import { testCredentials, testPlugins } from './entities.js'
import { tempStore } from './store.js'

export interface Reply { status: number, headers: Dispatcher.ResponseData['headers'], body: any, text: string }

export interface AdminClient {
  store: LmdbStore
  url: string
  /** The admin token every call sends, when the Admin API has one. */
  token?: string
  /** Sends a request; `json` sends JSON, `form` sends urlencoded, `body` sends as is. */
  call (method: string, path: string, opts?: { json?: unknown, form?: string | Record<string, string>, body?: string, headers?: Record<string, string> }): Promise<Reply>
}

/**
 * A real Admin API on 127.0.0.1 with a real LMDB store in a temp dir, closed at test end.
 * With `token`, the Admin API requires it and every call sends it (as Authorization: Bearer)
 * unless the call gives its own Authorization or Kong-Admin-Token header.
 */
export async function startAdmin (t: Test, opts: Partial<Omit<StoreOptions, 'plugins'>> & { plugins?: PluginRegistry, log?: Logger, config?: Record<string, string>, token?: string } = {}): Promise<AdminClient> {
  const { log = createLogger('error'), config: given, token, ...storeOpts } = opts
  const settings = token === undefined ? given : { ...given, admin_token: token }
  const plugins = opts.plugins ?? testPlugins
  const store = tempStore(t, { entities: [testCredentials], ...storeOpts, plugins })
  const config = loadConfig({ env: {}, overrides: { ...settings, admin_listen: '127.0.0.1:0' } })
  const app = createAdminServer({ config, store, plugins, log, proxyStats: newProxyStats(), workerPids: () => [process.pid] })
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  return {
    store,
    url,
    token,
    async call (method, path, o = {}) {
      const headers: Record<string, string> = { ...o.headers }
      const own = Object.keys(headers).some((h) => /^(authorization|kong-admin-token)$/i.test(h))
      if (token !== undefined && !own) headers.authorization = `Bearer ${token}`
      let body: string | undefined = o.body
      if (o.json !== undefined) { body = JSON.stringify(o.json); headers['content-type'] ??= 'application/json' }
      if (o.form !== undefined) {
        body = typeof o.form === 'string' ? o.form : new URLSearchParams(o.form).toString()
        headers['content-type'] ??= 'application/x-www-form-urlencoded'
      }
      const res = await request(`${url}${path}`, { method: method as Dispatcher.HttpMethod, headers, body })
      const text = await res.body.text()
      let parsed: unknown
      try { parsed = text === '' ? undefined : JSON.parse(text) } catch { parsed = undefined }
      return { status: res.statusCode, headers: res.headers, body: parsed, text }
    },
  }
}

/**
 * Everything the store holds, as one string: every row of every entity and the config
 * version, which any committed write moves. Equal dumps before and after a request mean
 * the request wrote nothing.
 */
export function storeDump (store: LmdbStore): string {
  const rows: Record<string, unknown[]> = {}
  for (const info of store.entities) rows[info.name] = [...store.each(info.name)]
  return JSON.stringify({ version: store.version(), rows })
}
