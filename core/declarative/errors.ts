// The errors of a declarative configuration, in Kong's three shapes
// (kong/db/errors.lua declarative_config and declarative_config_flattened,
// kong/cmd/utils/... pretty_print_error):
// - nested: `fields` mirrors the input (entity arrays by position, `null` where an entry is
//   fine; reference and uniqueness errors keyed as Kong keys them), and the message renders
//   it as a Lua table literal the way Penlight's pretty.write does;
// - flattened (`?flatten_errors=1`): one entry per failing entity, with its input, id,
//   name, tags and a list of field and entity errors;
// - the CLI's indented text.

/** A nested error value: a message, a list, or a record of them (JSON-shaped). */
export type ErrorTree = string | null | ErrorTree[] | { [k: string]: ErrorTree }

export interface FlatEntityError {
  entity_type: string
  entity: Record<string, unknown>
  entity_id?: string
  entity_name?: string
  entity_tags?: string[]
  errors: Array<{ type: 'field', field: string, message: string } | { type: 'entity', message: string }>
}

const kDeclarativeError = Symbol.for('tollgate.declarative-error')

export class DeclarativeError extends Error {
  /** Kong's code and name for an invalid declarative configuration. */
  readonly code = 14
  readonly kongName = 'invalid declarative configuration'
  readonly fields: Record<string, ErrorTree>
  /** Every error attributed to an entity, for `?flatten_errors=1`. */
  readonly flattenedErrors: FlatEntityError[]
  /** What is left in `fields` once the entities' errors move to `flattenedErrors`. */
  readonly unattributed: Record<string, ErrorTree>
  readonly [kDeclarativeError] = true

  constructor (fields: Record<string, ErrorTree>, flattened: FlatEntityError[] = [], unattributed?: Record<string, ErrorTree>) {
    super(`declarative config is invalid: ${luaPretty(fields)}`)
    this.fields = fields
    this.flattenedErrors = flattened
    this.unattributed = unattributed ?? (flattened.length === 0 ? fields : {})
  }

  static is (err: unknown): err is DeclarativeError {
    return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[kDeclarativeError] === true
  }

  /** The 400 body of POST /config. */
  body (flatten: boolean): Record<string, unknown> {
    if (!flatten) return { code: this.code, name: this.kongName, message: this.message, fields: this.fields }
    return {
      code: this.code,
      name: this.kongName,
      message: `declarative config is invalid: ${luaPretty(this.unattributed)}`,
      fields: this.unattributed,
      flattened_errors: this.flattenedErrors,
    }
  }

  /** The CLI's text: `Failed parsing:` and the errors, indented by nesting. */
  pretty (): string {
    return `Failed parsing:\n${prettyLines(this.fields, '').join('\n')}`
  }
}

/** A parse error of the text itself (not YAML or JSON, not an object). */
export function parseFailure (why: string): DeclarativeError {
  return new DeclarativeError({ error: `failed parsing declarative configuration: ${why}` })
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * A value as Penlight's `pretty.write(t, "")` prints it: `{services={{host="required field
 * missing"}}}`, lists in order, a list with holes by index (`{[2]="…"}`), keys that are not
 * identifiers bracketed (`["@entity"]=`).
 */
export function luaPretty (v: unknown): string {
  if (v === null || v === undefined) return 'nil'
  if (typeof v === 'string') return JSON.stringify(v)
  if (typeof v !== 'object') return String(v)
  if (Array.isArray(v)) {
    if (!v.includes(null) && !v.includes(undefined)) return `{${v.map(luaPretty).join(',')}}`
    const parts: string[] = []
    v.forEach((e, i) => { if (e !== null && e !== undefined) parts.push(`[${i + 1}]=${luaPretty(e)}`) })
    return `{${parts.join(',')}}`
  }
  const parts = Object.entries(v as Record<string, unknown>).map(([k, e]) => `${IDENT.test(k) ? k : `[${JSON.stringify(k)}]`}=${luaPretty(e)}`)
  return `{${parts.join(',')}}`
}

/** Kong's CLI rendering: `in '<key>': <msg>`, `- in entry <n> of '<key>':`, two spaces a level. */
function prettyLines (tree: ErrorTree, indent: string, parentKey?: string): string[] {
  const out: string[] = []
  if (tree === null) return out
  if (typeof tree === 'string') return [`${indent}${tree}`]
  if (Array.isArray(tree)) {
    tree.forEach((e, i) => {
      if (e === null) return
      if (typeof e === 'string') out.push(`${indent}- in entry ${i + 1} of '${parentKey ?? ''}': ${e}`)
      else {
        out.push(`${indent}- in entry ${i + 1} of '${parentKey ?? ''}':`)
        out.push(...prettyLines(e, `${indent}  `, parentKey))
      }
    })
    return out
  }
  for (const [k, e] of Object.entries(tree)) {
    if (e === null) continue
    if (typeof e === 'string') out.push(`${indent}in '${k}': ${e}`)
    else {
      out.push(`${indent}in '${k}':`)
      out.push(...prettyLines(e, `${indent}  `, k))
    }
  }
  return out
}
