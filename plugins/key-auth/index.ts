import { TOLLGATE_VERSION, type PluginDescriptor } from '@tollgate/sdk'
import { keyauthCredentials } from './entities.js'
import { access } from './handler.js'
import { KeyAuthSchema } from './schema.js'

/** key-auth: identifies consumers by an API key in a header, the query or the body. */
export const keyAuth: PluginDescriptor<typeof KeyAuthSchema> = {
  name: 'key-auth',
  version: TOLLGATE_VERSION,
  // Kong's: after session (1900), jwt and oauth2; before basic-auth (1100) and acl (950).
  priority: 1250,
  schema: KeyAuthSchema,
  access,
  readsBody: (conf) => conf.key_in_body,
  noConsumer: true,
  entities: [keyauthCredentials],
}

export default keyAuth
