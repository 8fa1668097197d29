// Entity schemas are typebox schemas (JSON Schema plus static types). This file holds the
// builders our entity definitions use and the validator that checks input against them.
// We walk the schema ourselves instead of using a generic JSON Schema validator because
// Kong's error messages ("expected an integer", "required field missing", "protocols.1: ...")
// are part of the Admin API contract and a generic validator cannot produce them.

import Type, { type TSchema } from 'typebox'
import type { FieldError, FieldErrors } from '../errors.js'

export { Type }
export type { TSchema }

/** A custom check: returns an error message, or undefined when the value is fine. */
export type FieldCheck = (value: never) => string | undefined

interface Meta {
  /** Filled by the store (id, timestamps); never required on input. */
  auto?: boolean
  /** How the field is named in type errors: Kong distinguishes sets, maps and records. */
  kind?: 'set' | 'map' | 'record' | 'foreign'
  /** Entity referenced by a foreign field. */
  reference?: string
  onDelete?: 'cascade' | 'restrict'
  unique?: boolean
  check?: FieldCheck
  description?: string
  /** Field holds a secret: left out of `GET /` and logs. */
  secret?: boolean
  /** Makes a value when the input has none (key-auth keys). */
  generate?: () => unknown
}

type S = TSchema & Meta & Record<string, unknown>

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** A plain object: not null, not an array. */
export function isRecord (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

export function isUuid (v: unknown): v is string {
  return typeof v === 'string' && UUID_RE.test(v)
}

// --- builders ---------------------------------------------------------------------------

export const uuid = (opts: Meta = {}) =>
  Type.String({ format: 'uuid', description: 'A UUID', ...opts })

export const autoId = () => uuid({ auto: true, description: 'Unique identifier, generated when absent' })

export const timestamp = (description: string) =>
  Type.Integer({ auto: true, minimum: 0, description })

/** Seconds with a millisecond fraction, Kong's auto_timestamp_ms (targets' created_at). */
export const timestampMs = (description: string) =>
  Type.Number({ auto: true, minimum: 0, description })

export const nullable = <T extends TSchema>(schema: T, opts: Meta & { default?: unknown } = {}) =>
  Type.Union([schema, Type.Null()], { default: null, ...opts })

export const oneOf = <const L extends readonly string[]>(values: L, opts: Record<string, unknown> = {}) =>
  // Typed as the string union; the schema itself is a union of literals (anyOf const).
  Type.Unsafe<L[number]>(Type.Union(values.map((v) => Type.Literal(v)), opts))

export const set = <T extends TSchema>(items: T, opts: Record<string, unknown> = {}) =>
  Type.Array(items, { kind: 'set', ...opts })

export const foreign = (reference: string, opts: Meta & { required?: boolean } = {}) => {
  const ref = Type.Object({ id: uuid() }, { kind: 'foreign', reference, additionalProperties: false })
  return opts.required === true
    ? Type.Object({ id: uuid() }, { kind: 'foreign', reference, onDelete: opts.onDelete ?? 'restrict', additionalProperties: false, description: opts.description })
    : Type.Union([ref, Type.Null()], { kind: 'foreign', reference, onDelete: opts.onDelete ?? 'restrict', default: null, description: opts.description })
}

const TAG_RE = /^[\x20-\x2b\x2d\x2e\x30-\x7e]+$/ // printable ASCII but ',' and '/'

export function checkTag (tag: string): string | undefined {
  if (TAG_RE.test(tag)) return undefined
  // Kong also accepts any valid UTF-8 sequence; a JS string is valid unless it has lone
  // surrogates, and must still avoid the two filter separators and control characters.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f,/]/.test(tag) || !tag.isWellFormed() || /^[\x00-\x7f]*$/.test(tag)) {
    return `invalid tag '${tag}': expected printable ascii (except \`,\` and \`/\`) or valid utf-8 sequences`
  }
  return undefined
}

export const tags = () =>
  nullable(set(Type.String({ minLength: 1, check: checkTag as FieldCheck })), {
    description: 'An optional set of strings for grouping and filtering',
  })

const NAME_RE = /^(?:[A-Za-z0-9.\-_~]|[^\x00-\x7f])+$/

/** Kong's `utf8_name`: unreserved ASCII or any non-ASCII character. */
export function checkUtf8Name (v: string): string | undefined {
  return NAME_RE.test(v)
    ? undefined
    : `invalid value '${v}': the only accepted ascii characters are alphanumerics or ., -, _, and ~`
}

// --- introspection ----------------------------------------------------------------------

export interface FieldInfo {
  schema: S
  nullable: boolean
  inner: S
}

/** Splits `Union([X, Null])` into X and a nullable flag; leaves other schemas alone. */
export function unwrap (schema: TSchema): FieldInfo {
  const s = schema as S
  const any = s.anyOf as S[] | undefined
  if (Array.isArray(any)) {
    const rest = any.filter((x) => x.type !== 'null')
    if (rest.length !== any.length && rest.length === 1) {
      const inner = rest[0] as S
      return { schema: s, nullable: true, inner: { ...inner, ...pick(s, ['kind', 'reference', 'onDelete', 'check']) } as S }
    }
  }
  return { schema: s, nullable: false, inner: s }
}

