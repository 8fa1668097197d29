// DB-less mode (Kong's `database = off`): the configuration is loaded whole, from the
// declarative file at start or from POST /config, and the Admin API reads it but cannot
// change single entities. The store underneath is the same LMDB store; what changes is who
// may write to it.

import { readFileSync } from 'node:fs'
import type { Config } from '../config/index.js'
import { ConfigError, DbError, ErrorCodes, Errors } from '../errors.js'
import type { Logger } from '../log.js'
import type { ConfigReader, Entity, EntityStore, PrimaryKey } from '../store/index.js'
import { DeclarativeError } from './errors.js'
import { parseDeclarative } from './parse.js'
import type { DeclarativeConfig, ParseOptions } from './types.js'

function unsupported (message: string): DbError {
  return new DbError(ErrorCodes.OPERATION_UNSUPPORTED, message)
}

/** ` by 'name'` when a write names its row by a unique field, as Kong's messages say. */
function by (pk: PrimaryKey): string {
  const [field] = Object.keys(pk)
  return field === undefined || field === 'id' ? '' : ` by '${field}'`
}

/**
 * The store as the Admin API sees it in DB-less mode: reads as they are; each entity write
 * refused with Kong's 405 (kong/db/strategies/off), after the checks Kong's DAO makes
 * before it reaches the strategy, so a bad body is still a 400, a PATCH of a missing row a
 * 404 and a DELETE of one a 204.
 */
export function readOnlyStore<S extends EntityStore & ConfigReader> (store: S): S {
  const writes: Partial<EntityStore> = {
    insert: async (entity, input) => {
      store.validate(entity, input)
      throw unsupported(`cannot create '${entity}' entities when not using a database`)
    },
    upsert: async (entity, pk, input) => {
      const body = typeof input === 'object' && input !== null && !Array.isArray(input) && !('id' in pk) ? { ...input, ...pk } : input
      store.validate(entity, body)
      throw unsupported(`cannot create or update '${entity}' entities${by(pk)} when not using a database`)
    },
    update: async (entity, pk) => {
      if (store.find(entity, pk) === undefined) throw Errors.notFound(pk)
      throw unsupported(`cannot update '${entity}' entities${by(pk)} when not using a database`)
    },
    delete: async (entity, pk): Promise<Entity | undefined> => {
      if (store.find(entity, pk) === undefined) return undefined
      throw unsupported(`cannot remove '${entity}' entities${by(pk)} when not using a database`)
    },
    transaction: async () => { throw unsupported('cannot change entities one by one when not using a database') },
  }
  return new Proxy(store, {
    get (target, prop) {
      if (typeof prop === 'string' && Object.hasOwn(writes, prop)) return writes[prop as keyof EntityStore]
      const v = Reflect.get(target, prop) as unknown
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
    },
  })
}

/** Loads a parsed configuration as the node's whole configuration. */
export async function loadDeclarative (store: EntityStore, config: DeclarativeConfig): Promise<void> {
  await store.replaceAll(config.entities, { hash: config.hash, validated: true })
}

/**
 * POST /config's work where it runs (this thread, or load-thread.ts): parse, load, and
 * answer as Kong does, with every loaded entity as stored, by entity and id, as JSON text
 * (tens of MB for 100,000 consumers: made where the load ran, off the proxy's thread when
 * that is a thread of its own). Throws DeclarativeError or DbError.
 */
export async function parseAndLoad (store: EntityStore & ConfigReader, input: string | Record<string, unknown>, opts: ParseOptions = {}): Promise<string> {
  const parsed = parseDeclarative(input, store, opts)
  await loadDeclarative(store, parsed)
  store.refresh()
  const out: Record<string, Record<string, unknown>> = {}
  for (const [entity, rows] of parsed.entities) {
    const byId: Record<string, unknown> = {}
    for (const row of rows) byId[row.id] = store.get(entity, row.id)
    out[entity] = byId
  }
  return JSON.stringify(out)
}

/**
 * At start in DB-less mode: the configured file (or string) is parsed and loaded, and a
 * bad one stops the start with Kong's message. With neither, the configuration an earlier
 * POST /config left in the store stays, as Kong keeps its persisted LMDB config.
 */
export async function loadAtStart (config: Config, store: EntityStore & ConfigReader, log: Logger): Promise<void> {
  if (config.database !== 'off') return
  let text: string
  let filename: string | undefined
  let what: string
  if (config.declarative_config !== '') {
    filename = config.declarative_config
    what = `declarative config file ${filename}`
    try {
      text = readFileSync(filename, 'utf8')
    } catch (err) {
      throw new ConfigError(`error reading ${what}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'declarative_config')
    }
  } else if (config.declarative_config_string !== '') {
    text = config.declarative_config_string
    what = 'declarative_config_string'
  } else {
    if (store.declarativeHash() !== undefined) log.info('DB-less: serving the configuration persisted by the last POST /config')
    return
  }
  let parsed: DeclarativeConfig
  try {
    parsed = parseDeclarative(text, store, { filename })
  } catch (err) {
    if (!DeclarativeError.is(err)) throw err
    throw new ConfigError(`error parsing ${what}:\n${err.pretty()}`, filename === undefined ? 'declarative_config_string' : 'declarative_config')
  }
  try {
    await loadDeclarative(store, parsed)
  } catch (err) {
    if (!DbError.is(err)) throw err
    throw new ConfigError(`error loading ${what}: ${err.message}`, filename === undefined ? 'declarative_config_string' : 'declarative_config')
  }
  let count = 0
  for (const list of parsed.entities.values()) count += list.length
  log.info({ entities: count, hash: parsed.hash }, `DB-less: loaded ${what}`)
}
