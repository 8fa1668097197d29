import { Type, oneOf, type FieldCheck, type Static } from '@tollgate/sdk'

// Kong 3.2: kong/plugins/response-transformer/schema.lua, fields in Kong's order.

/** Name and value of a "name:value" entry, as Kong splits it: the first colons separate them. */
export function split (entry: string): [string, string] {
  const m = /^([^:]+):*([\s\S]*)$/.exec(entry)
  return m === null ? [entry, ''] : [m[1] as string, m[2] as string]
}

const HEADER_NAME = /^[a-zA-Z0-9\-_]+$/

/** rename.headers: both names must be header names (Kong's validate_colon_headers). */
const headerPair = ((entry: string): string | undefined => {
  const [name, value] = split(entry)
  if (!HEADER_NAME.test(name)) return `'${name}' is not a valid header`
  return HEADER_NAME.test(value) ? undefined : `'${value}' is not a valid header`
}) as FieldCheck

const COLON = '^[^:]+:[\\s\\S]*$'

const strings = (description: string) => Type.Array(Type.String(), { default: [], description })
const pairs = (description: string) => Type.Array(Type.String({ pattern: COLON }), { default: [], description })
const record = { additionalProperties: false, kind: 'record' }

const withValues = (verb: string, form: string) => Type.Object({
  json: pairs(`JSON body properties to ${verb} (${form}); JSON responses only`),
  json_types: Type.Array(oneOf(['boolean', 'number', 'string'] as const), {
    default: [],
    description: 'The type of each `json` value, by position (string when absent)',
  }),
  headers: pairs(`Response headers to ${verb} (${form})`),
}, { ...record, description: `${verb[0]?.toUpperCase() ?? ''}${verb.slice(1)}` })

export const ResponseTransformerSchema = Type.Object({
  remove: Type.Object({
    json: strings('JSON body properties to remove (names)'),
    headers: strings('Response headers to remove (names)'),
  }, { ...record, description: 'Removed first' }),
  rename: Type.Object({
    headers: Type.Array(Type.String({ pattern: COLON, check: headerPair }), { default: [], description: 'Response headers to rename (old:new)' }),
  }, { ...record, description: 'Renamed after remove (headers only)' }),
  replace: withValues('replace', 'name:value; only those present'),
  add: withValues('add', 'name:value; only those absent'),
  append: withValues('append', 'name:value; added to those present'),
}, { additionalProperties: false })

export type ResponseTransformerConfig = Static<typeof ResponseTransformerSchema>