function pick (s: S, keys: (keyof Meta)[]): Partial<Meta> {
  const out: Record<string, unknown> = {}
  for (const k of keys) if (s[k] !== undefined) out[k] = s[k]
  return out as Partial<Meta>
}

export function enumValues (s: TSchema): string[] | undefined {
  const any = (s as S).anyOf as S[] | undefined
  if (!Array.isArray(any) || any.length === 0) return undefined
  if (!any.every((x) => x.const !== undefined)) return undefined
  return any.map((x) => String(x.const))
}

/** The type name of a (non-null) schema in Kong's words. */
export function typeName (s: S): string {
  if (s.kind === 'set') return 'set'
  if (s.kind === 'map') return 'map'
  if (enumValues(s) !== undefined) return 'string'
  if (s.type === 'object') return s.patternProperties !== undefined ? 'map' : 'record'
  return String(s.type)
}

const article: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'a boolean',
  array: 'an array',
  set: 'a set',
  map: 'a map',
  record: 'a record',
}

// --- validation -------------------------------------------------------------------------

export interface ValidateOptions {
  /** Leave fields absent from the input absent, for checks on partial input. */
  partial?: boolean
  /**
   * With errors, still return the record with defaults filled in and each invalid field as
   * given, for entity checks that run on invalid input (EntityDef.checksOnInvalid).
   */
  keepInvalid?: boolean
}

/**
 * Checks `input` against an object schema, filling defaults. Returns the normalised value
 * and Kong-shaped field errors (undefined when valid). Never throws on bad input.
 */
export function validateRecord (schema: TSchema, input: unknown, opts: ValidateOptions = {}):
{ value: Record<string, unknown>, errors: FieldErrors | undefined } {
  const res = checkValue(schema as S, input, opts)
  if (typeof res.error === 'string') return { value: {}, errors: { '@entity': [res.error] } }
  return { value: (res.value ?? {}) as Record<string, unknown>, errors: res.error as FieldErrors | undefined }
}

interface Result { value: unknown, error: FieldError | undefined }

function checkValue (schema: S, value: unknown, opts: ValidateOptions): Result {
  const { nullable, inner } = unwrap(schema)
  if (value === null) {
    return nullable ? { value: null, error: undefined } : { value, error: 'required field missing' }
  }
  const values = enumValues(inner)
  if (values !== undefined) {
    if (typeof value !== 'string' && typeof value !== 'number') return { value, error: `expected ${article.string}` }
    if (!values.includes(String(value))) return { value, error: `expected one of: ${values.join(', ')}` }
    return { value, error: undefined }
  }
  const expected = typeName(inner)
  switch (inner.type) {
    case 'string': {
      if (typeof value !== 'string') return { value, error: `expected ${article.string}` }
      const min = (inner.minLength as number | undefined) ?? 1 // Kong: every string has length >= 1
      if (value.length < min) return { value, error: `length must be at least ${min}` }
      if (inner.maxLength !== undefined && value.length > (inner.maxLength as number)) {
        return { value, error: `length must be at most ${inner.maxLength as number}` }
      }
      if (inner.format === 'uuid' && !isUuid(value)) return { value, error: 'expected a valid UUID' }
      if (typeof inner.pattern === 'string' && !new RegExp(inner.pattern, 'u').test(value)) {
        return { value, error: `invalid value: ${value}` }
      }
      break
    }
    case 'integer':
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return { value, error: `expected ${article[expected]}` }
      if (inner.type === 'integer' && !Number.isInteger(value)) return { value, error: `expected ${article.integer}` }
      const lo = inner.minimum as number | undefined
      const hi = inner.maximum as number | undefined
      if ((lo !== undefined && value < lo) || (hi !== undefined && value > hi)) {
        if (lo !== undefined && hi !== undefined) return { value, error: `value should be between ${lo} and ${hi}` }
        if (lo !== undefined) return { value, error: `value must be greater than or equal to ${lo}` }
        return { value, error: `value must be less than or equal to ${hi as number}` }
      }
      break
    }
    case 'boolean':
      if (typeof value !== 'boolean') return { value, error: `expected ${article.boolean}` }
      break
    case 'array':
      return checkArray(inner, value, opts)
    case 'object':
      if (typeof value !== 'object' || Array.isArray(value)) return { value, error: `expected ${article[expected]}` }
      if (inner.patternProperties !== undefined) return checkMap(inner, value as Record<string, unknown>, opts)
      if (inner.kind === 'foreign') return { value, error: undefined } // resolved by the store
      return checkObject(inner, value as Record<string, unknown>, opts)
    default:
      break
  }
  if (typeof inner.check === 'function') {
    const msg = (inner.check as (v: unknown) => string | undefined)(value)
    if (msg !== undefined) return { value, error: msg }
  }
  return { value, error: undefined }
}

