// Kong's kong/plugins/proxy-cache/api.lua: read and purge stored responses. The memory
// strategy's entries are in the node's shared dictionaries, which every worker reads, so a
// purge here is seen by all of them at once (Kong broadcasts purges to other nodes; a
// Tollgate node has no cluster to tell).

import type { AdminContext, AdminRoute, PluginConfigRow } from '@tollgate/sdk'
import { asKongObject, decode } from './entry.js'
import type { ProxyCacheConfig } from './schema.js'

// Kong answers a missing entry with an empty 404, not the usual {"message":"Not found"}.
const NOT_FOUND = { status: 404 }
const NO_CONTENT = { status: 204 }

const configOf = (row: PluginConfigRow): ProxyCacheConfig => row.config as unknown as ProxyCacheConfig

/** The dictionary a config keeps its responses in. */
const dictOf = (ctx: AdminContext, row: PluginConfigRow): ReturnType<AdminContext['shm']> => ctx.shm(configOf(row).memory.dictionary_name)

function fetch (ctx: AdminContext, row: PluginConfigRow, key: string): Record<string, unknown> | undefined {
  const raw = dictOf(ctx, row).get(key)
  if (raw === undefined) return undefined
  const res = decode(raw)
  // Kong's fetch fails to decode such a value: a 500 with the error.
  if (res === undefined) throw new Error('could not decode request object')
  return asKongObject(res)
}

export const adminRoutes: AdminRoute[] = [
  {
    method: 'DELETE',
    path: '/proxy-cache',
    summary: 'Purge every entry of every proxy-cache plugin',
    handler (_req, ctx) {
      for (const row of ctx.configs()) dictOf(ctx, row).flushAll()
      return NO_CONTENT
    },
  },
  {
    method: 'GET',
    path: '/proxy-cache/:cache_key',
    summary: "A stored response, searched in every proxy-cache plugin's store",
    handler (req, ctx) {
      for (const row of ctx.configs()) {
        const found = fetch(ctx, row, req.params.cache_key as string)
        if (found !== undefined) return { body: found }
      }
      return NOT_FOUND
    },
  },
  {
    method: 'DELETE',
    path: '/proxy-cache/:cache_key',
    summary: "Purge a stored response from every proxy-cache plugin's store",
    handler (req, ctx) {
      for (const row of ctx.configs()) {
        const dict = dictOf(ctx, row)
        if (dict.get(req.params.cache_key as string) !== undefined) {
          dict.delete(req.params.cache_key as string)
          return NO_CONTENT
        }
      }
      return NOT_FOUND
    },
  },
  {
    method: 'GET',
    path: '/proxy-cache/:plugin_id/caches/:cache_key',
    summary: "A stored response in one proxy-cache plugin's store",
    handler (req, ctx) {
      const row = ctx.configs().find((r) => r.id === req.params.plugin_id)
      if (row === undefined) return NOT_FOUND
      const found = fetch(ctx, row, req.params.cache_key as string)
      return found === undefined ? NOT_FOUND : { body: found }
    },
  },
  {
    method: 'DELETE',
    path: '/proxy-cache/:plugin_id/caches/:cache_key',
    summary: "Purge a stored response from one proxy-cache plugin's store",
    handler (req, ctx) {
      const row = ctx.configs().find((r) => r.id === req.params.plugin_id)
      if (row === undefined) return NOT_FOUND
      const dict = dictOf(ctx, row)
      if (dict.get(req.params.cache_key as string) === undefined) return NOT_FOUND
      dict.delete(req.params.cache_key as string)
      return NO_CONTENT
    },
  },
]
