// `tollgate <command>`: the entry point of bin/tollgate.js. Errors a user can fix are
// printed as one line and exit 1; anything else is a bug and keeps its stack. Each command
// imports what it runs when it runs: `tollgate config ...` and `health` start in a fraction
// of the time the gateway's modules (fastify, undici, the balancer...) take to load.

import cluster from 'node:cluster'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { loadConfig, preparePrefix, type Config } from '../config/index.js'
import { ConfigError } from '../errors.js'
import { createLogger } from '../log.js'
import { scaffoldPlugin } from './plugin-init.js'
import { VERSION } from '../meta.js'

const USAGE = `Usage: tollgate <command> [options]

Commands:
  start     Run the gateway in the foreground (SIGTERM or SIGINT stop it gracefully,
            SIGHUP replaces the worker processes one by one)
  reload    Replace the running gateway's worker processes one by one
  stop      Stop the running gateway gracefully
  health    Say whether the gateway is running (exit 0) or not (exit 1)
  plugin init NAME [--dir DIR] [--sdk PATH]
            Scaffold a plugin folder (descriptor, passing test, build script) that
            depends on @tollgate/sdk's published version, or with --sdk on a local
            SDK (its folder, or a tarball from npm pack)
  config init|parse|db_import|db_export|diff|sync [FILE]
            Declarative configuration files (kong.yml); see tollgate config --help
  migrations bootstrap|up|status|reset
            The shared database's schema (database = postgres)
  version   Print the version

Options:
  -c, --conf FILE     Configuration file (kong.conf syntax); default: $TOLLGATE_CONF
  -p, --prefix DIR    Prefix directory; overrides the prefix setting
  --run-migrations    (start) Bootstrap or upgrade the database first (database = postgres)
`

class UsageError extends Error {}

