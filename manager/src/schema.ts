// Kong's schema format (GET /schemas/{entity}, /schemas/plugins/{name}) and the conversions
// between an entity, the form's flat values (keyed by dotted path: config.minute) and the
// JSON body a create or update sends.
import { ApiError, type KongError } from './api.js'

export interface FieldSchema {
  type: 'string' | 'integer' | 'number' | 'boolean' | 'array' | 'set' | 'map' | 'record' | 'foreign' | 'json' | string
  required?: boolean
  default?: unknown
  one_of?: unknown[]
  elements?: FieldSchema
  keys?: FieldSchema
  values?: FieldSchema
  fields?: Array<Record<string, FieldSchema>>
  reference?: string
  description?: string
  auto?: boolean
  /** Shown as a multi-line text area (PEM certificates and keys). */
  multiline?: boolean
}

export interface EntitySchema { fields: Array<Record<string, FieldSchema>>, entity_checks?: unknown[] }

export type Field = [string, FieldSchema]
export type Values = Record<string, string | boolean>

export const AUTO_FIELDS = new Set(['id', 'created_at', 'updated_at'])

export function fieldList (fields: Array<Record<string, FieldSchema>> | undefined): Field[] {
  const out: Field[] = []
  for (const f of fields ?? []) {
    const [name, schema] = Object.entries(f)[0] ?? []
    if (name !== undefined && schema !== undefined) out.push([name, schema])
  }
  return out
}

const isScalar = (s: FieldSchema | undefined): boolean => s !== undefined && ['string', 'integer', 'number', 'boolean'].includes(s.type)

/** How a field is edited: a text input, a number, a checkbox, a select, a comma list, a fieldset or JSON. */
export function widget (s: FieldSchema): 'text' | 'number' | 'checkbox' | 'select' | 'list' | 'checks' | 'record' | 'json' | 'foreign' | 'textarea' {
  switch (s.type) {
    // A boolean that may be null (no default): unset, true or false.
    case 'boolean': return s.default === undefined && s.required !== true ? 'select' : 'checkbox'
    case 'integer': case 'number': return s.one_of !== undefined ? 'select' : 'number'
    case 'string': return s.one_of !== undefined ? 'select' : s.multiline === true ? 'textarea' : 'text'
    // A set of known values (protocols): one checkbox each; other arrays of scalars: a comma list.
    case 'array': case 'set': return !isScalar(s.elements) ? 'json' : s.type === 'set' && s.elements?.one_of !== undefined ? 'checks' : 'list'
    case 'record': return 'record'
    case 'foreign': return 'foreign'
    default: return 'json'
  }
}

