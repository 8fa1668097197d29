import { TOLLGATE_VERSION, type PluginDescriptor } from '@tollgate/sdk'
import { access } from './handler.js'
import { IpRestrictionSchema, checkConfig } from './schema.js'

/** ip-restriction: lets clients through, or refuses them, by address or CIDR range. */
export const ipRestriction: PluginDescriptor<typeof IpRestrictionSchema> = {
  name: 'ip-restriction',
  version: TOLLGATE_VERSION,
  // Kong's: after the authentication plugins (key-auth 1250), before rate-limiting (910).
  priority: 990,
  schema: IpRestrictionSchema,
  access,
  checkConfig,
}

export default ipRestriction
