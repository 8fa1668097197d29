// Phases as bit flags, after Kong's kong/pdk/private/phases.lua: every PDK function names
// the phases it may run in and checks the current one on each call.

export const Phase = {
  rewrite: 1,
  access: 2,
  header_filter: 4,
  body_filter: 8,
  log: 16,
} as const

export type PhaseName = keyof typeof Phase

const NAMES = Object.keys(Phase) as PhaseName[]

export function phaseName (bit: number): PhaseName | 'init' {
  return NAMES.find((n) => Phase[n] === bit) ?? 'init'
}

export function phaseList (mask: number): string {
  return NAMES.filter((n) => (Phase[n] & mask) !== 0).join(', ')
}

const kPhaseError = Symbol.for('tollgate.phase-error')

/** A PDK function called in a phase it does not support: a bug in the plugin. */
export class PhaseError extends Error {
  readonly [kPhaseError] = true
  constructor (fn: string, current: number, allowed: number) {
    super(`${fn} cannot be called in ${phaseName(current)} phase (only in: ${phaseList(allowed)})`)
    this.name = 'PhaseError'
  }
}

export const ALL = Phase.rewrite | Phase.access | Phase.header_filter | Phase.body_filter | Phase.log
export const REWRITE_ACCESS = Phase.rewrite | Phase.access
export const AFTER_ACCESS = Phase.access | Phase.header_filter | Phase.body_filter | Phase.log
export const RESPONSE = Phase.header_filter | Phase.body_filter | Phase.log
export const BEFORE_HEADERS = Phase.rewrite | Phase.access | Phase.header_filter
