// Renders typebox entity schemas in two vocabularies: Kong's schema format for
// `/schemas/...` (what Kong Manager and decK read) and plain JSON Schema for the OpenAPI
// document. Both come from the same definitions the store validates with.

import type { TSchema } from 'typebox'
import { enumValues, fieldsOf, unwrap } from '../store/schema.js'

type KongField = Record<string, unknown>

/** One field in Kong's format: `{ type, required, default, one_of, between, ... }`. */
export function kongField (schema: TSchema): KongField {
  const { nullable, inner } = unwrap(schema)
  const s = schema as Record<string, unknown>
  const out: KongField = {}
  const values = enumValues(inner)
  if (values !== undefined) {
    const consts = ((inner.anyOf ?? []) as { const: unknown }[]).map((x) => x.const)
    out.type = typeof consts[0] === 'number' ? 'integer' : 'string'
    out.one_of = consts
  } else if (inner.kind === 'foreign') {
    out.type = 'foreign'
    out.reference = inner.reference
    if (s.onDelete === 'cascade' || inner.onDelete === 'cascade') out.on_delete = 'cascade'
  } else if (inner.type === 'array') {
    out.type = inner.kind === 'set' ? 'set' : 'array'
    out.elements = kongField(inner.items as TSchema)
  } else if (inner.type === 'object' && inner.patternProperties !== undefined) {
    out.type = 'map'
    out.keys = { type: 'string' }
    out.values = kongField(Object.values(inner.patternProperties as Record<string, TSchema>)[0] as TSchema)
  } else if (inner.type === 'object') {
    out.type = 'record'
    out.fields = kongFields(inner)
  } else {
    out.type = inner.type
  }
  if (inner.format === 'uuid') out.uuid = true
  const auto = s.auto === true || inner.auto === true || typeof inner.generate === 'function'
  if (auto) out.auto = true
  if (!nullable && !auto) out.required = true
  if (s.unique === true || inner.unique === true) out.unique = true
  if (inner.minimum !== undefined && inner.maximum !== undefined) out.between = [inner.minimum, inner.maximum]
  if (inner.minLength !== undefined) out.len_min = inner.minLength
  if (inner.maxLength !== undefined) out.len_max = inner.maxLength
  if (inner.minItems !== undefined) out.len_min = inner.minItems
  if (inner.pattern !== undefined) out.match = inner.pattern
  if (s.default !== undefined && !(nullable && s.default === null)) out.default = s.default
  else if (inner.default !== undefined) out.default = inner.default
  const description = (s.description ?? inner.description) as string | undefined
  if (description !== undefined) out.description = description
  return out
}

/** An object schema's fields as Kong lists them: `[{ name: field }, ...]` in order. */
export function kongFields (schema: TSchema): KongField[] {
  return fieldsOf(schema).map(([name, s]) => ({ [name]: kongField(s) }))
}

const META_KEYS = new Set(['kind', 'reference', 'onDelete', 'unique', 'auto', 'check', 'secret', 'generate'])

/**
 * Plain JSON Schema for OpenAPI 3.1: our own keywords become `x-` extensions and
 * functions (custom checks) are dropped.
 */
export function jsonSchema (schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(jsonSchema)
  if (typeof schema !== 'object' || schema === null) return schema
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(schema)) {
    if (typeof v === 'function') continue
    if (META_KEYS.has(k)) out[`x-${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`] = v
    else out[k] = jsonSchema(v)
  }
  return out
}
