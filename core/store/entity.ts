import type { TObject, TSchema } from 'typebox'
import type { FieldErrors } from '../errors.js'
import { fieldsOf, unwrap } from './schema.js'

/** Where a plugin's config schema comes from; the plugin registry implements it. */
export interface PluginSchemas {
  /** The plugin's config schema, or undefined when the plugin is not enabled on this node. */
  configSchema(name: string): TSchema | undefined
  /** Whether the plugin refuses a consumer scope (Kong's `no_consumer`). */
  noConsumer?(name: string): boolean
}

export interface CheckContext {
  plugins: PluginSchemas
  /** Reads another row (undefined in dry-run validation, which touches no data). */
  get?: (entity: string, id: string) => Record<string, unknown> | undefined
  /** Rows of `entity` whose foreign `field` points at `parentId` (the first 1,000). */
  children?: (entity: string, field: string, parentId: string) => Record<string, unknown>[]
}

/**
 * Describes one entity kind. Core entities and plugin-owned ones (key-auth's credentials)
 * use the same shape, so the store, the Admin API and the OpenAPI document are all
 * generated from it.
 */
export interface EntityDef {
  /** Storage and schema name, e.g. `keyauth_credentials`. */
  name: string
  /** Admin API collection name when it differs from `name`, e.g. `key-auths`. */
  adminName?: string
  /** Collection name under a parent, e.g. `/consumers/{c}/key-auth`. */
  adminNestedName?: string
  schema: TObject
  /** Field that can stand for the id in a URL (`/services/{name}`). */
  endpointKey?: string
  /** Rows may carry a time to live. */
  ttl?: boolean
  /** Groups of fields that are unique together (plugins: name + route + service + consumer). */
  uniqueTogether?: string[][]
  /** Rewrites input-only shorthands (service `url`) before validation. */
  expand?: (input: Record<string, unknown>) => Record<string, unknown>
  /** Unique fields a list can be filtered on exactly (`/consumers?custom_id=x`). */
  listFilters?: string[]
  /** The entity checks as `/schemas/{entity}` describes them, e.g. `[{ at_least_one_of: [...] }]`. */
  entityChecks?: Record<string, unknown>[]
  /** Entity-level checks on a value whose fields are valid. */
  checks?: (entity: Record<string, unknown>, ctx: CheckContext) => FieldErrors | undefined
  /** Fields whose schema depends on another field (plugins: `config` on `name`). */
  subschema?: (entity: Record<string, unknown>, ctx: CheckContext) => { field: string, schema: TSchema } | { errors: FieldErrors }
}

export interface ForeignField {
  field: string
  reference: string
  onDelete: 'cascade' | 'restrict'
  required: boolean
}

/** Facts derived once from a definition, so the store never re-walks schemas per write. */
export interface EntityInfo {
  def: EntityDef
  name: string
  foreign: ForeignField[]
  unique: string[]
  hasUpdatedAt: boolean
  hasTags: boolean
}

export function describe (def: EntityDef): EntityInfo {
  const foreign: ForeignField[] = []
  const unique: string[] = []
  for (const [field, schema] of fieldsOf(def.schema)) {
    const { inner, nullable } = unwrap(schema)
    if (inner.kind === 'foreign') {
      foreign.push({
        field,
        reference: String(inner.reference),
        onDelete: (schema.onDelete ?? inner.onDelete ?? 'restrict') as 'cascade' | 'restrict',
        required: !nullable,
      })
    }
    if (schema.unique === true || inner.unique === true) unique.push(field)
  }
  const props = def.schema.properties as Record<string, unknown>
  return {
    def,
    name: def.name,
    foreign,
    unique,
    hasUpdatedAt: 'updated_at' in props,
    hasTags: 'tags' in props,
  }
}
