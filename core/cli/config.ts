// `tollgate config <command>`: declarative configuration files and the store, as Kong's
// `kong config` (kong/cmd/config.lua: init, parse, db_import, db_export) plus decK's diff
// and sync (go-database-reconciler). Commands that read or write the store open it under
// the prefix, as the gateway does; a gateway running on the same prefix shares the file.
//
// Exit codes: 0 done (diff: no differences), 1 an error (printed as `Error: ...`, never a
// stack trace for a mistake in the input), 2 diff found differences (decK's
// --non-zero-exit-code, which is always on here).

import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { useNodeSecrets } from '../secrets.js'
import { loadConfig, preparePrefix, type Config } from '../config/index.js'
import { ConfigError, DatabaseUnavailableError, DbError, ErrorCodes } from '../errors.js'
import { createLogger } from '../log.js'
import { checkEnv } from '../shm/sizes.js'
import { loadPlugins } from '../runtime/loader.js'
import type { PluginRegistry } from '../runtime/registry.js'
import { LmdbStore, STORE_FILE } from '../store/index.js'
import { ApplyError, DiffError, applyPlan, diffDeclarative, formatPlan, importDeclarative, planJson } from '../declarative/diff.js'
import { DeclarativeError } from '../declarative/errors.js'
import { exportChunks } from '../declarative/export.js'
import { parseDeclarative } from '../declarative/parse.js'
import type { DeclarativeConfig } from '../declarative/types.js'
import { SAMPLE_KONG_YML } from './sample-kong-yml.js'

const DEFAULT_FILE = 'kong.yml'

export const CONFIG_USAGE = `Usage: tollgate config COMMAND [OPTIONS]

Declarative configuration (Kong's kong.yml format).

Commands:
  init [FILE]           Write a commented example file (default ./${DEFAULT_FILE})
  parse FILE            Check a file: parse and validate it, load nothing
  db_import FILE        Upsert every entity of the file into the store, by id, in one
                        transaction; entities the file does not list are kept
  db_export [FILE]      Write the store's configuration to FILE (default ./${DEFAULT_FILE};
                        - for standard output); never overwrites a file
  diff FILE             Show what sync would change; exit 0 when nothing, 2 when something
  sync FILE             Make the store hold exactly the file (creates, updates, deletes),
                        in one transaction

Options:
  -c, --conf FILE       Configuration file (kong.conf syntax); default: $TOLLGATE_CONF
  -p, --prefix DIR      Prefix directory; overrides the prefix setting
  --select-tag TAG      diff, sync: only entities carrying every such tag are compared,
                        and the file's entities get the tags (repeatable)
  --json-output         diff, sync: print the changes as decK's JSON
`

/** A mistake in the command line: printed with the usage. */
class UsageError extends Error {}
/** A failure to report as `Error: <message>` and exit 1. */
class Failure extends Error {}

interface Options {
  conf?: string
  prefix?: string
  selectTags: string[]
  json: boolean
}

interface Io { out: (s: string) => void, err: (s: string) => void }

const COMMANDS = ['init', 'parse', 'db_import', 'db_export', 'diff', 'sync'] as const
type Command = typeof COMMANDS[number]

function parseCommandLine (args: string[]): { command: Command, file: string | undefined, opts: Options } {
  let parsed
  try {
    parsed = parseArgs({
      args,
      options: {
        conf: { type: 'string', short: 'c' },
        prefix: { type: 'string', short: 'p' },
        'select-tag': { type: 'string', multiple: true },
        'json-output': { type: 'boolean' },
      },
      strict: true,
      allowPositionals: true,
    })
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const [given, file, ...extra] = parsed.positionals
  if (given === undefined) throw new UsageError('no command given')
  // Kong accepts db-import as well as db_import.
  const command = given.replace(/-/g, '_') as Command
  if (!COMMANDS.includes(command)) throw new UsageError(`unknown command '${given}'`)
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0] as string}'`)
  const v = parsed.values
  const selectTags = v['select-tag'] ?? []
  const json = v['json-output'] === true
  if ((selectTags.length > 0 || json) && command !== 'diff' && command !== 'sync') {
    throw new UsageError(`--${selectTags.length > 0 ? 'select-tag' : 'json-output'} is for diff and sync only`)
  }
  if (file === undefined && ['parse', 'db_import', 'diff', 'sync'].includes(command)) {
    throw new UsageError(`expected a declarative configuration file: tollgate config ${command} FILE`)
  }
  return { command, file, opts: { conf: v.conf, prefix: v.prefix, selectTags, json } }
}

