// Stable ids for entities a declarative file gives without one, derived as Kong derives
// them (kong/db/declarative/import.lua generate_ids / get_key_for_uuid_gen): a name-based
// uuid (RFC 4122 v5, SHA-1) of a key made from the entity's cache key or endpoint key, in a
// namespace per entity. The same file gives the same ids on every load and on every node,
// so route and plugin ids (and what refers to them) survive reloads; they also match the
// ids Kong 3.4+ derives for the same file.

import { createHash } from 'node:crypto'

/** Kong's namespace for declarative ids (kong/db/declarative/import.lua). */
const DECLARATIVE_NAMESPACE = 'fd02801f-0957-4a15-a55a-c8d9606f30b5'

/** RFC 4122 version 5 uuid of `name` in `namespace`. */
export function uuidv5 (namespace: string, name: string): string {
  const hash = createHash('sha1').update(Buffer.from(namespace.replace(/-/g, ''), 'hex')).update(name, 'utf8').digest()
  hash[6] = (hash[6]! & 0x0f) | 0x50
  hash[8] = (hash[8]! & 0x3f) | 0x80
  const hex = hash.subarray(0, 16).toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

const namespaces = new Map<string, string>()

/** The stable id of a row of `entity` identified by `key`. */
export function stableId (entity: string, key: string): string {
  let ns = namespaces.get(entity)
  if (ns === undefined) {
    ns = uuidv5(DECLARATIVE_NAMESPACE, entity)
    namespaces.set(entity, ns)
  }
  return uuidv5(ns, key)
}
