import { TOLLGATE_VERSION, type PluginDescriptor } from '@tollgate/sdk'
import { basicauthCredentials } from './entities.js'
import { access } from './handler.js'
import { BasicAuthSchema } from './schema.js'

/** basic-auth: identifies consumers by a username and password (RFC 7617) in Authorization or Proxy-Authorization. */
export const basicAuth: PluginDescriptor<typeof BasicAuthSchema> = {
  name: 'basic-auth',
  version: TOLLGATE_VERSION,
  // Kong's: after key-auth (1250), before acl (950).
  priority: 1100,
  schema: BasicAuthSchema,
  access,
  noConsumer: true,
  entities: [basicauthCredentials],
}

export default basicAuth
