import { Type, nullable, type FieldCheck, type Static } from '@tollgate/sdk'
import { parseRange } from './ip.js'

/** Kong's typedefs.ip_or_cidr. */
const ipOrCidr: FieldCheck = ((v: string) => (parseRange(v) === undefined ? `invalid ip or cidr range: '${v}'` : undefined)) as FieldCheck

// Kong 3.2: kong/plugins/ip-restriction/schema.lua, fields in Kong's order.
export const IpRestrictionSchema = Type.Object({
  allow: nullable(Type.Array(Type.String({ check: ipOrCidr })), { description: 'Addresses or CIDR ranges (IPv4 or IPv6) let through; any other client is refused' }),
  deny: nullable(Type.Array(Type.String({ check: ipOrCidr })), { description: 'Addresses or CIDR ranges (IPv4 or IPv6) refused; checked before allow' }),
  status: nullable(Type.Number(), { description: 'Status of a refused request (default 403)' }),
  message: nullable(Type.String(), { description: "Message of a refused request (default 'Your IP address is not allowed')" }),
}, { additionalProperties: false })

export type IpRestrictionConfig = Static<typeof IpRestrictionSchema>

/** Kong's entity check: at_least_one_of config.allow, config.deny (an empty list counts as none). */
export function checkConfig (conf: IpRestrictionConfig): { '@entity': string[] } | undefined {
  if ((conf.allow ?? []).length === 0 && (conf.deny ?? []).length === 0) {
    return { '@entity': ["at least one of these fields must be non-empty: 'config.allow', 'config.deny'"] }
  }
  return undefined
}
