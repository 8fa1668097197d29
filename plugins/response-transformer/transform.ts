// Kong's header_transformer.lua and body_transformer.lua: remove, rename (headers only),
// replace, add, append, in that order.
import type { PdkHeaders } from '@tollgate/sdk'
import { split, type ResponseTransformerConfig } from './schema.js'

/** Name and value of each entry; an empty value is none, as Kong's iter gives nil. */
function * entries (list: string[]): Generator<[number, string, string | undefined]> {
  let i = 0
  for (const entry of list) {
    const [name, value] = split(entry)
    yield [i++, name, value === '' ? undefined : value]
  }
}

export function isJsonBody (contentType: string | undefined): boolean {
  return contentType !== undefined && contentType.toLowerCase().includes('application/json')
}

export function isBodyTransformSet (conf: ResponseTransformerConfig): boolean {
  return conf.add.json.length > 0 || conf.remove.json.length > 0 || conf.replace.json.length > 0 || conf.append.json.length > 0
}

/** What transformHeaders does to the response: kong.response's methods. */
export interface HeaderOps {
  clear (name: string): void
  set (name: string, value: string | string[]): void
  add (name: string, value: string): void
}

/**
 * Kong's transform_headers. Whether a header exists is asked of `headers`, the response's
 * headers before any change (lower-case names), as Kong does: a removed header still
 * counts as present for replace and add.
 */
export function transformHeaders (conf: ResponseTransformerConfig, headers: PdkHeaders, ops: HeaderOps): void {
  const has = (name: string): boolean => headers[name.toLowerCase()] !== undefined
  for (const [, name] of entries(conf.remove.headers)) ops.clear(name)
  for (const [, oldName, newName] of entries(conf.rename.headers)) {
    if (has(oldName) && newName !== undefined) {
      ops.set(newName, headers[oldName.toLowerCase()] as string | string[])
      ops.clear(oldName)
    }
  }
  for (const [, name, value] of entries(conf.replace.headers)) if (has(name) && value !== undefined) ops.set(name, value)
  for (const [, name, value] of entries(conf.add.headers)) if (!has(name) && value !== undefined) ops.set(name, value)
  for (const [, name, value] of entries(conf.append.headers)) if (value !== undefined) ops.add(name, value)
  // The body is going to change: its length is the new one's (set when it is sent).
  const ct = headers['content-type']
  if (isBodyTransformSet(conf) && isJsonBody(Array.isArray(ct) ? ct.join(', ') : ct)) ops.clear('content-length')
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json }

/**
 * Kong's json_value: the value as cjson would write it inside a string, without the quotes
 * (escaped quotes and slashes undone), then cast by its json_types entry.
 */
function jsonValue (value: string, type: string | undefined): Json | undefined {
  const v = JSON.stringify(value).slice(1, -1).replaceAll('\\"', '"')
  if (type === 'number') {
    const n = v.trim() === '' ? NaN : Number(v)
    return Number.isNaN(n) ? undefined : n
  }
  if (type === 'boolean') return v === 'true'
  return v
}

const truthy = (v: Json | undefined): boolean => v !== undefined && v !== false

function appendValue (current: Json | undefined, value: Json): Json {
  if (typeof current === 'string') return [current, value]
  if (Array.isArray(current)) return [...current, value]
  return [value]
}

/** Kong's transform_json_body: the new body, or an error when the body is not a JSON object. */
export function transformJsonBody (conf: ResponseTransformerConfig, body: string): { body?: string, error?: string } {
  let json: unknown
  try { json = JSON.parse(body) } catch { return { error: 'failed parsing json body' } }
  // Kong indexes whatever was decoded; only an object can be changed by name.
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { error: 'failed parsing json body' }
  const obj = json as Record<string, Json>
  for (const [, name] of entries(conf.remove.json)) delete obj[name]
  for (const [i, name, value] of entries(conf.replace.json)) {
    const v = value === undefined ? undefined : jsonValue(value, conf.replace.json_types[i])
    if (truthy(obj[name]) && v !== undefined) obj[name] = v
  }
  for (const [i, name, value] of entries(conf.add.json)) {
    const v = value === undefined ? undefined : jsonValue(value, conf.add.json_types[i])
    if (!truthy(obj[name]) && v !== undefined) obj[name] = v
  }
  for (const [i, name, value] of entries(conf.append.json)) {
    const v = value === undefined ? undefined : jsonValue(value, conf.append.json_types[i])
    if (v !== undefined) obj[name] = appendValue(obj[name], v)
  }
  return { body: JSON.stringify(obj) }
}
