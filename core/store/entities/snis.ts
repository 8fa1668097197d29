import type { Static } from 'typebox'
import type { EntityDef } from '../entity.js'
import { checkSni } from '../checks.js'
import { Type, autoId, foreign, tags, timestamp, type FieldCheck } from '../schema.js'

const checkName = (name: string): string | undefined => checkSni(name, true)

// Kong: kong/db/schema/entities/snis.lua. The certificate's DAO deletes its snis before
// it (kong/db/dao/certificates.lua): here, a cascade.
export const SniSchema = Type.Object({
  id: autoId(),
  name: Type.String({ check: checkName as FieldCheck, unique: true, description: 'Server name; one `*` allowed as the leftmost or rightmost character' }),
  created_at: timestamp('Unix epoch when the SNI was created'),
  tags: tags(),
  certificate: foreign('certificates', { required: true, onDelete: 'cascade', description: 'The certificate served for this name' }),
}, { additionalProperties: false })

export type Sni = Omit<Static<typeof SniSchema>, 'certificate'> & { certificate: { id: string } }

export const snis: EntityDef = {
  name: 'snis',
  schema: SniSchema,
  endpointKey: 'name',
  // Kong disables /snis/{s}/certificate (kong/api/routes/snis.lua): certificates are
  // reached by SNI at /certificates/{name}.
  noForeignEndpoint: ['certificate'],
}
