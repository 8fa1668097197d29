import { Type, nullable, type ConfigErrors, type Static } from '@tollgate/sdk'

// Kong: kong/plugins/acl/schema.lua (include_consumer_groups is Kong Enterprise's).
export const AclSchema = Type.Object({
  allow: nullable(Type.Array(Type.String()), { description: 'Groups allowed; exactly one of allow and deny is set' }),
  deny: nullable(Type.Array(Type.String()), { description: 'Groups refused; exactly one of allow and deny is set' }),
  hide_groups_header: Type.Boolean({ default: false, description: 'Do not send X-Consumer-Groups (or X-Authenticated-Groups) upstream' }),
}, { additionalProperties: false })

export type AclConfig = Static<typeof AclSchema>

const nonEmpty = (v: readonly string[] | null | undefined): boolean => Array.isArray(v) && v.length > 0

/** Kong's entity checks: at_least_one_of and only_one_of config.allow, config.deny. */
export function checkConfig (conf: AclConfig): ConfigErrors | undefined {
  const allow = nonEmpty(conf.allow)
  const deny = nonEmpty(conf.deny)
  if (!allow && !deny) return { '@entity': ["at least one of these fields must be non-empty: 'config.allow', 'config.deny'"] }
  if (allow && deny) return { '@entity': ["exactly one of these fields must be non-empty: 'config.allow', 'config.deny'"] }
  return undefined
}
