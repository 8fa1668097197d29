import type { Logger } from '../log.js'
import type { Mutation } from './snapshot.js'

type Level = 'debug' | 'info' | 'warn' | 'error' | 'fatal'

/** A logger for the PDK that records lines as mutations instead of writing them. */
export function captureLogger (into: Mutation[]): Logger {
  const line = (level: Level) => (_fields: unknown, message?: unknown) => {
    into.push({ op: 'log', level, message: typeof message === 'string' ? message : String(message ?? '') })
  }
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error'), fatal: line('fatal') } as unknown as Logger
}
