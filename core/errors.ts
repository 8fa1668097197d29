// One table of the errors Tollgate raises on purpose. Entity errors mirror Kong's
// `kong/db/errors.lua`: the numeric codes and names are part of the Admin API contract,
// since clients and Kong's own tooling read them.

export type FieldErrors = { [field: string]: FieldError }
export type FieldError = string | string[] | FieldErrors | (string | FieldErrors | undefined | null)[]

/** Kong's error codes, `kong/db/errors.lua`. */
export const ErrorCodes = {
  INVALID_PRIMARY_KEY: 1,
  SCHEMA_VIOLATION: 2,
  PRIMARY_KEY_VIOLATION: 3,
  FOREIGN_KEY_VIOLATION: 4,
  UNIQUE_VIOLATION: 5,
  NOT_FOUND: 6,
  INVALID_OFFSET: 7,
  DATABASE_ERROR: 8,
  INVALID_SIZE: 9,
  INVALID_UNIQUE: 10,
  INVALID_OPTIONS: 11,
  OPERATION_UNSUPPORTED: 12,
  FOREIGN_KEYS_UNRESOLVED: 13,
  REFERENCED_BY_OTHERS: 19,
} as const

const names: Record<number, string> = {
  1: 'invalid primary key',
  2: 'schema violation',
  3: 'primary key violation',
  4: 'foreign key violation',
  5: 'unique constraint violation',
  6: 'not found',
  7: 'invalid offset',
  8: 'database error',
  9: 'invalid size',
  10: 'invalid unique',
  11: 'invalid options',
  12: 'operation unsupported',
  13: 'foreign keys unresolved',
  19: 'referenced by others',
}

// HTTP mapping from Kong's `kong/api/endpoints.lua`.
const statuses: Record<number, number> = { 5: 409, 6: 404, 8: 500, 12: 405 }

const kDbError = Symbol.for('tollgate.db-error')

/** An entity-store error in Kong's shape: `{ code, name, message, fields }`. */
export class DbError extends Error {
  readonly code: number
  readonly kongName: string
  readonly fields: FieldErrors | undefined
  readonly status: number
  readonly [kDbError] = true

  constructor (code: number, message: string, fields?: FieldErrors, name?: string) {
    super(message)
    this.code = code
    this.kongName = name ?? names[code] ?? 'unknown error'
    this.fields = fields
    this.status = statuses[code] ?? 400
  }

  // Recognised by marker, not prototype, so errors survive a second copy of the module
  // (a plugin bundling its own SDK) the way undici's errors do.
  static is (err: unknown): err is DbError {
    return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[kDbError] === true
  }

  toJSON (): Record<string, unknown> {
    const body: Record<string, unknown> = { code: this.code, name: this.kongName, message: this.message }
    // Kong names the detail `options` for invalid-option errors, `fields` elsewhere.
    if (this.fields !== undefined) body[this.code === ErrorCodes.INVALID_OPTIONS ? 'options' : 'fields'] = this.fields
    return body
  }
}

/** Renders a value the way Kong's error messages print Lua tables: `{id="x",name=null}`. */
export function luaTable (value: unknown): string {
  if (value === null || value === undefined) return 'null'
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value !== 'object') return String(value)
  if (Array.isArray(value)) return `{${value.map(luaTable).join(',')}}`
  const keys = Object.keys(value).sort()
  return `{${keys.map((k) => `${k}=${luaTable((value as Record<string, unknown>)[k])}`).join(',')}}`
}

/** Flattens nested field errors into Kong's one-line summary, entity checks first. */
export function summarize (fields: FieldErrors): string[] {
  const out: string[] = []
  const entity = fields['@entity']
  if (Array.isArray(entity)) for (const e of entity) if (typeof e === 'string') out.push(e)
  const walk = (prefix: string, err: FieldError | undefined | null): void => {
    if (err === undefined || err === null) return
    if (typeof err === 'string') {
      out.push(`${prefix}: ${err}`)
    } else if (Array.isArray(err)) {
      err.forEach((e, i) => walk(`${prefix}.${i + 1}`, e))
    } else {
      for (const k of Object.keys(err).sort()) {
        if (k === '@entity') {
          const list = err[k]
          if (Array.isArray(list)) for (const e of list) if (typeof e === 'string') out.push(`${prefix}: ${e}`)
        } else {
          walk(`${prefix}.${k}`, err[k])
        }
      }
    }
  }
  for (const k of Object.keys(fields).sort()) if (k !== '@entity') walk(k, fields[k])
  return out
}

