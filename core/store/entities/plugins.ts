import type { Static } from 'typebox'
import type { FieldErrors } from '../../errors.js'
import type { EntityDef } from '../entity.js'
import {
  Type, autoId, checkUtf8Name, foreign, nullable, oneOf, set, tags, timestamp, type FieldCheck,
} from '../schema.js'
import { PROTOCOLS } from './services.js'

// Kong: kong/db/schema/entities/plugins.lua. `config` is checked against the schema of
// the named plugin (see `subschema`), so here it is any record.
export const PluginSchema = Type.Object({
  id: autoId(),
  created_at: timestamp('Unix epoch when the plugin was created'),
  updated_at: timestamp('Unix epoch when the plugin was last updated'),
  name: Type.String({ description: 'Name of the plugin to run' }),
  instance_name: nullable(Type.String({ check: checkUtf8Name as FieldCheck }), { unique: true, description: 'Unique name of this instance' }),
  route: foreign('routes', { onDelete: 'cascade', description: 'Only run on this route' }),
  service: foreign('services', { onDelete: 'cascade', description: 'Only run on this service' }),
  consumer: foreign('consumers', { onDelete: 'cascade', description: 'Only run for this consumer' }),
  config: Type.Record(Type.String(), Type.Unknown(), { kind: 'record', default: {}, description: 'Plugin configuration' }),
  protocols: set(oneOf(PROTOCOLS), {
    minItems: 1, default: ['grpc', 'grpcs', 'http', 'https'], description: 'Protocols this plugin runs on',
  }),
  enabled: Type.Boolean({ default: true, description: 'Whether the plugin runs' }),
  tags: tags(),
}, { additionalProperties: false })

export type Plugin = Static<typeof PluginSchema>

export const plugins: EntityDef = {
  name: 'plugins',
  schema: PluginSchema,
  endpointKey: 'instance_name',
  cacheKey: ['name', 'route', 'service', 'consumer'],
  uniqueTogether: [['name', 'route', 'service', 'consumer']],
  checks: (p, ctx): FieldErrors | undefined => {
    if (p.consumer != null && ctx.plugins.noConsumer?.(String(p.name)) === true) return { consumer: 'value must be null' }
    const configErrors = ctx.plugins.configErrors?.(String(p.name), p.config as Record<string, unknown>)
    if (configErrors !== undefined) return configErrors
    // Kong: a plugin's protocols must overlap those of its route, or of at least one route
    // of its service (when the service has routes).
    const protocols = p.protocols as string[]
    const overlaps = (r: Record<string, unknown> | undefined): boolean => (r?.protocols as string[] | undefined)?.some((x) => protocols.includes(x)) ?? true
    const route = p.route as { id: string } | null
    if (route !== null && ctx.get !== undefined) {
      if (!overlaps(ctx.get('routes', route.id))) return { protocols: "must match the associated route's protocols" }
    } else {
      const service = p.service as { id: string } | null
      if (service !== null && ctx.children !== undefined) {
        const routes = ctx.children('routes', 'service', service.id)
        if (routes.length > 0 && !routes.some(overlaps)) return { protocols: "must match the protocols of at least one route pointing to this Plugin's service" }
      }
    }
    return undefined
  },
  subschema: (p, ctx) => {
    const name = String(p.name)
    const schema = ctx.plugins.configSchema(name)
    if (schema === undefined) {
      return { errors: { name: `plugin '${name}' not enabled; add it to the 'plugins' configuration property` } }
    }
    return { field: 'config', schema }
  },
}
