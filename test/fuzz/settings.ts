// Shared fast-check settings for the fuzz suite. `npm test` runs each property with a
// fixed seed, so a failure replays the same way in CI; `npm run fuzz` (TOLLGATE_FUZZ=long)
// runs ten times as many cases from a random seed, which it prints.
import fc from 'fast-check'

const long = process.env.TOLLGATE_FUZZ === 'long'
const seedFromEnv = process.env.TOLLGATE_FUZZ_SEED === undefined ? undefined : Number(process.env.TOLLGATE_FUZZ_SEED)
export const SEED = seedFromEnv ?? (long ? Math.floor(Math.random() * 2 ** 31) : 20261202)
if (long || seedFromEnv !== undefined) process.stderr.write(`fuzz seed ${SEED} (TOLLGATE_FUZZ_SEED=${SEED} replays it)\n`)

/** fast-check parameters for a property worth `runs` cases in `npm test`. */
export function params (runs: number): fc.Parameters<unknown> {
  return { seed: SEED, numRuns: long ? runs * 10 : runs, endOnFailure: true }
}
