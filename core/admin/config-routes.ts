// Kong's /config (kong/api/routes/config.lua): in DB-less mode, POST replaces the whole
// configuration with a declarative one and GET exports it. With a database both answer
// Kong's 400, since single-entity writes are the way to change that configuration.

import type { Config } from '../config/index.js'
import type { Logger } from '../log.js'
import { DbError } from '../errors.js'
import type { ConfigReader, EntityStore } from '../store/index.js'
import { DeclarativeError } from '../declarative/errors.js'
import { configHash } from '../declarative/parse.js'
import { parseAndLoad } from '../declarative/dbless.js'
import { exportDeclarative } from '../declarative/export.js'
import { join } from 'node:path'
import { loadOffThread } from '../declarative/offthread.js'
import type { PluginRegistry } from '../runtime/registry.js'
import { sharedDictSizes } from '../shm/sizes.js'
import { STORE_FILE } from '../store/index.js'
import { HttpError } from './http-error.js'
import type { RouteTable } from './route-table.js'

/** A declarative file is a whole configuration: larger than the Admin API's other bodies. */
export const CONFIG_BODY_LIMIT = 512 * 1024 * 1024
const EMPTY_HASH = '0'.repeat(32)

const truthy = (v: unknown): boolean => typeof v === 'string' && /^(?:true|1|on|yes)$/i.test(v)

/** The hash `/status` shows: that of the last configuration loaded, 32 zeros before any. */
export function configurationHash (store: ConfigReader): string {
  return store.declarativeHash() ?? EMPTY_HASH
}

/**
 * One load at a time per store: Kong answers a second POST while one is loading with 429
 * and a Retry-After of at most 10 s (kong/db/declarative/import.lua).
 * Kept per store so that several Admin listeners of one process share it.
 */
const loading = new WeakSet<object>()

/**
 * From this size on a configuration is loaded in a thread of its own. Below it, parsing and
 * writing take less than the thread's start (about a second: it loads the modules and
 * plugins), so the proxy pauses less by doing it here: 1 MB is some 10,000 consumers with
 * keys, a few hundred milliseconds.
 */
const OFF_THREAD_BYTES = 1024 * 1024

/**
 * Loads a configuration whole: a large one in a thread of its own when the plugins can be
 * loaded there by name (offthread.ts), so that this thread's proxy keeps serving; else here.
 */
async function load (input: string | Record<string, unknown>, store: EntityStore & ConfigReader, config: Config, plugins: PluginRegistry, log: Logger): Promise<string> {
  const size = typeof input === 'string' ? input.length : JSON.stringify(input).length
  if (plugins.loadedByName !== undefined && size >= OFF_THREAD_BYTES) {
    log.info({ bytes: size }, 'POST /config: loading in a thread of its own')
    return await loadOffThread(store, {
      storePath: join(config.prefix, STORE_FILE),
      plugins: plugins.loadedByName,
      cwd: process.cwd(),
      sharedDicts: Object.keys(sharedDictSizes(config)),
      input,
    })
  }
  return await parseAndLoad(store, input)
}

export function registerConfigRoutes (table: RouteTable, store: EntityStore & ConfigReader, config: Config, plugins: PluginRegistry, log: Logger): void {
  const dbless = config.database === 'off'
  const onlyDbless = (): HttpError => new HttpError(400, 'this endpoint is only available when Kong is configured to not use a database')
  const tags = ['declarative configuration']

  table.add('POST', '/config', { summary: 'Replace the whole configuration with a declarative one (DB-less mode)', response: 'object', status: 201, tags }, async (req, reply) => {
    if (!dbless) throw onlyDbless()
    const query = req.query
    const body = req.body as unknown
    // Where the configuration is, in Kong's order: the body itself, its `config` field (a
    // file's text), the raw body.
    let input: string | Record<string, unknown>
    if (typeof body === 'object' && body !== null && !Array.isArray(body) && '_format_version' in body) input = body as Record<string, unknown>
    else if (typeof body === 'object' && body !== null && typeof (body as Record<string, unknown>).config === 'string') input = (body as Record<string, string>).config!
    else if (typeof body === 'string' && body !== '') input = body
    else if (typeof body === 'object' && body !== null && !Array.isArray(body) && Object.keys(body).length > 0) input = body as Record<string, unknown>
    else throw new HttpError(400, 'expected a declarative configuration')

    if (query.check_hash === '1' && typeof input === 'string' && configHash(input) === store.declarativeHash()) {
      return reply.code(304).send()
    }
    if (loading.has(store)) {
      return reply.code(429).header('Retry-After', '10').send({ message: 'Currently loading previous configuration' })
    }
    loading.add(store)
    try {
      // Kong answers with the flattened entities, as stored.
      const body = await load(input, store, config, plugins, log)
      return reply.code(201).type('application/json; charset=utf-8').send(body)
    } catch (err) {
      if (DeclarativeError.is(err)) return reply.code(400).send(err.body(truthy(query.flatten_errors)))
      // What only the load can find (a plugin's protocols against its route's): the same 400.
      if (DbError.is(err) && err.status === 400) return reply.code(400).send(new DeclarativeError({ error: err.message }).body(truthy(query.flatten_errors)))
      throw err
    } finally {
      loading.delete(store)
    }
  }, { bodyLimit: CONFIG_BODY_LIMIT })

  table.add('GET', '/config', { summary: 'The whole configuration in Kong\'s declarative export format (DB-less mode)', response: 'object', tags }, async () => {
    if (!dbless) throw onlyDbless()
    return { config: exportDeclarative(store) }
  })
}
