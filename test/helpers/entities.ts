import type { EntityDef, PluginSchemas } from '../../core/store/index.js'
import { Type, autoId, foreign, tags, timestamp } from '../../core/store/schema.js'

/** A plugin-owned entity shaped like key-auth's credentials: ttl, unique key, cascading consumer. */
export const testCredentials: EntityDef = {
  name: 'test_credentials',
  adminName: 'test-creds',
  adminNestedName: 'test-cred',
  endpointKey: 'key',
  ttl: true,
  schema: Type.Object({
    id: autoId(),
    created_at: timestamp('creation time'),
    consumer: foreign('consumers', { required: true, onDelete: 'cascade' }),
    key: Type.String({ unique: true }),
    tags: tags(),
  }, { additionalProperties: false }),
}

export const testPlugins: PluginSchemas = {
  configSchema: (name) => name === 'test-auth'
    ? Type.Object({
      key_names: Type.Array(Type.String(), { default: ['apikey'] }),
      hide_credentials: Type.Boolean({ default: false }),
      limits: Type.Object({ second: Type.Integer({ minimum: 0, default: 10 }), minute: Type.Integer({ minimum: 0, default: 100 }) }),
    }, { additionalProperties: false })
    : undefined,
}
