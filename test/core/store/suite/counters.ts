// What every CounterStore does, whichever backend keeps the counters (LMDB, PostgreSQL).

import type { Test } from 'tap'
import type { CounterStore } from '../../../../core/store/index.js'

export async function counterBasics (t: Test, c: CounterStore): Promise<void> {
  t.equal(await c.incrCounter('a', 1, 60), 1)
  t.equal(await c.incrCounter('a', 2, 1), 3, 'adds; the first expiry is kept')
  t.equal(await c.incrCounter('a', -1, 60), 2)
  t.equal(await c.getCounter('a'), 2)
  t.equal(await c.getCounter('b'), undefined)
  t.equal(await c.incrCounter('forever', 5, 0), 5)
  await t.rejects(c.incrCounter('a', Number.NaN, 1), TypeError)
  await t.rejects(c.incrCounter('a', 1, -1), TypeError)
}