export const Errors = {
  schemaViolation (fields: FieldErrors): DbError {
    const all = summarize(fields)
    const message = all.length === 1
      ? `schema violation (${all[0]})`
      : `${all.length} schema violations (${all.join('; ')})`
    return new DbError(ErrorCodes.SCHEMA_VIOLATION, message, fields)
  },
  primaryKeyViolation (pk: Record<string, unknown>): DbError {
    return new DbError(ErrorCodes.PRIMARY_KEY_VIOLATION, `primary key violation on key '${luaTable(pk)}'`, pk as FieldErrors)
  },
  foreignKeyViolation (field: string, ref: Record<string, unknown>, parent: string): DbError {
    return new DbError(ErrorCodes.FOREIGN_KEY_VIOLATION,
      `the foreign key '${luaTable(ref)}' does not reference an existing '${parent}' entity.`,
      { [field]: ref as FieldErrors })
  },
  referencedByOthers (child: string, parent: string): DbError {
    return new DbError(ErrorCodes.FOREIGN_KEY_VIOLATION,
      `an existing '${child}' entity references this '${parent}' entity`,
      { '@referenced_by': child })
  },
  foreignKeysUnresolved (field: string, by: string, ref: Record<string, unknown>, parent: string): DbError {
    const detail = `the foreign key cannot be resolved with '${luaTable(ref)}' for an existing '${parent}' entity`
    return new DbError(ErrorCodes.FOREIGN_KEYS_UNRESOLVED, `foreign key unresolved (${field}.${by}: ${detail})`,
      { [field]: { [by]: detail } })
  },
  uniqueViolation (key: Record<string, unknown>): DbError {
    return new DbError(ErrorCodes.UNIQUE_VIOLATION, `UNIQUE violation detected on '${luaTable(key)}'`, key as FieldErrors)
  },
  /** A value used as a unique key (`/upstreams/{name}`) that the field would refuse: Kong's `invalid unique <field>`. */
  invalidUnique (field: string, message: string): DbError {
    return new DbError(ErrorCodes.INVALID_UNIQUE, message, undefined, `invalid unique ${field}`)
  },
  notFound (pk: Record<string, unknown>): DbError {
    const [field] = Object.keys(pk)
    const message = field === 'id'
      ? `could not find the entity with primary key '${luaTable(pk)}'`
      : `could not find the entity with '${luaTable(pk)}'`
    return new DbError(ErrorCodes.NOT_FOUND, message, pk as FieldErrors)
  },
  invalidOffset (token: string, why: string): DbError {
    return new DbError(ErrorCodes.INVALID_OFFSET, `'${token}' is not a valid offset: ${why}`)
  },
  invalidSize (message: string): DbError {
    return new DbError(ErrorCodes.INVALID_SIZE, message)
  },
  invalidOptions (fields: FieldErrors): DbError {
    const all = summarize(fields)
    const message = all.length === 1 ? `invalid option (${all[0]})` : `${all.length} option violations (${all.join('; ')})`
    return new DbError(ErrorCodes.INVALID_OPTIONS, message, fields)
  },
}

/** A configuration problem found at boot: the CLI prints the message alone and exits 1. */
export class ConfigError extends Error {
  readonly key: string | undefined
  constructor (message: string, key?: string) {
    super(message)
    this.name = 'ConfigError'
    this.key = key
  }
}

/**
 * The shared database (database = postgres) cannot be reached or did not answer in time.
 * The Admin API answers 503 with the message; the proxy never sees it, as it reads the
 * node's local copy.
 */
export class DatabaseUnavailableError extends Error {
  readonly statusCode = 503
  constructor (cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause)
    super(`the database is unavailable (${why}): writes are refused until it is back; the proxy keeps serving this node's copy of the configuration`)
    this.name = 'DatabaseUnavailableError'
  }
}