function checkArray (schema: S, value: unknown, opts: ValidateOptions): Result {
  const kind = typeName(schema)
  if (!Array.isArray(value)) return { value, error: `expected ${article[kind]}` }
  const items = schema.items as S
  const out = value.map((v) => checkValue(items, v, opts))
  const errors = out.map((r) => r.error)
  if (errors.some((e) => e !== undefined)) {
    // Kong's errors are a Lua array: a valid element is a hole, and the JSON encoder
    // drops holes at the end (['bad', 'bad', 123] gives two messages, not three).
    let last = errors.length
    while (last > 0 && errors[last - 1] === undefined) last--
    return { value, error: errors.slice(0, last).map((e) => e === undefined ? null : e) as FieldError }
  }
  let result = out.map((r) => r.value)
  if (kind === 'set') {
    // Kong sets drop duplicates silently and keep first-seen order.
    const seen = new Set<string>()
    result = result.filter((v) => { const k = JSON.stringify(v); if (seen.has(k)) return false; seen.add(k); return true })
  }
  if (schema.minItems !== undefined && result.length < (schema.minItems as number)) {
    return { value, error: `length must be at least ${schema.minItems as number}` }
  }
  if (schema.maxItems !== undefined && result.length > (schema.maxItems as number)) {
    return { value, error: `length must be at most ${schema.maxItems as number}` }
  }
  if (typeof schema.check === 'function') {
    const msg = (schema.check as (v: unknown) => string | undefined)(result)
    if (msg !== undefined) return { value, error: msg }
  }
  return { value: result, error: undefined }
}

function checkMap (schema: S, value: Record<string, unknown>, opts: ValidateOptions): Result {
  const [valueSchema] = Object.values(schema.patternProperties as Record<string, S>)
  const out: Record<string, unknown> = {}
  const errors: FieldErrors = {}
  for (const [k, v] of Object.entries(value)) {
    const r = checkValue(valueSchema as S, v, opts)
    // A map's keys come from input: `__proto__` is a key like any other.
    if (r.error !== undefined) setOwn(errors, k, r.error)
    else setOwn(out, k, r.value)
  }
  if (Object.keys(errors).length > 0) return { value, error: errors }
  if (typeof schema.check === 'function') {
    const msg = (schema.check as (v: unknown) => string | undefined)(out)
    if (msg !== undefined) return { value, error: msg }
  }
  return { value: out, error: undefined }
}

/**
 * Sets an own member, `__proto__` included: input names fields, and `obj['__proto__'] = v`
 * would change obj's prototype (or, for a string, do nothing) instead of naming a field.
 */
export function setOwn (obj: object, key: string | number, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true })
  else (obj as Record<string | number, unknown>)[key] = value
}

function checkObject (schema: S, value: Record<string, unknown>, opts: ValidateOptions): Result {
  const props = (schema.properties ?? {}) as Record<string, S>
  const required = new Set((schema.required ?? []) as string[])
  const out: Record<string, unknown> = {}
  const errors: FieldErrors = {}
  for (const key of Object.keys(value)) {
    // Own fields only: `constructor` or `__proto__` in the input are unknown fields, not
    // members every object inherits.
    if (!Object.hasOwn(props, key)) setOwn(errors, key, 'unknown field')
  }
  for (const [key, fieldSchema] of Object.entries(props)) {
    const has = Object.hasOwn(value, key) && value[key] !== undefined
    if (!has) {
      if (opts.partial === true || fieldSchema.auto === true) continue
      if (typeof fieldSchema.generate === 'function') { out[key] = (fieldSchema.generate as () => unknown)(); continue }
      if (fieldSchema.default !== undefined) {
        out[key] = structuredClone(fieldSchema.default)
        continue
      }
      const { inner } = unwrap(fieldSchema)
      // A record with every field defaulted is itself defaulted, as Kong does for `config`.
      if (inner.type === 'object' && inner.properties !== undefined && inner.kind !== 'foreign') {
        const nested = checkObject(inner, {}, opts)
        if (nested.error === undefined) { out[key] = nested.value; continue }
        if (required.has(key)) { errors[key] = nested.error; continue }
      }
      if (required.has(key) && !unwrap(fieldSchema).nullable) errors[key] = 'required field missing'
      else out[key] = null
      continue
    }
    const r = checkValue(fieldSchema, value[key], opts)
    if (r.error !== undefined) errors[key] = r.error
    out[key] = r.error === undefined ? r.value : value[key]
  }
  if (Object.keys(errors).length > 0) return { value: opts.keepInvalid === true ? out : value, error: errors }
  return { value: out, error: undefined }
}

/** The schema's fields in declaration order with their metadata. */
export function fieldsOf (schema: TSchema): [string, S][] {
  return Object.entries(((schema as S).properties ?? {}) as Record<string, S>)
}
