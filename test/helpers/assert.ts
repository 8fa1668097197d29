import type { Test } from 'tap'
import { DbError } from '../../core/errors.js'

/** Awaits a promise that must reject with a DbError of `code` (and message, when given). */
export async function rejectsDb (t: Test, p: Promise<unknown>, code: number, message?: string | RegExp): Promise<DbError> {
  const err = await p.then(() => undefined, (e: unknown) => e)
  t.ok(DbError.is(err), 'rejects with a DbError')
  const e = err as DbError
  t.equal(e.code, code, `code ${code}`)
  if (typeof message === 'string') t.equal(e.message, message)
  else if (message !== undefined) t.match(e.message, message)
  return e
}
