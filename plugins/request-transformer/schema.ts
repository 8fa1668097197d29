import { Type, nullable, type FieldCheck, type Static } from '@tollgate/sdk'
import { compile } from './template.js'

// Kong 3.2: kong/plugins/request-transformer/schema.lua. Entries are "name" (remove) or
// "name:value" (the rest); the value may hold $(...) templates (template.ts).

/** Name and value of a "name:value" entry, as Kong splits it: the first colons separate them. */
export function split (entry: string): [string, string] {
  const m = /^([^:]+):*([\s\S]*)$/.exec(entry)
  return m === null ? [entry, ''] : [m[1] as string, m[2] as string]
}

const HEADER_NAME = /^[a-zA-Z0-9\-_]+$/

function templateError (value: string): string | undefined {
  try { compile(value); return undefined } catch (err) { return `value '${value}' is not in supported format, error:${(err as Error).message}` }
}

/** Kong's check_for_value: a value is required and must be a valid template. */
const withValue = ((entry: string): string | undefined => {
  const [name, value] = split(entry)
  if (value === '') return `key '${name}' has no value`
  return templateError(value)
}) as FieldCheck

/** Kong's validate_headers: the name must be a header name (remove lists). */
const headerName = ((entry: string): string | undefined => {
  const [name] = split(entry)
  return HEADER_NAME.test(name) ? undefined : `'${name}' is not a valid header`
}) as FieldCheck

/** Kong's `match = "^[^:]+:.*$"` and validate_headers; Tollgate also checks the template. */
const headerWithValue = ((entry: string): string | undefined => {
  if (!/^[^:]+:/.test(entry)) return `invalid value: ${entry}`
  const [name, value] = split(entry)
  if (!HEADER_NAME.test(name)) return `'${name}' is not a valid header`
  return value === '' ? undefined : templateError(value)
}) as FieldCheck

/** rename.headers: both names must be header names (Kong's validate_colon_headers). */
const headerPair = ((entry: string): string | undefined => {
  if (!/^[^:]+:/.test(entry)) return `invalid value: ${entry}`
  const [name, value] = split(entry)
  if (!HEADER_NAME.test(name)) return `'${name}' is not a valid header`
  return HEADER_NAME.test(value) ? undefined : `'${value}' is not a valid header`
}) as FieldCheck

const list = (check: FieldCheck | undefined, description: string) =>
  Type.Array(Type.String(check === undefined ? {} : { check }), { default: [], description })

const section = (verb: string, headers: FieldCheck, values: FieldCheck | undefined, form: string) => ({
  body: list(values, `Body parameters to ${verb} (${form}); JSON, form-urlencoded and multipart bodies`),
  headers: list(headers, `Headers to ${verb} (${form})`),
  querystring: list(values, `Query arguments to ${verb} (${form})`),
})

const record = { additionalProperties: false, kind: 'record' }

export const RequestTransformerSchema = Type.Object({
  http_method: nullable(Type.String({ pattern: '^[A-Z]+$', description: 'The method to send upstream instead of the client\'s' })),
  remove: Type.Object(section('remove', headerName, undefined, 'names'), { ...record, description: 'Removed first' }),
  rename: Type.Object(section('rename', headerPair, withValue, 'old:new'), { ...record, description: 'Renamed after remove' }),
  replace: Type.Object({
    ...section('replace', headerWithValue, withValue, 'name:value; only those present'),
    uri: nullable(Type.String({ check: ((v: string) => templateError(v)) as FieldCheck }), { description: 'The upstream path instead of the client\'s; may hold templates' }),
  }, { ...record, description: 'Replaced after rename' }),
  add: Type.Object(section('add', headerWithValue, withValue, 'name:value; only those absent'), { ...record, description: 'Added after replace' }),
  append: Type.Object(section('append', headerWithValue, withValue, 'name:value; added to those present'), { ...record, description: 'Appended last' }),
}, { additionalProperties: false })

export type RequestTransformerConfig = Static<typeof RequestTransformerSchema>
