// EntityDef.nestedKey: a field unique with the parent stands for the id under it
// (/consumers/{c}/acls/{group}, after Kong's kong/plugins/acl/api.lua).
import t from 'tap'
import { Type } from 'typebox'
import { autoId, foreign, timestamp } from '../../../core/store/schema.js'
import type { EntityDef } from '../../../core/store/entity.js'
import { startAdmin } from '../../helpers/admin.js'

const labels: EntityDef = {
  name: 'labels',
  nestedKey: 'label',
  uniqueTogether: [['consumer', 'label']],
  schema: Type.Object({
    id: autoId(),
    created_at: timestamp('creation'),
    consumer: foreign('consumers', { required: true, onDelete: 'cascade' }),
    label: Type.String(),
  }, { additionalProperties: false }),
}

t.test('children found by their nested key under their parent only', async (t) => {
  const api = await startAdmin(t, { entities: [labels] })
  await api.call('POST', '/consumers', { json: { username: 'bob' } })
  await api.call('POST', '/consumers', { json: { username: 'alice' } })
  const b = (await api.call('POST', '/consumers/bob/labels', { json: { label: 'x' } })).body
  const a = (await api.call('POST', '/consumers/alice/labels', { json: { label: 'x' } })).body
  t.equal((await api.call('GET', '/consumers/bob/labels/x')).body.id, b.id)
  t.equal((await api.call('GET', '/consumers/alice/labels/x')).body.id, a.id)
  t.equal((await api.call('GET', '/consumers/bob/labels/y')).status, 404)
  t.equal((await api.call('GET', `/consumers/bob/labels/${a.id as string}`)).status, 404, 'by id, still under its parent only')
  let r = await api.call('PATCH', '/consumers/bob/labels/x', { json: { label: 'y' } })
  t.same([r.status, r.body.id, r.body.label], [200, b.id, 'y'])
  r = await api.call('PUT', '/consumers/bob/labels/z', { json: {} })
  t.same([r.status, r.body.label], [200, 'z'], 'PUT by a new value creates the row with it')
  t.not(r.body.id, b.id)
  r = await api.call('PUT', '/consumers/bob/labels/z', { json: {} })
  t.equal(r.status, 200, 'PUT again replaces it')
  t.equal((await api.call('GET', '/consumers/bob/labels')).body.data.length, 2)
  t.equal((await api.call('DELETE', '/consumers/bob/labels/y')).status, 204)
  t.equal((await api.call('DELETE', '/consumers/bob/labels/y')).status, 404)
  t.equal((await api.call('GET', '/consumers/alice/labels/x')).status, 200, 'the other parent\'s is left')
})
