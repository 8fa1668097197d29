// Kong's spec/03-plugins/10-basic-auth/01-crypto_spec.lua.
import { createHash } from 'node:crypto'
import t from 'tap'
import { hashPassword } from '../../../plugins/basic-auth/entities.js'

const sha1 = (s: string): string => createHash('sha1').update(s).digest('hex')

t.test('encrypts a credential with consumer_id salt', async (t) => {
  const id = 'id123'
  const value = hashPassword(id, 'pass123')
  t.match(value, /^[0-9a-f]{40}$/)
  t.equal(value, hashPassword(id, 'pass123'), 'the same input hashes the same')
  t.equal(value, sha1('pass123id123'), 'password then consumer id')
})

t.test('substitutes empty string for password equal to nil', async (t) => {
  t.equal(hashPassword('id123', undefined), sha1('id123'))
  t.equal(hashPassword('id123', null), hashPassword('id123', ''))
})
