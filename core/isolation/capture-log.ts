import type { Logger } from '../log.js'
import type { Mutation } from './snapshot.js'

type Level = 'debug' | 'info' | 'warn' | 'error' | 'fatal'

/**
 * A logger for the PDK that records lines as mutations instead of writing them. A class:
 * an isolation worker makes one per phase.
 */
class CapturedLog {
  readonly #into: Mutation[]
  constructor (into: Mutation[]) { this.#into = into }
  #line (level: Level, message: unknown): void {
    this.#into.push({ op: 'log', level, message: typeof message === 'string' ? message : String(message ?? '') })
  }

  debug (_fields: unknown, message?: unknown): void { this.#line('debug', message) }
  info (_fields: unknown, message?: unknown): void { this.#line('info', message) }
  warn (_fields: unknown, message?: unknown): void { this.#line('warn', message) }
  error (_fields: unknown, message?: unknown): void { this.#line('error', message) }
  fatal (_fields: unknown, message?: unknown): void { this.#line('fatal', message) }
}

export function captureLogger (into: Mutation[]): Logger {
  return new CapturedLog(into) as unknown as Logger
}
