import { TOLLGATE_VERSION, type PluginDescriptor } from '@tollgate/sdk'
import { jwtSecrets } from './entities.js'
import { access } from './handler.js'
import { JwtSchema, checkConfig } from './schema.js'

/** jwt: identifies consumers by a signed JSON Web Token (HS*, RS* or ES*). */
export const jwt: PluginDescriptor<typeof JwtSchema> = {
  name: 'jwt',
  version: TOLLGATE_VERSION,
  // Kong's: after session (1900) and before oauth2 (1400) and key-auth (1250).
  priority: 1450,
  schema: JwtSchema,
  access,
  checkConfig,
  noConsumer: true,
  entities: [jwtSecrets],
}

export default jwt
