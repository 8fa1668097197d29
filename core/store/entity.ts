import type { TObject, TSchema } from 'typebox'
import type { FieldErrors } from '../errors.js'
import { fieldsOf, unwrap } from './schema.js'

/** Where a plugin's config schema comes from; the plugin registry implements it. */
export interface PluginSchemas {
  /** The plugin's config schema, or undefined when the plugin is not enabled on this node. */
  configSchema(name: string): TSchema | undefined
  /** Whether the plugin refuses a consumer scope (Kong's `no_consumer`). */
  noConsumer?(name: string): boolean
  /** The plugin's own rules across its config fields (see PluginDescriptor.checkConfig). */
  configErrors?(name: string, config: Record<string, unknown>): FieldErrors | undefined
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
  /**
   * Field that can stand for the id under a parent only, where it is unique with the parent
   * (acls' `group`: `/consumers/{c}/acls/{group}`, Kong's acl api.lua). PUT by a new value
   * creates the row with that value.
   */
  nestedKey?: string
  /** Rows may carry a time to live. */
  ttl?: boolean
  /**
   * Kong's `cache_key`: the fields that identify a row besides its id (plugins: name and
   * scope; targets: upstream and target). Declarative configuration derives stable ids from
   * them (core/declarative/ids.ts); a generated field among them (key-auth's `key`) means
   * no stable id.
   */
  cacheKey?: string[]
  /** Groups of fields that are unique together (plugins: name + route + service + consumer). */
  uniqueTogether?: string[][]
  /** Rewrites input-only shorthands (service `url`) before validation. */
  expand?: (input: Record<string, unknown>) => Record<string, unknown>
  /**
   * Rewrites input as given, before defaults and checks: Kong's shorthand_fields (upstreams'
   * `hash_on` setting the algorithm) and DAO input overrides (targets' format_target). For
   * `update` it gets the patch alone, before the merge, as Kong's process_auto_fields does,
   * and the stored row as third argument: what Kong's transformations read before write
   * (basic-auth hashes a new password with the row's consumer id). May throw a DbError.
   */
  rewrite?: (input: Record<string, unknown>, op: 'insert' | 'upsert' | 'update' | 'validate', existing?: Record<string, unknown>) => Record<string, unknown>
  /**
   * Kong's entity transformations (a schema's `transformations`, on_write) for declarative
   * configurations: run on each validated row of a file whose `_transform` is true (Kong's
   * default), so a file with cleartext values stores what the Admin API would (basic-auth:
   * the hashed password), and never on `_transform: false`, the flag exports carry, so a
   * re-imported export is not transformed twice. An entity that has one gets no `rewrite`
   * on declarative writes (db_import, sync): the file's rows are then final.
   */
  transform?: (value: Record<string, unknown>) => Record<string, unknown>
  /**
   * Replaces secrets in a valid value with their stored form, in place (key-auth's keys
   * with keyauth_hash_keys = on), and returns the fields as they were given, or undefined
   * when nothing was replaced. The answer to the write shows the given fields, that once;
   * every read after it shows what is stored. Runs on every stored write, declarative ones
   * included, so it must leave a value already in stored form alone.
   */
  seal?: (value: Record<string, unknown>) => Record<string, unknown> | undefined
  /** Adjusts a valid value before it is stored (targets: `host:port` as Kong formats it). */
  normalize?: (value: Record<string, unknown>) => void
  /** Unique fields a list can be filtered on exactly (`/consumers?custom_id=x`). */
  listFilters?: string[]
  /** The entity checks as `/schemas/{entity}` describes them, e.g. `[{ at_least_one_of: [...] }]`. */
  entityChecks?: Record<string, unknown>[]
  /** Entity-level checks on a value whose fields are valid. */
  checks?: (entity: Record<string, unknown>, ctx: CheckContext) => FieldErrors | undefined
  /**
   * `checks` run on invalid values too, as Kong's conditional and distinct checks do
   * (run_with_invalid_fields): they see the defaults filled in and invalid fields as given,
   * without references resolved, and their errors are laid over the fields' own.
   */
  checksOnInvalid?: boolean
  /**
   * The Admin API generates no endpoints for it: they are written by hand, as Kong's are
   * for targets (core/admin/upstreams.ts).
   */
  customAdmin?: boolean
  /** Foreign fields whose `/S/{s}/f` endpoint Kong disables (snis' `certificate`): a 404. */
  noForeignEndpoint?: string[]
  /**
   * How a URL segment that is not a UUID names a row of an entity without an endpoint key
   * of its own, in the Admin API's generated endpoints (certificates: by one of their SNI
   * names, kong/api/routes/certificates.lua).
   */
  adminLookup?: (reader: { find(entity: string, pk: Record<string, string>): Record<string, unknown> | undefined }, segment: string) => string | undefined
  /** Fields whose schema depends on another field (plugins: `config` on `name`). */
  subschema?: (entity: Record<string, unknown>, ctx: CheckContext) => { field: string, schema: TSchema } | { errors: FieldErrors }
}

export interface ForeignField {
  field: string
  reference: string
  onDelete: 'cascade' | 'restrict'
  required: boolean
}

/**
 * A list of ids naming rows of another entity, declared as `Type.Array(uuid({ reference }))`
 * (services' `ca_certificates`). Kong stores these unchecked and fails when it uses them;
 * Tollgate refuses an id that names no row when it is written.
 */
export interface IdListField {
  field: string
  reference: string
}

/** Facts derived once from a definition, so the store never re-walks schemas per write. */
export interface EntityInfo {
  def: EntityDef
  name: string
  foreign: ForeignField[]
  idLists: IdListField[]
  unique: string[]
  hasUpdatedAt: boolean
  hasTags: boolean
  /** `created_at` is a number of seconds with milliseconds (Kong's auto_timestamp_ms), not whole seconds. */
  createdAtMs: boolean
}

export function describe (def: EntityDef): EntityInfo {
  const foreign: ForeignField[] = []
  const idLists: IdListField[] = []
  const unique: string[] = []
  for (const [field, schema] of fieldsOf(def.schema)) {
    const { inner, nullable } = unwrap(schema)
    const items = inner.type === 'array' ? inner.items as Record<string, unknown> | undefined : undefined
    if (typeof items?.reference === 'string') idLists.push({ field, reference: items.reference })
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
    idLists,
    unique,
    hasUpdatedAt: 'updated_at' in props,
    hasTags: 'tags' in props,
    createdAtMs: (props.created_at as { type?: unknown } | undefined)?.type === 'number',
  }
}
