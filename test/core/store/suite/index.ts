// One suite for every store backend, as Hono runs one case file against each of its routers
// (src/router/common.case.test.ts) and Kong its specs against each strategy
// (helpers.each_strategy). A backend's test file is a few lines: see ../lmdb.test.ts.

import type { Test } from 'tap'
import { cases, type StoreFactory } from './cases.js'
import './crud.js'
import './constraints.js'
import './list.js'
import './transaction.js'
import './upstreams.js'
import './tls.js'

export type { StoreFactory }

/** Runs every shared store case against the stores `make` makes. */
export function storeSuite (t: Test, name: string, make: StoreFactory): void {
  t.test(name, async (t) => {
    for (const c of cases) t.test(c.name, (t) => c.fn(t, make))
  })
}
