// EntityDef.rewrite on update sees the stored row, as Kong's transformations read before
// write (basic-auth's password hashed with the consumer id the patch leaves unchanged).
import t from 'tap'
import { Type } from 'typebox'
import { autoId, foreign, timestamp } from '../../../core/store/schema.js'
import type { EntityDef } from '../../../core/store/entity.js'
import { tempStore } from '../../helpers/store.js'

t.test('rewrite gets the stored row on update', async (t) => {
  const seen: Array<[string, Record<string, unknown> | undefined]> = []
  const notes: EntityDef = {
    name: 'notes',
    schema: Type.Object({
      id: autoId(),
      created_at: timestamp('creation'),
      consumer: foreign('consumers', { required: true, onDelete: 'cascade' }),
      text: Type.String(),
    }, { additionalProperties: false }),
    rewrite: (input, op, existing) => {
      seen.push([op, existing])
      if (typeof input.text !== 'string') return input
      const owner = (input.consumer as { id?: string } | undefined)?.id ?? (existing?.consumer as { id: string } | undefined)?.id
      return { ...input, text: `${input.text}@${owner ?? '?'}` }
    },
  }
  const store = tempStore(t, { entities: [notes] })
  const c = await store.insert('consumers', { username: 'bob' })
  const n = await store.insert('notes', { consumer: { id: c.id }, text: 'a' })
  t.equal(n.text, `a@${c.id as string}`)
  t.same(seen, [['insert', undefined]])
  const u = await store.update('notes', { id: n.id as string }, { text: 'b' })
  t.equal(u.text, `b@${c.id as string}`, 'the owner came from the stored row')
  t.equal(seen[1]?.[0], 'update')
  t.match(seen[1]?.[1], { id: n.id, text: `a@${c.id as string}`, consumer: { id: c.id } })
})
