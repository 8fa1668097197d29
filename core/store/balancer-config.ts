// Upstreams and targets as the balancer reads them: synchronous reads of the local copy
// (ConfigReader), like the router's services and routes, so a balancer can be built for
// each config version (rebuild when `version()` moves or `onChange` fires).

import type { Target } from './entities/targets.js'
import type { Upstream } from './entities/upstreams.js'
import type { ConfigReader } from './store.js'

/** Rows per store page while a whole list is read. */
const PAGE = 1000

export interface UpstreamConfig {
  upstream: Upstream
  /** Every target of the upstream, weight 0 included, oldest first. */
  targets: Target[]
}

/** Kong's order of an upstream's targets: by created_at, then id (kong/db/dao/targets.lua select_by_upstream_raw). */
export function byCreation (a: Target, b: Target): number {
  return a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

/** The targets of one upstream, weight 0 included, oldest first. */
export function targetsOf (reader: ConfigReader, upstreamId: string): Target[] {
  const rows: Target[] = []
  let offset: string | undefined
  do {
    const page = reader.listFor('targets', 'upstream', upstreamId, { size: PAGE, offset })
    rows.push(...page.data as unknown as Target[])
    offset = page.offset
  } while (offset !== undefined)
  return rows.sort(byCreation)
}

/**
 * Every upstream with its targets, by upstream name (the host a service names to be
 * balanced), read in one pass over each entity.
 */
export function readUpstreams (reader: ConfigReader): Map<string, UpstreamConfig> {
  const byId = new Map<string, Target[]>()
  for (const t of reader.each('targets') as Iterable<unknown> as Iterable<Target>) {
    let list = byId.get(t.upstream.id)
    if (list === undefined) byId.set(t.upstream.id, list = [])
    list.push(t)
  }
  const out = new Map<string, UpstreamConfig>()
  for (const u of reader.each('upstreams') as Iterable<unknown> as Iterable<Upstream>) {
    out.set(u.name, { upstream: u, targets: (byId.get(u.id) ?? []).sort(byCreation) })
  }
  return out
}
