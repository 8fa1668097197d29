import { Type, nullable, refuseLuaFields, type FieldCheck, type Static } from '@tollgate/sdk'

// Kong 3.2's kong/plugins/file-log/schema.lua: path must match ^[^*&%\`]+$ ("not a valid
// filename"); reopen defaults to false; custom_fields_by_lua is a map of Lua code.
const FILENAME = /^[^*&%\\`]+$/
const validFilename = ((v: string): string | undefined => FILENAME.test(v) ? undefined : 'not a valid filename') as FieldCheck

export const FileLogSchema = Type.Object({
  path: Type.String({ check: validFilename, description: 'The file each request is appended to, one JSON line per request' }),
  reopen: Type.Boolean({ default: false, description: 'Close and reopen the file before every write, for log rotation (lines arriving together are one write)' }),
  custom_fields_by_lua: nullable(Type.Record(Type.String(), Type.String()), { default: null, description: 'Kong runs these as Lua: not supported by Tollgate, only null or an empty map is accepted' }),
}, { additionalProperties: false })

export type FileLogConfig = Static<typeof FileLogSchema>

/** custom_fields_by_lua needs Lua, which Tollgate cannot run: refused rather than ignored (the SDK's refuseLuaFields). */
export function checkConfig (conf: FileLogConfig): { config: Record<string, string> } | undefined {
  return refuseLuaFields(conf, ['custom_fields_by_lua'])
}
