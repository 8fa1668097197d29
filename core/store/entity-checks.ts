// Kong's `conditional` and `distinct` entity checks (kong/db/schema/init.lua,
// Schema.entity_checkers) as data: an entity lists them once, and the same list is both
// evaluated here and shown by /schemas/{entity}. As in Kong, both run even when fields are
// invalid (run_with_invalid_fields), every failed check adds its message under `@entity`,
// and a failed conditional's message for its then_field replaces that field's own error.

import Type, { type TObject, type TSchema } from 'typebox'
import type { FieldError, FieldErrors } from '../errors.js'
import { validateRecord } from './schema.js'

export type EntityCheck =
  | { conditional: { if_field: string, if_match: { match: string }, then_field: string, then_match: { required: true } | { one_of: string[] } } }
  | { distinct: string[] }

const quotedList = (names: string[]): string => names.map((n) => `'${n}'`).join(', ')

/** The field's own verdict on a value, as Kong's then_match inherits the field's type and validators. */
function fieldError (schema: TObject, field: string, value: unknown): FieldError | undefined {
  const fieldSchema = (schema.properties as Record<string, TSchema>)[field]
  if (fieldSchema === undefined) return undefined
  return validateRecord(Type.Object({ [field]: fieldSchema }), { [field]: value }, { partial: true }).errors?.[field]
}

/**
 * Runs `checks` over `value` (defaults filled; invalid fields as given). Returns the errors
 * they add, to be laid over the field errors, or undefined when all pass.
 */
export function runEntityChecks (checks: readonly EntityCheck[], schema: TObject, value: Record<string, unknown>): FieldErrors | undefined {
  const fields: FieldErrors = {}
  const entity: string[] = []
  for (const check of checks) {
    if ('conditional' in check) {
      const c = check.conditional
      const ifValue = value[c.if_field]
      // The if_field must hold a valid value matching the pattern (Kong validates it with
      // the field's own rules plus `match`), or the check does not apply.
      if (typeof ifValue !== 'string' || !new RegExp(c.if_match.match).test(ifValue) || fieldError(schema, c.if_field, ifValue) !== undefined) continue
      const thenValue = value[c.then_field] ?? null
      let err: FieldError | undefined
      if ('required' in c.then_match) {
        err = thenValue === null ? 'required field missing' : fieldError(schema, c.then_field, thenValue)
      } else if (thenValue !== null) {
        const allowed = c.then_match.one_of
        err = typeof thenValue !== 'string' ? 'expected a string' : allowed.includes(thenValue) ? undefined : `expected one of: ${allowed.join(', ')}`
      }
      if (err === undefined) continue
      fields[c.then_field] = err
      entity.push(`failed conditional validation given value of field '${c.if_field}'`)
    } else {
      const seen = new Set<unknown>()
      for (const name of check.distinct) {
        const v = value[name]
        if (v === null || v === undefined) continue
        if (seen.has(v)) { entity.push(`values of these fields must be distinct: ${quotedList(check.distinct)}`); break }
        seen.add(v)
      }
    }
  }
  if (entity.length > 0) fields['@entity'] = entity
  return Object.keys(fields).length > 0 ? fields : undefined
}

/** Field errors with entity-check errors laid over them, as Kong's errors table collects both. */
export function withCheckErrors (errors: FieldErrors, checks: FieldErrors | undefined): FieldErrors {
  if (checks === undefined) return errors
  const own = errors['@entity']
  const added = checks['@entity']
  const out: FieldErrors = { ...errors, ...checks }
  if (Array.isArray(own) && Array.isArray(added)) out['@entity'] = [...own, ...added] as FieldError
  return out
}
