// kong.client: who is on the other end of the connection, and who they authenticated as
// (Kong's kong/pdk/client.lua).

import type { RequestContext } from '../runtime/context.js'
import type { EntityCache } from '../runtime/entity-cache.js'
import type { Consumer } from '../store/index.js'
import type { Entity } from '../store/store.js'
import { isUuid } from '../store/schema.js'
import { argString, check } from './private/checks.js'
import { PHASES } from './private/phases.js'

const P = PHASES.client

export class KongClient {
  readonly #ctx: RequestContext
  readonly #db: EntityCache
  constructor (ctx: RequestContext, db: EntityCache) { this.#ctx = ctx; this.#db = db }

  /** @phases rewrite, access, header_filter, body_filter, log */
  getIp (): string { check(this.#ctx, P.getIp); return this.#ctx.clientIp }
  /** @phases rewrite, access, header_filter, body_filter, log */
  getForwardedIp (): string { check(this.#ctx, P.getForwardedIp); return this.getIp() }
  /** @phases rewrite, access, header_filter, body_filter, log */
  getPort (): number { check(this.#ctx, P.getPort); return this.#ctx.clientPort }
  /** @phases rewrite, access, header_filter, body_filter, log */
  getForwardedPort (): number { check(this.#ctx, P.getForwardedPort); return this.getPort() }
  /** @phases access, header_filter, body_filter, log */
  getProtocol (): string {
    check(this.#ctx, P.getProtocol)
    if (this.#ctx.route === undefined) throw new Error('kong.client.getProtocol: No active route found')
    return 'http'
  }

  /** @phases access, header_filter, body_filter, log */
  getConsumer (): Consumer | undefined { check(this.#ctx, P.getConsumer); return this.#ctx.consumer }
  /** @phases access, header_filter, body_filter, log */
  getCredential (): Entity | undefined { check(this.#ctx, P.getCredential); return this.#ctx.credential }

  /**
   * Sets who this request is; consumer-scoped plugin configs apply from the next plugin on.
   * @phases access
   */
  authenticate (consumer: Consumer | undefined | null, credential?: Entity | null): void {
    check(this.#ctx, P.authenticate)
    if ((consumer === undefined || consumer === null) && (credential === undefined || credential === null)) {
      throw new TypeError('kong.client.authenticate: either credential or consumer must be provided')
    }
    this.#ctx.consumer = consumer ?? undefined
    this.#ctx.credential = credential ?? undefined
  }

  /**
   * Loads a consumer by id, or by username when `byUsername` (also when the id finds none).
   * @phases access, header_filter, body_filter, log
   */
  loadConsumer (idOrUsername: string, byUsername = false): Consumer | undefined {
    check(this.#ctx, P.loadConsumer)
    argString('consumer_id', idOrUsername, P.loadConsumer.fn)
    if (!isUuid(idOrUsername) && !byUsername) throw new TypeError('kong.client.loadConsumer: cannot load a consumer with an id that is not a uuid')
    const db = this.#db
    const found = isUuid(idOrUsername) ? db.get('consumers', idOrUsername) : undefined
    return (found ?? (byUsername ? db.find('consumers', { username: idOrUsername }) : undefined)) as Consumer | undefined
  }
}
