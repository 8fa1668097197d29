// Kong fields that hold Lua code (typedefs.lua_code: file-log's and http-log's
// custom_fields_by_lua in Kong 3.2; tcp-log, udp-log, syslog, loggly and kafka-log have it
// too). Tollgate runs no Lua, so such a field is refused when set rather than stored and
// silently ignored; null or an empty map, which is what Kong does without it, is accepted.

/** Said in the 400 schema violation for a field that needs Lua. */
export const LUA_NOT_SUPPORTED = 'Lua is not supported by Tollgate: this field holds Lua code Kong would run; only null or an empty map is accepted'

/**
 * For a plugin's checkConfig: `{ config: { field: LUA_NOT_SUPPORTED } }` for each of
 * `fields` that is set to something other than null or an empty map/list/string; else
 * undefined.
 */
export function refuseLuaFields (conf: Record<string, unknown>, fields: readonly string[]): { config: Record<string, string> } | undefined {
  const errors: Record<string, string> = {}
  for (const field of fields) {
    const v = conf[field]
    const empty = v === null || v === undefined || v === '' || (typeof v === 'object' && Object.keys(v).length === 0)
    if (!empty) errors[field] = LUA_NOT_SUPPORTED
  }
  return Object.keys(errors).length > 0 ? { config: errors } : undefined
}
