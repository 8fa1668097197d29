import { Type, autoId, foreign, tags, timestamp, type EntityDef } from '@tollgate/sdk'

// Kong: kong/plugins/acl/daos.lua (and api.lua: under a consumer, an acl is also found by
// its group, and PUT by a new group creates it).
export const acls: EntityDef = {
  name: 'acls',
  adminNestedName: 'acls',
  nestedKey: 'group',
  cacheKey: ['consumer', 'group'],
  uniqueTogether: [['consumer', 'group']],
  schema: Type.Object({
    id: autoId(),
    created_at: timestamp('Unix epoch when the association was created'),
    consumer: foreign('consumers', { required: true, onDelete: 'cascade', description: 'The consumer in the group' }),
    group: Type.String({ description: 'The group the consumer belongs to' }),
    tags: tags(),
  }, { additionalProperties: false }),
}