/** Kong's refusal of database commands in DB-less mode, with Tollgate's name. */
function refuseDbless (config: Config, command: Command): void {
  if (config.database !== 'off') return
  if (command === 'db_export') throw new Failure("'tollgate config db_export' only works with a database.")
  throw new Failure(`'tollgate config ${command}' only works with a database.\nWhen using database=off, reload your declarative configuration\nusing the /config endpoint.`)
}

/** The node's plugins, as the gateway loads them: they define plugin entities and config schemas. */
async function nodePlugins (config: Config): Promise<PluginRegistry> {
  const plugins = await loadPlugins(config.plugins, process.cwd(), [], config.isolated_plugins)
  plugins.useEnv(checkEnv(config))
  // Keys a file gives in the clear are stored as the gateway would (keyauth_hash_keys).
  if (config.keyauth_hash_keys) preparePrefix(config.prefix)
  useNodeSecrets(config)
  return plugins
}

function readDeclarative (file: string, store: LmdbStore): DeclarativeConfig {
  const path = resolve(file)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new Failure(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  return parseDeclarative(text, store, { filename: path })
}

/**
 * Runs `fn` with the store under the prefix, closed afterwards. With database = postgres,
 * a throwaway copy of the shared database instead: its writes go to the database, which
 * every node (this prefix's too) then follows; the prefix's copy belongs to its gateway.
 */
async function withStore<R> (config: Config, plugins: PluginRegistry, fn: (store: LmdbStore) => Promise<R> | R): Promise<R> {
  if (config.database === 'postgres') return withDatabaseCopy(config, plugins, fn)
  preparePrefix(config.prefix)
  // The store as the gateway opens it (gateway.ts openStore), without loading the gateway's
  // modules: the CLI does not purge expired rows, a running writer does.
  const store = new LmdbStore({ path: join(config.prefix, STORE_FILE), plugins, entities: plugins.entities(), ttlPurgeInterval: 0 })
  try {
    return await fn(store)
  } finally {
    await store.close()
  }
}

async function withDatabaseCopy<R> (config: Config, plugins: PluginRegistry, fn: (store: LmdbStore) => Promise<R> | R): Promise<R> {
  const [{ PgReplica }, { pgSettings, describeDatabase }] = await Promise.all([import('../store/pg/replica.js'), import('../store/pg/settings.js')])
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-copy-'))
  const replica = new PgReplica(pgSettings(config), { log: createLogger('error'), listen: false, pollMs: 3_600_000 })
  const store = new LmdbStore({ path: join(dir, 'copy.mdb'), plugins, entities: plugins.entities(), ttlPurgeInterval: 0, writeThrough: replica })
  replica.attach(store)
  try {
    await replica.start()
    const status = replica.status()
    if (!status.reachable) throw new Failure(`cannot reach the database ${describeDatabase(pgSettings(config))}: ${status.error ?? 'unknown error'}`)
    return await fn(store)
  } finally {
    await replica.close()
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * Runs `fn` with a throwaway store: parsing needs the node's entity definitions and
 * plugin schemas, not its data, and `parse` should leave no trace under the prefix.
 */
async function withScratchStore<R> (plugins: PluginRegistry, fn: (store: LmdbStore) => R): Promise<R> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-parse-'))
  const store = new LmdbStore({ path: join(dir, 'scratch.mdb'), plugins, entities: plugins.entities(), ttlPurgeInterval: 0 })
  try {
    return fn(store)
  } finally {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

function init (file: string | undefined, io: Io): number {
  const path = resolve(file ?? DEFAULT_FILE)
  // Kong's words (kong/cmd/config.lua generate_init).
  if (existsSync(path)) throw new Failure(`${path} already exists.\nWill not overwrite it.`)
  writeExclusive(path, [SAMPLE_KONG_YML])
  io.out(`wrote ${path}\n`)
  return 0
}

/** Writes a new file from pieces; refuses, as Kong does, to replace an existing one. */
function writeExclusive (path: string, pieces: Iterable<string>): void {
  let fd: number
  try {
    fd = openSync(path, 'wx')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') throw new Failure(`${path} already exists. Will not overwrite it.`)
    throw new Failure(`cannot write ${path}: ${code ?? (err as Error).message}`)
  }
  try {
    // Synchronous writes: the export reads the store between pieces, and one snapshot
    // holds only while nothing awaits.
    for (const piece of pieces) writeSync(fd, piece)
  } catch (err) {
    closeSync(fd)
    rmSync(path, { force: true })
    throw err
  }
  closeSync(fd)
}

async function dbExport (config: Config, file: string | undefined, io: Io): Promise<number> {
  refuseDbless(config, 'db_export')
  const plugins = await nodePlugins(config)
  return withStore(config, plugins, (store) => {
    store.refresh()
    if (file === '-') {
      let text = ''
      for (const piece of exportChunks(store)) text += piece
      io.out(text)
      return 0
    }
    const path = resolve(file ?? DEFAULT_FILE)
    if (existsSync(path)) throw new Failure(`${path} already exists. Will not overwrite it.`)
    writeExclusive(path, exportChunks(store))
    return 0
  })
}

async function parse (config: Config, file: string, io: Io): Promise<number> {
  const plugins = await nodePlugins(config)
  await withScratchStore(plugins, (store) => readDeclarative(file, store))
  io.out('parse successful\n')
  return 0
}

async function dbImport (config: Config, file: string, io: Io): Promise<number> {
  refuseDbless(config, 'db_import')
  const plugins = await nodePlugins(config)
  return withStore(config, plugins, async (store) => {
    const parsed = readDeclarative(file, store)
    io.out('parse successful, beginning import\n')
    try {
      await importDeclarative(store, parsed)
    } catch (err) {
      if (!(err instanceof ApplyError || DbError.is(err) || err instanceof DiffError)) throw err
      const cause = err instanceof ApplyError ? err.cause : err
      // Kong/kong#12288: what has no id in the file gets a new one at every import.
      const hint = DbError.is(cause) && cause.code === ErrorCodes.UNIQUE_VIOLATION
        ? '\n(an entity without an id in the file gets a new one at every import: give it an id, or use `tollgate config sync`)'
        : ''
      throw new Failure(`Failed importing:\n${err.message}${hint}`)
    }
    io.out('import successful\n')
    return 0
  })
}

async function diffOrSync (config: Config, command: 'diff' | 'sync', file: string, opts: Options, io: Io): Promise<number> {
  if (command === 'sync') refuseDbless(config, 'sync')
  const plugins = await nodePlugins(config)
  return withStore(config, plugins, async (store) => {
    store.refresh()
    const parsed = readDeclarative(file, store)
    const plan = diffDeclarative(store, parsed, { selectTags: opts.selectTags })
    if (command === 'sync') {
      try {
        await applyPlan(store, plan)
      } catch (err) {
        if (!(err instanceof ApplyError)) throw err
        const message = `sync failed, nothing was changed:\n${err.message}`
        if (opts.json) io.out(`${JSON.stringify(planJson(store, plan, [message]), null, 2)}\n`)
        throw new Failure(message)
      }
    }
    io.out(opts.json ? `${JSON.stringify(planJson(store, plan), null, 2)}\n` : formatPlan(store, plan))
    return command === 'diff' && plan.changes.length > 0 ? 2 : 0
  })
}

/** `tollgate config ...`: resolves to the exit code. */
export async function configCommand (args: string[], io: Io = {
  out: (s) => { process.stdout.write(s) },
  err: (s) => { process.stderr.write(s) },
}): Promise<number> {
  if (args.length === 0) { io.err(CONFIG_USAGE); return 1 }
  if (args[0] === '--help' || args[0] === '-h' || args[0] === 'help') { io.out(CONFIG_USAGE); return 0 }
  try {
    const { command, file, opts } = parseCommandLine(args)
    if (command === 'init') return init(file, io)
    const config = loadConfig({ conf: opts.conf, overrides: { prefix: opts.prefix } })
    switch (command) {
      case 'parse': return await parse(config, file as string, io)
      case 'db_import': return await dbImport(config, file as string, io)
      case 'db_export': return await dbExport(config, file, io)
      case 'diff':
      case 'sync': return await diffOrSync(config, command, file as string, opts, io)
    }
  } catch (err) {
    if (err instanceof UsageError) { io.err(`Error: ${err.message}\n\n${CONFIG_USAGE}`); return 1 }
    if (DeclarativeError.is(err)) { io.err(`Error: ${err.pretty()}\n`); return 1 }
    if (err instanceof Failure || err instanceof ConfigError || err instanceof DiffError || err instanceof DatabaseUnavailableError) { io.err(`Error: ${err.message}\n`); return 1 }
    throw err
  }
}
