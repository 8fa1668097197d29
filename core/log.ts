import { pino, type Logger } from 'pino'
import type { LogLevel } from './config/index.js'

export type { Logger }

// Kong's levels are nginx's; pino has fewer, so the nginx-only ones fold into the nearest.
const PINO_LEVEL: Record<LogLevel, pino.Level> = {
  debug: 'debug',
  info: 'info',
  notice: 'info',
  warn: 'warn',
  error: 'error',
  crit: 'fatal',
  alert: 'fatal',
  emerg: 'fatal',
}

export function createLogger (level: LogLevel, destination?: pino.DestinationStream): Logger {
  const opts: pino.LoggerOptions = { level: PINO_LEVEL[level], base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }
  return destination === undefined ? pino(opts) : pino(opts, destination)
}
