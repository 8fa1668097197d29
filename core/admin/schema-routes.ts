// /schemas/...: entity and plugin schemas in Kong's format, and dry-run validation.

import type { TSchema } from 'typebox'
import type { PluginRegistry } from '../runtime/registry.js'
import type { EntityStore } from '../store/index.js'
import { readBody } from './entities.js'
import type { RouteTable } from './route-table.js'
import { kongField, kongFields } from './schemas.js'

const VALID = { message: 'schema validation successful' }

export function registerSchemaRoutes (table: RouteTable, store: EntityStore, plugins: PluginRegistry): void {
  const tags = ['schemas']
  const entityByName = (name: string) => store.entities.find((e) => e.name === name || e.def.adminName === name)

  table.add('GET', '/schemas/:name', { summary: 'An entity schema in Kong format', response: 'object', tags }, async (req, reply) => {
    const info = entityByName(req.params.name as string)
    if (info === undefined) return reply.code(404).send({ message: `No entity named '${req.params.name as string}'` })
    return { fields: kongFields(info.def.schema), entity_checks: info.def.entityChecks ?? [] }
  })

  table.add('POST', '/schemas/:name/validate', { summary: 'Validate an entity without storing it', body: 'object', response: 'object', tags }, async (req, reply) => {
    const info = entityByName(req.params.name as string)
    if (info === undefined) return reply.code(404).send({ message: `No entity named '${req.params.name as string}'` })
    store.validate(info.name, readBody(store, req, info).body)
    return VALID
  })

  table.add('GET', '/schemas/plugins/:name', { summary: 'A plugin schema in Kong format', response: 'object', tags }, async (req, reply) => {
    const plugin = plugins.get(req.params.name as string)
    if (plugin === undefined) return reply.code(404).send({ message: `No plugin named '${req.params.name as string}'` })
    const props = store.info('plugins').def.schema.properties as Record<string, TSchema>
    return {
      fields: [
        { consumer: kongField(props.consumer as TSchema) },
        { protocols: kongField(props.protocols as TSchema) },
        { config: { ...kongField(plugin.schema), required: true } },
      ],
      entity_checks: [],
    }
  })

  table.add('POST', '/schemas/plugins/validate', { summary: 'Validate a plugin entity without storing it', body: 'plugins', response: 'object', tags }, async (req) => {
    store.validate('plugins', readBody(store, req, store.info('plugins')).body)
    return VALID
  })
}
