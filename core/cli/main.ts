// `tollgate <command>`: the entry point of bin/tollgate.js. Errors a user can fix are
// printed as one line and exit 1; anything else is a bug and keeps its stack.

import { parseArgs } from 'node:util'
import { loadConfig } from '../config/index.js'
import { ConfigError } from '../errors.js'
import { startGateway } from '../gateway.js'
import { createLogger } from '../log.js'
import { VERSION } from '../meta.js'

const USAGE = `Usage: tollgate <command> [options]

Commands:
  start     Run the gateway in the foreground (SIGTERM or SIGINT stop it gracefully)
  version   Print the version

Options for start:
  -c, --conf FILE     Configuration file (kong.conf syntax); default: $TOLLGATE_CONF
  -p, --prefix DIR    Prefix directory; overrides the prefix setting
`

class UsageError extends Error {}

async function start (args: string[]): Promise<void> {
  let values
  try {
    ({ values } = parseArgs({
      args,
      options: { conf: { type: 'string', short: 'c' }, prefix: { type: 'string', short: 'p' } },
      strict: true,
      allowPositionals: false,
    }))
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const config = loadConfig({ conf: values.conf, overrides: { prefix: values.prefix } })
  const log = createLogger(config.log_level)
  const gateway = await startGateway(config, log)
  const addr = (a: { address: string, port: number }): string => a.address.includes(':') ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`
  log.info({ proxy: gateway.proxy.map(addr), admin: gateway.admin.map(addr), prefix: config.prefix, version: VERSION }, 'tollgate started')

  let stopping = false
  const shutdown = (signal: string): void => {
    if (stopping) return
    stopping = true
    log.info({ signal }, 'stopping: draining in-flight requests')
    gateway.stop().then(() => {
      log.info('tollgate stopped')
      process.exitCode = 0
    }, (err: unknown) => {
      log.error({ err }, 'error while stopping')
      process.exitCode = 1
    })
  }
  process.once('SIGTERM', () => { shutdown('SIGTERM') })
  process.once('SIGINT', () => { shutdown('SIGINT') })
}

export async function main (argv: string[]): Promise<void> {
  const [command, ...rest] = argv
  try {
    switch (command) {
      case 'start':
        await start(rest)
        return
      case 'version':
      case '--version':
      case '-v':
        process.stdout.write(`${VERSION}\n`)
        return
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE)
        return
      case undefined:
        throw new UsageError('no command given')
      default:
        throw new UsageError(`unknown command '${command}'`)
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`Error: ${err.message}\n`)
      process.exitCode = 1
      return
    }
    if (err instanceof UsageError) {
      process.stderr.write(`Error: ${err.message}\n\n${USAGE}`)
      process.exitCode = 1
      return
    }
    throw err
  }
}
