import type { Static } from 'typebox'
import type { EntityDef } from '../entity.js'
import { Type, autoId, nullable, tags, timestamp } from '../schema.js'

// Kong: kong/db/schema/entities/consumers.lua
export const ConsumerSchema = Type.Object({
  id: autoId(),
  created_at: timestamp('Unix epoch when the consumer was created'),
  updated_at: timestamp('Unix epoch when the consumer was last updated'),
  username: nullable(Type.String({ minLength: 1 }), { unique: true, description: 'Unique username' }),
  custom_id: nullable(Type.String({ minLength: 1 }), { unique: true, description: 'Unique id from an existing user database' }),
  tags: tags(),
}, { additionalProperties: false })

export type Consumer = Static<typeof ConsumerSchema>

export const consumers: EntityDef = {
  name: 'consumers',
  schema: ConsumerSchema,
  endpointKey: 'username',
  listFilters: ['custom_id'],
  entityChecks: [{ at_least_one_of: ['custom_id', 'username'] }],
  checks: (c) => (c.username == null && c.custom_id == null)
    ? { '@entity': ["at least one of these fields must be non-empty: 'custom_id', 'username'"] }
    : undefined,
}
