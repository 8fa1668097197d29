import { PluginRegistry } from '../../core/runtime/registry.js'
import type { EntityDef } from '../../core/store/index.js'
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

/** A registry holding one plugin, `test-auth`, which owns `test_credentials`. */
export const testPlugins = new PluginRegistry()
testPlugins.register({
  name: 'test-auth',
  version: '1.0.0',
  priority: 1250,
  schema: Type.Object({
    key_names: Type.Array(Type.String(), { default: ['apikey'], description: 'Where to look for the key' }),
    hide_credentials: Type.Boolean({ default: false }),
    limits: Type.Object({ second: Type.Integer({ minimum: 0, default: 10 }), minute: Type.Integer({ minimum: 0, default: 100 }) }),
  }, { additionalProperties: false }),
  entities: [testCredentials],
})
