// `tollgate migrations bootstrap|up|status|reset`: the shared database's schema, as Kong's
// `kong migrations` (kong/cmd/migrations.lua). Exit codes of `status` follow Kong's
// `migrations list`: 0 up to date, 3 needs bootstrapping, 5 new migrations to run.

import { parseArgs } from 'node:util'
import pg from 'pg'
import { loadConfig } from '../config/index.js'
import { ConfigError } from '../errors.js'
import { clientConfig, describeDatabase, pgSettings } from '../store/pg/connection.js'
import { NEEDS_BOOTSTRAP, bootstrap, reset, schemaState, up } from '../store/pg/migrations.js'

const USAGE = `Usage: tollgate migrations <command> [options]

Commands (database = postgres):
  bootstrap   Create Tollgate's tables in an empty database
  up          Run the migrations this version has and the database has not
  status      List executed and pending migrations (exit 0 up to date, 3 needs
              bootstrapping, 5 pending migrations)
  reset       Drop Tollgate's tables: every entity is lost (needs --yes)

Options:
  -c, --conf FILE     Configuration file (kong.conf syntax); default: $TOLLGATE_CONF
  -p, --prefix DIR    Prefix directory
  -y, --yes           Confirm reset
`

/** Runs one `migrations` command; resolves to the exit code. */
export async function migrationsCommand (args: string[], out: (s: string) => void = (s) => process.stdout.write(s), err: (s: string) => void = (s) => process.stderr.write(s)): Promise<number> {
  let values: { conf?: string, prefix?: string, yes?: boolean, help?: boolean }
  let positionals: string[]
  try {
    ({ values, positionals } = parseArgs({
      args,
      options: { conf: { type: 'string', short: 'c' }, prefix: { type: 'string', short: 'p' }, yes: { type: 'boolean', short: 'y' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    }))
  } catch (e) {
    err(`Error: ${(e as Error).message}\n\n${USAGE}`)
    return 1
  }
  const [command, ...extra] = positionals
  if (values.help === true || command === 'help') { out(USAGE); return 0 }
  if (command === undefined || !['bootstrap', 'up', 'status', 'list', 'reset'].includes(command) || extra.length > 0) {
    err(`Error: ${command === undefined ? 'no migrations command given' : extra.length > 0 ? `unexpected argument '${extra[0] as string}'` : `unknown migrations command '${command}'`}\n\n${USAGE}`)
    return 1
  }
  const config = loadConfig({ conf: values.conf, overrides: { prefix: values.prefix } })
  if (config.database !== 'postgres') throw new ConfigError(`'tollgate migrations' needs database = postgres (it is '${config.database}')`, 'database')
  if (command === 'reset' && values.yes !== true) {
    err('Error: reset drops every table of Tollgate and all the configuration in them; run it again with --yes to confirm\n')
    return 1
  }
  const settings = pgSettings(config)
  const client = new pg.Client(clientConfig(settings, 'tollgate migrations'))
  client.on('error', () => {})
  try {
    await client.connect()
  } catch (e) {
    throw new ConfigError(`cannot connect to ${describeDatabase(settings)}: ${(e as Error).message}`, 'pg_host')
  }
  try {
    switch (command) {
      case 'bootstrap': {
        out('Bootstrapping database...\n')
        const ran = await bootstrap(client, settings.schema)
        if (ran.length === 0) { out('Database already bootstrapped\n'); return 0 }
        for (const m of ran) out(`migrated ${m}\n`)
        out(`${ran.length} migration${ran.length === 1 ? '' : 's'} processed\nDatabase is up-to-date\n`)
        return 0
      }
      case 'up': {
        let ran: string[]
        try {
          ran = await up(client)
        } catch (e) {
          if ((e as Error).message === NEEDS_BOOTSTRAP) { err(`Error: ${NEEDS_BOOTSTRAP}\n`); return 1 }
          throw e
        }
        if (ran.length === 0) { out('Database is already up-to-date\n'); return 0 }
        for (const m of ran) out(`migrated ${m}\n`)
        out(`${ran.length} migration${ran.length === 1 ? '' : 's'} processed\nDatabase is up-to-date\n`)
        return 0
      }
      case 'reset':
        out(await reset(client) ? 'Database reset\n' : 'Database was not bootstrapped: nothing to reset\n')
        return 0
      default: { // status, list
        const state = await schemaState(client)
        if (!state.bootstrapped) { out(`${NEEDS_BOOTSTRAP}\n`); return 3 }
        out(`Executed migrations:\n${state.executed.map((m) => `  ${m}`).join('\n')}\n`)
        if (state.pending.length > 0) {
          out(`\nNew migrations available:\n${state.pending.map((m) => `  ${m}`).join('\n')}\n\nRun 'tollgate migrations up' to proceed\n`)
          return 5
        }
        out('\nDatabase is up-to-date\n')
        return 0
      }
    }
  } catch (e) {
    throw new ConfigError(`${describeDatabase(settings)}: ${(e as Error).message}`)
  } finally {
    await client.end().catch(() => {})
  }
}
