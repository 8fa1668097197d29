// The OpenAPI 3.1 document of the Admin API, built from the route table (so it lists
// exactly what is served) and the entity schemas (so it cannot drift from validation).

import { VERSION } from '../meta.js'
import type { PluginRegistry } from '../runtime/registry.js'
import type { EntityStore } from '../store/index.js'
import type { RouteTable } from './route-table.js'
import { jsonSchema } from './schemas.js'

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })

export function buildOpenApi (table: RouteTable, store: EntityStore, plugins: PluginRegistry): Record<string, unknown> {
  const schemas: Record<string, unknown> = {
    Error: {
      type: 'object',
      description: "Kong's error object; `fields` (or `options`) detail schema violations",
      properties: {
        code: { type: 'integer' },
        name: { type: 'string' },
        message: { type: 'string' },
        fields: { type: 'object' },
      },
      required: ['message'],
    },
  }
  for (const info of store.entities) {
    schemas[info.name] = jsonSchema(info.def.schema)
    schemas[`${info.name}_page`] = {
      type: 'object',
      properties: {
        data: { type: 'array', items: ref(info.name) },
        offset: { type: 'string', description: 'Pass as `offset` to get the next page; absent on the last page' },
        next: { type: ['string', 'null'], description: 'Path of the next page, or null' },
      },
      required: ['data', 'next'],
    }
  }
  for (const p of plugins.all()) schemas[`plugin_config_${p.name}`] = jsonSchema(p.schema)

  const errors = {
    400: { description: 'Invalid input', content: { 'application/json': { schema: ref('Error') } } },
    404: { description: 'Not found', content: { 'application/json': { schema: ref('Error') } } },
    409: { description: 'Unique constraint violation', content: { 'application/json': { schema: ref('Error') } } },
  }

  const paths: Record<string, Record<string, unknown>> = {}
  for (const [url, methods] of table.routes) {
    const path = url.replace(/:(\w+)/g, '{$1}')
    const params = [...url.matchAll(/:(\w+)/g)].map((m) => ({
      name: m[1], in: 'path', required: true, schema: { type: 'string' }, description: 'An id, or the endpoint key (name, username, ...)',
    }))
    const ops: Record<string, unknown> = {}
    for (const [method, doc] of methods) {
      const op: Record<string, unknown> = { summary: doc.summary, tags: doc.tags ?? [] }
      if (params.length > 0) op.parameters = params
      if (method === 'GET' && typeof doc.response === 'object' && doc.response.list === true) {
        op.parameters = [...params,
          { name: 'size', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
          { name: 'offset', in: 'query', schema: { type: 'string' } },
          { name: 'tags', in: 'query', schema: { type: 'string' }, description: '`a,b` for all of them, `a/b` for any' }]
      }
      if (doc.body !== undefined) {
        const schema = doc.body === 'object' ? { type: 'object' } : ref(doc.body)
        op.requestBody = {
          required: method !== 'PATCH',
          content: {
            'application/json': { schema },
            'application/x-www-form-urlencoded': { schema },
            'multipart/form-data': { schema },
          },
        }
      }
      const status = String(doc.status ?? 200)
      const r = doc.response
      op.responses = {
        [status]: r === 'empty' || r === undefined
          ? { description: 'Done' }
          : { description: 'OK', content: { 'application/json': { schema: r === 'object' ? { type: 'object' } : r.list === true ? ref(`${r.entity}_page`) : ref(r.entity) } } },
        ...errors,
      }
      ops[method.toLowerCase()] = op
    }
    paths[path] = ops
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Tollgate Admin API', version: VERSION, description: "Kong-compatible Admin API of Tollgate" },
    paths,
    components: { schemas },
  }
}
