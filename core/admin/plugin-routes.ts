// Admin API endpoints owned by plugins (Kong: a plugin's api.lua, such as prometheus's
// /metrics). Each route is a plain handler from request facts to an answer, so no fastify
// type reaches the plugin descriptor; this file adapts them to the route table.

import { ConfigError } from '../errors.js'
import type { Logger } from '../log.js'
import type { AdminAnswer, AdminContext, AdminNode, AdminRoute, PluginConfigRow } from '../runtime/plugin.js'
import type { PluginRegistry } from '../runtime/registry.js'
import type { SharedMemory } from '../shm/index.js'
import type { ConfigReader } from '../store/index.js'
import type { RouteTable } from './route-table.js'

/** What plugin routes may reach of the node (see AdminContext). */
export interface PluginRouteDeps {
  shm: SharedMemory
  store: ConfigReader
  node: AdminNode
}

/** The AdminContext of plugin `name`'s routes: one per plugin, made once. */
function contextFor (name: string, deps: PluginRouteDeps): AdminContext {
  const ref = (v: unknown): string | null => (v as { id?: string } | null)?.id ?? null
  return {
    shm: (dict) => deps.shm.dict(dict),
    configs: () => {
      const out: PluginConfigRow[] = []
      for (const e of deps.store.each('plugins')) {
        if (e.name !== name) continue
        out.push({ id: e.id as string, route: ref(e.route), service: ref(e.service), consumer: ref(e.consumer), enabled: e.enabled === true, config: e.config as Record<string, unknown> })
      }
      return out
    },
    node: deps.node,
  }
}

const INTERNAL_ERROR = { message: 'An unexpected error occurred' }

/**
 * Registers every loaded plugin's routes, after the core ones: a path the core API or
 * another plugin serves is a start-up error naming both (Kong lets api.lua extend core
 * endpoints; here a plugin adds paths of its own only).
 */
export function registerPluginRoutes (table: RouteTable, plugins: PluginRegistry, log: Logger, deps: PluginRouteDeps, opts: { statusApi?: boolean } = {}): void {
  for (const p of plugins.all()) {
    const context = contextFor(p.name, deps)
    const owner = `plugin '${p.name}'`
    for (const route of (p.admin ?? []) as AdminRoute[]) {
      // The Status API serves only the routes a plugin offers it (Kong: status_api.lua).
      if (opts.statusApi === true && route.statusApi !== true) continue
      const doc = { summary: route.summary ?? `${route.method} ${route.path} (plugin ${p.name})`, response: 'object' as const, tags: [p.name], owner }
      try {
        table.add(route.method, route.path, doc, async (req, reply) => {
          try {
            const answer: AdminAnswer = (await route.handler({ params: req.params, query: req.query, body: req.body, headers: req.headers }, context)) ?? {}
            if (answer.headers !== undefined) reply.headers(answer.headers)
            return reply.code(answer.status ?? 200).send(answer.body)
          } catch (err) {
            // Kong's answer to an error in an api.lua handler; the details go to the log only.
            log.error({ err, plugin: p.name, request_id: req.id }, `plugin ${p.name} failed in its Admin API route ${route.method} ${route.path}`)
            return reply.code(500).send(INTERNAL_ERROR)
          }
        })
      } catch (err) {
        throw new ConfigError((err as Error).message, 'plugins')
      }
    }
  }
}
