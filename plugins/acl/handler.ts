// acl's access phase, after Kong 3.2's kong/plugins/acl/handler.lua and groups.lua.

import type { Entity, Kong } from '@tollgate/sdk'
import type { AclConfig } from './schema.js'

const ERR_FORBIDDEN = 'You cannot consume this service'

/** A list of group names, with a set to look them up. */
interface Groups { names: readonly string[], set: ReadonlySet<string> }

/** The plugin config made ready once: deny or allow, and its groups. */
interface Prepared { deny: boolean, groups: readonly string[], results: WeakMap<Groups, string | true> }

const prepared = new WeakMap<AclConfig, Prepared>()

function prepare (conf: AclConfig): Prepared {
  let p = prepared.get(conf)
  if (p === undefined) {
    const deny = (conf.deny?.length ?? 0) > 0
    p = { deny, groups: (deny ? conf.deny : conf.allow) ?? [], results: new WeakMap() }
    prepared.set(conf, p)
  }
  return p
}

// A consumer's groups, per list of its acl rows. kong.db.listFor answers the same list until
// the next write to the store, which empties its cache: a change to a consumer's acls is a
// new list, so these are never stale (Kong's cache invalidation on acls' CRUD events).
const consumerGroups = new WeakMap<readonly Entity[], Groups>()

function groupsOf (kong: Kong, consumerId: string): Groups | undefined {
  const rows = kong.db.listFor('acls', 'consumer', consumerId)
  if (rows.length === 0) return undefined
  let g = consumerGroups.get(rows)
  if (g === undefined) {
    const names = rows.map((r) => r.group as string)
    consumerGroups.set(rows, g = { names, set: new Set(names) })
  }
  return g
}

/** Groups another plugin authenticated (kong.ctx.shared.authenticated_groups), if any. */
function authenticatedGroups (kong: Kong): Groups | undefined {
  const raw = kong.ctx.shared.authenticated_groups
  if (raw === undefined || raw === null) return undefined
  if (!Array.isArray(raw)) {
    kong.log.warn('invalid authenticated_groups, a table was expected')
    return undefined
  }
  const names = raw.filter((x): x is string => typeof x === 'string')
  return { names, set: new Set(names) }
}

/** true: refuse; else the groups header's value ('' when the header is hidden). */
function decide (conf: AclConfig, p: Prepared, groups: Groups): string | true {
  const inGroup = p.groups.some((g) => groups.set.has(g))
  if (p.deny ? inGroup : !inGroup) return true
  return conf.hide_groups_header ? '' : groups.names.join(', ')
}

export function access (kong: Kong, conf: AclConfig): void {
  const p = prepare(conf)
  const consumer = kong.client.getConsumer()
  const credential = kong.client.getCredential()
  const consumerId = consumer?.id ?? (credential?.consumer as { id?: string } | null | undefined)?.id
  let result: string | true
  let header = 'X-Consumer-Groups'

  // Groups authenticated by another plugin count for a request without a credential (an
  // anonymous consumer or none).
  const authenticated = consumerId === undefined || credential === undefined ? authenticatedGroups(kong) : undefined
  if (authenticated !== undefined) {
    result = decide(conf, p, authenticated)
    header = 'X-Authenticated-Groups'
  } else if (consumerId === undefined) {
    if (credential !== undefined) kong.response.error(403, ERR_FORBIDDEN)
    else kong.response.error(401)
    return
  } else {
    let groups = groupsOf(kong, consumerId)
    if (groups === undefined) {
      if (!p.deny) {
        if (credential !== undefined) kong.response.error(403, ERR_FORBIDDEN)
        else kong.response.error(401)
        return
      }
      groups = NO_GROUPS
    }
    let cached = p.results.get(groups)
    if (cached === undefined) p.results.set(groups, cached = decide(conf, p, groups))
    result = cached
  }

  if (result === true) {
    kong.response.error(403, ERR_FORBIDDEN)
    return
  }
  if (!conf.hide_groups_header) kong.service.request.setHeader(header, result)
}

const NO_GROUPS: Groups = { names: [], set: new Set() }
