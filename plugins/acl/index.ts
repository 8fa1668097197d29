import { TOLLGATE_VERSION, type PluginDescriptor } from '@tollgate/sdk'
import { acls } from './entities.js'
import { access } from './handler.js'
import { AclSchema, checkConfig } from './schema.js'

/** acl: lets consumers through, or refuses them, by the groups they belong to. */
export const acl: PluginDescriptor<typeof AclSchema> = {
  name: 'acl',
  version: TOLLGATE_VERSION,
  // Kong's: after the authentication plugins (basic-auth 1100), before rate-limiting (910).
  priority: 950,
  schema: AclSchema,
  access,
  checkConfig,
  noConsumer: true,
  entities: [acls],
}

export default acl