/** The form's starting values: the entity's (edit) or the schema's defaults (create). */
export function initialValues (fields: Field[], entity: Record<string, any> | undefined, prefix = '', out: Values = {}): Values {
  for (const [name, s] of fields) {
    const path = prefix + name
    const has = entity !== undefined && entity !== null && name in entity
    const v = has ? entity[name] : s.default
    switch (widget(s)) {
      case 'record':
        initialValues(fieldList(s.fields), (v ?? undefined) as Record<string, any> | undefined ?? {}, `${path}.`, out)
        break
      case 'checkbox': out[path] = v === true; break
      case 'list': case 'checks': out[path] = Array.isArray(v) ? v.join(', ') : ''; break
      case 'foreign': out[path] = v !== null && typeof v === 'object' ? String(v.id ?? v.name ?? '') : ''; break
      case 'json': out[path] = v === undefined || v === null ? '' : JSON.stringify(v, null, 2); break
      default: out[path] = v === undefined || v === null ? '' : String(v)
    }
  }
  return out
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

function scalar (s: FieldSchema | undefined, raw: string): unknown {
  if (s !== undefined && (s.type === 'integer' || s.type === 'number') && raw.trim() !== '' && !Number.isNaN(Number(raw))) return Number(raw)
  if (s?.type === 'boolean') return raw === 'true'
  return raw
}

/**
 * The body to send. On create, empty inputs are left out (the server's defaults apply); on
 * edit, only what changed from `initial` is sent, a cleared input as null.
 * Throws an ApiError-shaped error for JSON inputs that do not parse.
 */
export function toPayload (fields: Field[], values: Values, initial: Values | undefined, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const bad: Record<string, string> = {}
  for (const [name, s] of fields) {
    const path = prefix + name
    const w = widget(s)
    if (w === 'record') {
      try {
        const sub = toPayload(fieldList(s.fields), values, initial, `${path}.`)
        if (Object.keys(sub).length > 0 || initial === undefined) out[name] = sub
      } catch (err) {
        if (err instanceof ApiError) Object.assign(bad, flatErrors(err.body.fields ?? {}).fields)
        else throw err
      }
      continue
    }
    const v = values[path]
    if (initial !== undefined && v === initial[path]) continue
    if (w === 'checkbox') { out[name] = v === true; continue }
    const raw = typeof v === 'string' ? v : ''
    if (raw.trim() === '') {
      if (initial !== undefined) out[name] = null
      continue
    }
    switch (w) {
      case 'list': case 'checks':
        out[name] = raw.split(/[,\n]/).map((x) => x.trim()).filter((x) => x !== '').map((x) => scalar(s.elements, x))
        break
      case 'foreign':
        out[name] = UUID.test(raw.trim()) ? { id: raw.trim() } : { name: raw.trim() }
        break
      case 'json':
        try { out[name] = JSON.parse(raw) } catch { bad[path] = 'invalid JSON' }
        break
      default:
        out[name] = scalar(s, raw)
    }
  }
  if (Object.keys(bad).length > 0) throw new ApiError(400, { message: 'Some fields are not valid', fields: nest(bad, prefix) })
  return out
}

function nest (flat: Record<string, string>, prefix: string): Record<string, unknown> {
  const out: Record<string, any> = {}
  for (const [path, msg] of Object.entries(flat)) {
    const parts = path.slice(prefix.length).split('.')
    let o = out
    for (const p of parts.slice(0, -1)) o = (o[p] ??= {})
    o[parts[parts.length - 1] as string] = msg
  }
  return out
}

/**
 * Kong's `fields` of an error body, flattened: `{ config: { minute: 'x' } }` → `config.minute`;
 * `@entity` lists (at the top or inside a record) go to `entity` under their record's path ('' at the top).
 */
export function flatErrors (fields: Record<string, unknown>, prefix = '', out: { fields: Record<string, string>, entity: Record<string, string[]> } = { fields: {}, entity: {} }): { fields: Record<string, string>, entity: Record<string, string[]> } {
  for (const [k, v] of Object.entries(fields)) {
    if (k === '@entity') {
      const list = Array.isArray(v) ? v.map(String) : [String(v)]
      const key = prefix.replace(/\.$/, '')
      out.entity[key] = [...(out.entity[key] ?? []), ...list]
    } else if (typeof v === 'string') {
      out.fields[prefix + k] = v
    } else if (Array.isArray(v)) {
      out.fields[prefix + k] = v.filter((x) => x !== null).map((x) => typeof x === 'string' ? x : JSON.stringify(x)).join('; ')
    } else if (v !== null && typeof v === 'object') {
      // An element-wise error of an array ({ paths: { 1: '...' } }) or a record's fields.
      const entries = Object.entries(v as Record<string, unknown>)
      if (entries.length > 0 && entries.every(([i]) => /^\d+$/.test(i))) {
        out.fields[prefix + k] = entries.map(([i, m]) => `item ${i}: ${typeof m === 'string' ? m : JSON.stringify(m)}`).join('; ')
      } else {
        flatErrors(v as Record<string, unknown>, `${prefix}${k}.`, out)
      }
    }
  }
  return out
}

export type { KongError }
