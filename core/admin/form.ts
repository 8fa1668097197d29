// Kong's form decoding (kong/api/arguments.lua): dotted keys build records
// (`config.key_names=apikey`), `[]` / `[n]` / repeated keys build arrays, and values are
// then typed against the entity schema, since a form carries only strings.

import type { TSchema } from 'typebox'
import { enumValues, setOwn, unwrap } from '../store/schema.js'

/** Splits `a.b[c][]` into ['a', 'b', 'c', '']. */
function segments (key: string): string[] {
  const out: string[] = []
  for (const m of key.matchAll(/([^.[\]]+)|\[([^\]]*)\]/g)) out.push(m[1] ?? m[2] ?? '')
  return out
}

/**
 * A node's own member, never an inherited one: a form key such as `__proto__[x]` or
 * `constructor[prototype][x]` is a field name like any other (Kong's Lua tables have no
 * prototypes), which the schema then refuses as unknown. Reading through the prototype
 * would let the form write into Object.prototype for the whole process.
 */
function own (node: Record<string, unknown> | unknown[], key: string | number): unknown {
  return Object.hasOwn(node, key) ? (node as Record<string | number, unknown>)[key] : undefined
}

/** Builds a nested structure from form entries, before any typing. */
export function decodeForm (entries: Iterable<[string, string]>): Record<string, unknown> {
  const root: Record<string, unknown> = {}
  for (const [key, value] of entries) {
    // A multipart part may have no name at all: it names no field.
    if (typeof key !== 'string') continue
    const path = segments(key)
    if (path.length === 0) continue
    let node: Record<string, unknown> | unknown[] = root
    for (let i = 0; i < path.length; i++) {
      const seg = path[i] as string
      const last = i === path.length - 1
      const next = path[i + 1]
      const wantsArray = next === '' || (next !== undefined && /^\d+$/.test(next))
      if (Array.isArray(node)) {
        const idx = seg === '' ? node.length : Math.max(0, Number(seg) - 1) // Kong indexes from 1
        // Not an index (`a[]x`, `a[1].b[c]`...): a named member of the list, as for a record.
        const at: string | number = Number.isNaN(idx) ? seg : idx
        if (last) { setOwn(node, at, value); break }
        const cur = own(node, at)
        if (cur === undefined || cur === null || typeof cur !== 'object') setOwn(node, at, wantsArray ? [] : {})
        node = own(node, at) as Record<string, unknown> | unknown[]
        continue
      }
      if (last) {
        const prev = own(node, seg)
        // A repeated key becomes an array: hosts=a&hosts=b
        setOwn(node, seg, prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value])
        break
      }
      const cur = own(node, seg)
      if (cur === undefined || cur === null || typeof cur !== 'object') setOwn(node, seg, wantsArray ? [] : {})
      node = own(node, seg) as Record<string, unknown> | unknown[]
    }
  }
  return root
}

/** Types form strings by the schema: numbers, booleans, one-element arrays, '' as null. */
export function inferTypes (schema: TSchema, value: unknown): unknown {
  if (value === '') return null
  const { inner } = unwrap(schema)
  if (enumValues(inner) !== undefined) {
    const consts = ((inner.anyOf ?? []) as { const: unknown }[]).map((x) => x.const)
    if (typeof value === 'string' && consts.every((c) => typeof c === 'number')) {
      const n = Number(value)
      return Number.isNaN(n) ? value : n
    }
    return value
  }
  switch (inner.type) {
    case 'integer':
    case 'number': {
      if (typeof value !== 'string' || value.trim() === '') return value
      const n = Number(value)
      return Number.isNaN(n) ? value : n
    }
    case 'boolean':
      return value === 'true' ? true : value === 'false' ? false : value
    case 'array': {
      const list = Array.isArray(value) ? value.filter((v) => v !== undefined) : [value]
      return list.map((v) => inferTypes(inner.items as TSchema, v))
    }
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return value
      const obj = value as Record<string, unknown>
      const props = inner.properties as Record<string, TSchema> | undefined
      const pattern = inner.patternProperties as Record<string, TSchema> | undefined
      const out: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(obj)) {
        const s = (props !== undefined && Object.hasOwn(props, k) ? props[k] : undefined) ?? (pattern === undefined ? undefined : Object.values(pattern)[0])
        setOwn(out, k, s === undefined ? v : inferTypes(s, v))
      }
      return out
    }
    default:
      return value
  }
}

