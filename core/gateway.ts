// Assembles one gateway process: store, Admin API, proxy. `start()` resolves once every
// listener is bound; `stop()` drains and closes in the reverse order.

import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { AddressInfo } from 'node:net'
import { createAdminServer } from './admin/server.js'
import { preparePrefix, type Config } from './config/index.js'
import { drain, listen, sweepIdle } from './listen.js'
import { createLogger, type Logger } from './log.js'
import { createProxyServer, newProxyStats, type ProxyServer } from './proxy/server.js'
import { Pipeline } from './proxy/pipeline.js'
import { Upstreams } from './proxy/upstreams.js'
import { LivePlugins } from './runtime/plugins.js'
import { LiveRouter } from './router/index.js'
import { EntityCache } from './runtime/entity-cache.js'
import { loadPlugins } from './runtime/loader.js'
import type { AnyPlugin } from './runtime/plugin.js'
import { Store } from './store/index.js'

const GRACE_MS = 10_000

export interface Gateway {
  config: Config
  store: Store
  log: Logger
  proxy: AddressInfo[]
  admin: AddressInfo[]
  stop(): Promise<void>
}

export interface StartOptions {
  /** Plugins registered besides those the config names (tests, embedding). */
  plugins?: AnyPlugin[]
}

export async function startGateway (config: Config, log: Logger = createLogger(config.log_level), opts: StartOptions = {}): Promise<Gateway> {
  preparePrefix(config.prefix)
  const plugins = await loadPlugins(config.plugins, process.cwd(), opts.plugins)
  const store = new Store({ path: join(config.prefix, 'tollgate.mdb'), plugins, entities: plugins.entities() })
  const proxies: ProxyServer[] = []
  const admins: FastifyInstance[] = []
  const proxy: AddressInfo[] = []
  const admin: AddressInfo[] = []

  const upstreams = new Upstreams()

  const stop = async (): Promise<void> => {
    await Promise.all([
      ...proxies.map((p) => {
        // Upgraded (WebSocket) connections have no request to finish; nginx, too, closes
        // them when a worker shuts down.
        for (const s of p.upgraded) s.destroy()
        return drain(p.server, GRACE_MS)
      }),
      ...admins.map(async (a) => {
        const stopSweep = sweepIdle(a.server, GRACE_MS)
        await a.close()
        stopSweep()
      }),
    ])
    await upstreams.close()
    await store.close()
  }

  try {
    if (config.worker_processes > 1) {
      log.warn({ worker_processes: config.worker_processes }, 'multiple worker processes are not implemented yet; serving from this process')
    }
    const stats = newProxyStats()
    const router = new LiveRouter(store)
    router.get() // compile now, so the first request does not pay for it
    const pipeline = new Pipeline({ router, plugins: new LivePlugins(store, plugins), upstreams, env: { db: new EntityCache(store), log, nodeId: store.nodeId() }, log })
    for (const l of config.proxy_listen) {
      const p = createProxyServer({ pipeline, upstreams, log, stats })
      proxies.push(p)
      proxy.push(await listen(p.server, l, 'proxy_listen'))
    }
    for (const l of config.admin_listen) {
      const a = createAdminServer({ config, store, plugins, log, proxyStats: stats })
      admins.push(a)
      await a.ready()
      admin.push(await listen(a.server, l, 'admin_listen'))
    }
  } catch (err) {
    await stop()
    throw err
  }
  return { config, store, log, proxy, admin, stop }
}