function options (args: string[], extra: { 'run-migrations'?: { type: 'boolean' } } = {}): { conf?: string, prefix?: string, 'run-migrations'?: boolean } {
  try {
    const { values } = parseArgs({
      args,
      options: { conf: { type: 'string', short: 'c' }, prefix: { type: 'string', short: 'p' }, ...extra },
      strict: true,
      allowPositionals: false,
    })
    return values as { conf?: string, prefix?: string, 'run-migrations'?: boolean }
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
}

const pidFile = (config: Config): string => join(config.prefix, 'tollgate.pid')
/** Where a running gateway says which addresses it bound, for `health`. */
const runtimeFile = (config: Config): string => join(config.prefix, 'tollgate.runtime.json')

/** The pid of a running gateway under this prefix, or undefined. */
function runningPid (config: Config): number | undefined {
  let pid: number
  try {
    pid = Number(readFileSync(pidFile(config), 'utf8').trim())
  } catch {
    return undefined
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined
  try {
    process.kill(pid, 0)
    return pid
  } catch {
    return undefined
  }
}

const addr = (a: { address: string, port: number }): string => a.address.includes(':') ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`

/**
 * The last line of defence: a throw or rejection that escaped every request's own handling
 * (a plugin's timer callback, say) is logged at fatal and the process goes on serving,
 * as nginx's other requests do when one goes wrong. Every known path contains its failures
 * before this; a line from here is a bug to report.
 */
function lastLineOfDefence (log: ReturnType<typeof createLogger>): void {
  process.on('uncaughtException', (err) => { log.fatal({ err }, 'uncaught exception, contained: this is a bug, please report it') })
  process.on('unhandledRejection', (err) => { log.fatal({ err }, 'unhandled rejection, contained: this is a bug, please report it') })
}

async function start (args: string[]): Promise<void> {
  const values = options(args, { 'run-migrations': { type: 'boolean' } })
  const runMigrations = values['run-migrations'] === true
  const config = loadConfig({ conf: values.conf, overrides: { prefix: values.prefix } })
  const log = createLogger(config.log_level)
  lastLineOfDefence(log)
  if (cluster.isWorker) {
    const { runWorker } = await import('../cluster.js')
    await runWorker(config, log)
    return
  }
  const other = runningPid(config)
  if (other !== undefined && other !== process.pid) throw new ConfigError(`tollgate is already running with prefix ${config.prefix} (pid ${other})`, 'prefix')

  let gateway: { proxy: AddressInfo[], admin: AddressInfo[], status: AddressInfo[], gui: AddressInfo[], stop: () => Promise<void>, reload?: () => Promise<void> }
  if (config.worker_processes > 1) {
    preparePrefix(config.prefix)
    const { startPrimary } = await import('../cluster.js')
    gateway = await startPrimary(config, log, { runMigrations })
  } else {
    const { startGateway } = await import('../gateway.js')
    gateway = await startGateway(config, log, { runMigrations })
  }
  writeFileSync(pidFile(config), `${process.pid}\n`)
  writeFileSync(runtimeFile(config), `${JSON.stringify({ pid: process.pid, admin: gateway.admin.map(addr), proxy: gateway.proxy.map(addr), status: gateway.status.map(addr), gui: gateway.gui.map(addr) })}\n`)
  log.info({ proxy: gateway.proxy.map(addr), admin: gateway.admin.map(addr), ...(gateway.status.length > 0 ? { status: gateway.status.map(addr) } : {}), ...(gateway.gui.length > 0 ? { manager: gateway.gui.map(addr) } : {}), prefix: config.prefix, workers: config.worker_processes, version: VERSION }, 'tollgate started')

  let stopping = false
  const shutdown = (signal: string): void => {
    if (stopping) return
    stopping = true
    log.info({ signal }, 'stopping: draining in-flight requests')
    gateway.stop().then(() => {
      rmSync(pidFile(config), { force: true })
      rmSync(runtimeFile(config), { force: true })
      log.info('tollgate stopped')
      process.exitCode = 0
    }, (err: unknown) => {
      log.error({ err }, 'error while stopping')
      process.exitCode = 1
    })
  }
  process.once('SIGTERM', () => { shutdown('SIGTERM') })
  process.once('SIGINT', () => { shutdown('SIGINT') })
  process.on('SIGHUP', () => {
    if (gateway.reload === undefined) { log.info('SIGHUP: nothing to reload with worker_processes = 1'); return }
    log.info('SIGHUP: replacing worker processes')
    gateway.reload().then(() => log.info('workers replaced'), (err: unknown) => log.error({ err }, 'reload failed'))
  })
}

/** `reload`, `stop`, `health`: act on the gateway running under the configured prefix. */
async function control (command: 'reload' | 'stop' | 'health', args: string[]): Promise<void> {
  const values = options(args)
  const config = loadConfig({ conf: values.conf, overrides: { prefix: values.prefix } })
  const pid = runningPid(config)
  if (pid === undefined) {
    process.stderr.write(`tollgate is not running (prefix ${config.prefix})\n`)
    process.exitCode = 1
    return
  }
  if (command === 'health') {
    let admin: string | undefined
    try {
      admin = (JSON.parse(readFileSync(runtimeFile(config), 'utf8')) as { admin: string[] }).admin[0]
    } catch {}
    if (admin !== undefined) {
      const target = admin.replace(/^0\.0\.0\.0:/, '127.0.0.1:').replace(/^\[::\]:/, '[::1]:')
      try {
        const headers: Record<string, string> = config.admin_token === '' ? {} : { authorization: `Bearer ${config.admin_token}` }
        // An `ssl` listener is asked over TLS. The certificate is not checked: this is the
        // gateway under this very prefix, on an address it wrote itself, and its default
        // certificate is self-signed.
        const tls = config.admin_listen[0]?.ssl === true
        const { Agent, request } = await import('undici')
        const dispatcher = tls ? new Agent({ connect: { rejectUnauthorized: false } }) : undefined
        const res = await request(`${tls ? 'https' : 'http'}://${target}/status`, { headers, dispatcher, signal: AbortSignal.timeout(3000) })
        const body = await res.body.json() as { database?: { reachable?: boolean } }
        await dispatcher?.close()
        // DB-less, /status has no database to report on.
        if (res.statusCode !== 200 || (body.database !== undefined && body.database.reachable !== true)) throw new Error(`status ${res.statusCode}`)
      } catch (err) {
        process.stderr.write(`tollgate (pid ${pid}) is running but its Admin API at ${target} does not answer: ${(err as Error).message}\n`)
        process.exitCode = 1
        return
      }
    }
    process.stdout.write(`tollgate is healthy (pid ${pid}, prefix ${config.prefix})\n`)
    return
  }
  process.kill(pid, command === 'reload' ? 'SIGHUP' : 'SIGTERM')
  if (command === 'stop') {
    const deadline = Date.now() + 30_000
    while (Date.now() < deadline && runningPid(config) !== undefined) await new Promise((resolve) => setTimeout(resolve, 100))
    if (runningPid(config) !== undefined) {
      process.stderr.write(`tollgate (pid ${pid}) did not stop within 30 s\n`)
      process.exitCode = 1
      return
    }
  }
  process.stdout.write(`${command === 'reload' ? 'reload requested' : 'stopped'} (pid ${pid})\n`)
}

export async function main (argv: string[]): Promise<void> {
  const [command, ...rest] = argv
  try {
    switch (command) {
      case 'start':
        await start(rest)
        return
      case 'reload':
      case 'stop':
      case 'health':
        await control(command, rest)
        return
      case 'config':
        const { configCommand } = await import('./config.js')
        process.exitCode = await configCommand(rest)
        return
      case 'migrations': {
        const { migrationsCommand } = await import('./migrations.js')
        process.exitCode = await migrationsCommand(rest)
        return
      }
      case 'plugin': {
        const [sub, name, ...more] = rest
        if (sub !== 'init' || name === undefined || name.startsWith('-')) throw new UsageError('usage: tollgate plugin init NAME [--dir DIR] [--sdk PATH]')
        let dir = process.cwd()
        let sdk: string | undefined
        try {
          const { values } = parseArgs({ args: more, options: { dir: { type: 'string' }, sdk: { type: 'string' } }, strict: true, allowPositionals: false })
          dir = values.dir ?? dir
          sdk = values.sdk
        } catch (err) {
          throw new UsageError((err as Error).message)
        }
        const files = scaffoldPlugin(name, dir, sdk)
        process.stdout.write(`created:\n${files.map((f) => `  ${f}`).join('\n')}\nnext: cd into it, npm install, npm test\n`)
        return
      }
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
