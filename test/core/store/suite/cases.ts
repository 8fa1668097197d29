// The shared store suite: what any EntityStore & ConfigReader must do, whatever it stores
// in. Each case file registers its cases here as it is imported, so a case reads like a
// top-level test; storeSuite (index.ts) runs them all against one backend.

import type { Test } from 'tap'
import type { ConfigReader, EntityStore, SchemaOptions } from '../../../../core/store/index.js'

/** Makes a new, empty store (version 0) for one test, closed when the test ends. */
export type StoreFactory = (t: Test, opts?: SchemaOptions) => (EntityStore & ConfigReader) | Promise<EntityStore & ConfigReader>

export interface StoreCase {
  name: string
  fn: (t: Test, make: StoreFactory) => Promise<void>
}

export const cases: StoreCase[] = []

export function storeCase (name: string, fn: StoreCase['fn']): void {
  cases.push({ name, fn })
}
