// kong.client: who is on the other end of the connection, and who they authenticated as
// (Kong's kong/pdk/client.lua).

import type { RequestContext } from '../runtime/context.js'
import type { EntityCache } from '../runtime/entity-cache.js'
import { AFTER_ACCESS, ALL, Phase } from '../runtime/phases.js'
import type { Consumer } from '../store/index.js'
import type { Entity } from '../store/store.js'
import { isUuid } from '../store/schema.js'
import { argString, check } from './private/checks.js'

export class KongClient {
  readonly #ctx: RequestContext
  readonly #db: EntityCache
  constructor (ctx: RequestContext, db: EntityCache) { this.#ctx = ctx; this.#db = db }

  getIp (): string { check(this.#ctx, ALL, 'kong.client.getIp'); return this.#ctx.clientIp }
  getForwardedIp (): string { check(this.#ctx, ALL, 'kong.client.getForwardedIp'); return this.getIp() }
  getPort (): number { check(this.#ctx, ALL, 'kong.client.getPort'); return this.#ctx.clientPort }
  getForwardedPort (): number { check(this.#ctx, ALL, 'kong.client.getForwardedPort'); return this.getPort() }
  getProtocol (): string {
    check(this.#ctx, AFTER_ACCESS, 'kong.client.getProtocol')
    if (this.#ctx.route === undefined) throw new Error('kong.client.getProtocol: No active route found')
    return 'http'
  }

  getConsumer (): Consumer | undefined { check(this.#ctx, AFTER_ACCESS, 'kong.client.getConsumer'); return this.#ctx.consumer }
  getCredential (): Entity | undefined { check(this.#ctx, AFTER_ACCESS, 'kong.client.getCredential'); return this.#ctx.credential }

  /** Sets who this request is; consumer-scoped plugin configs apply from the next plugin on. */
  authenticate (consumer: Consumer | undefined | null, credential?: Entity | null): void {
    check(this.#ctx, Phase.access, 'kong.client.authenticate')
    if ((consumer === undefined || consumer === null) && (credential === undefined || credential === null)) {
      throw new TypeError('kong.client.authenticate: either credential or consumer must be provided')
    }
    this.#ctx.consumer = consumer ?? undefined
    this.#ctx.credential = credential ?? undefined
  }

  /** Loads a consumer by id, or by username when `byUsername` (also when the id finds none). */
  loadConsumer (idOrUsername: string, byUsername = false): Consumer | undefined {
    check(this.#ctx, AFTER_ACCESS, 'kong.client.loadConsumer')
    argString('consumer_id', idOrUsername, 'kong.client.loadConsumer')
    if (!isUuid(idOrUsername) && !byUsername) throw new TypeError('kong.client.loadConsumer: cannot load a consumer with an id that is not a uuid')
    const db = this.#db
    const found = isUuid(idOrUsername) ? db.get('consumers', idOrUsername) : undefined
    return (found ?? (byUsername ? db.find('consumers', { username: idOrUsername }) : undefined)) as Consumer | undefined
  }
}
