// Configs for the export, diff and CLI tests, built the way the parser builds them (every
// default filled in) without the parser; stores from helpers/declarative.ts.

import type { Test } from 'tap'
import type { DeclarativeConfig } from '../../core/declarative/types.js'
import type { Entity } from '../../core/store/index.js'
import { declarativeStore } from '../helpers/declarative.js'

export { bundled, declarativeStore as bundledStore } from '../helpers/declarative.js'

/**
 * Entities with their defaults filled in, as the parser gives them: written to a scratch
 * store and read back, timestamps dropped (a file without timestamps) and `ttl` turned
 * into Kong's absolute expiry.
 */
export async function filled (t: Test, entities: Array<[string, Record<string, unknown>]>): Promise<Map<string, Entity[]>> {
  const scratch = declarativeStore(t)
  const out = new Map<string, Entity[]>()
  const order = ['services', 'routes', 'consumers', 'plugins', 'upstreams', 'targets', 'keyauth_credentials']
  for (const name of order) {
    for (const [entity, input] of entities) {
      if (entity !== name) continue
      const { ttl, ...rest } = input
      const row = await scratch.insert(entity, rest, typeof ttl === 'number' ? { ttl } : {})
      const { created_at: _c, updated_at: _u, ttl: left, ...fields } = row
      const e: Entity = { ...fields }
      if (typeof left === 'number') e.ttl = Math.floor(Date.now() / 1000) + left
      const list = out.get(entity) ?? []
      list.push(e)
      out.set(entity, list)
    }
  }
  return out
}

export function config (entities: Map<string, Entity[]>): DeclarativeConfig {
  return { hash: '0'.repeat(32), transform: false, entities }
}

/** A small kong.yml the CLI tests import, export, diff and sync: a service with a route and key-auth, a consumer with a key. */
export const KONG_YML = `_format_version: "3.0"
services:
- name: billing
  url: http://billing.test:8080
  routes:
  - name: billing-route
    paths: [/billing]
  plugins:
  - name: key-auth
consumers:
- username: alice
  keyauth_credentials:
  - id: 3f9066ef-b91b-4d1d-a05a-28619401c1ad
    key: alice-secret-key
`
