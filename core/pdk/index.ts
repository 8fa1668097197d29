// The `kong` object handed to plugin handlers: Kong's PDK with camelCase names. One is made
// per plugin per request; its namespaces are created on first use. Every function checks
// the phase it is called in (see ../runtime/phases.ts) and names the allowed ones if wrong.
//
// Laid out as Kong's kong/pdk/: one module per namespace, the argument and phase checks
// in private/, and this module only assembling them, as kong/pdk/init.lua loads its
// MAJOR_MODULES. Kong loads each by name in a loop; here each is a typed getter, so a
// namespace a plugin never touches costs nothing on its request.

import type { Logger } from '../log.js'
import type { RequestContext } from '../runtime/context.js'
import type { EntityCache } from '../runtime/entity-cache.js'
import type { SharedDict, SharedMemory } from '../shm/index.js'
import type { CounterStore } from '../store/store.js'
import { KongClient } from './client.js'
import { check } from './private/checks.js'
import { PHASES } from './private/phases.js'
import { KongDbView, type KongDb } from './db.js'
import { makeLog, type KongLog } from './log.js'
import { makeNode, type KongNode } from './node.js'
import type { KongPlugin } from './types.js'
import { KongRequest } from './request.js'
import { KongResponse } from './response.js'
import { makeRouter, type KongRouter } from './router.js'
import { KongService } from './service.js'

// What other modules have always imported from here.
export { KongClient } from './client.js'
export type { KongDb } from './db.js'
export { serialize, type KongLog } from './log.js'
export type { KongNode } from './node.js'
export { lowerName } from './private/checks.js'
export { KongRequest } from './request.js'
export { KongResponse } from './response.js'
export type { KongRouter } from './router.js'
export { KongService } from './service.js'
export { KongServiceRequest } from './service-request.js'
export { KongServiceResponse } from './service-response.js'

/** What the PDK needs from the gateway, shared by all requests. */
export interface PdkEnv {
  /** Cached entity reads (see runtime/entity-cache.ts). */
  db: EntityCache
  log: Logger
  nodeId: string
  /** The node's shared dictionaries (nginx's lua_shared_dict zones). */
  shm: SharedMemory
  /**
   * The store's counters (kong.db.incrCounter). Every proxy process and isolation thread
   * opens the store, so all have them; without, incrCounter throws a clear error.
   */
  counters?: CounterStore
}

/** The `kong` object one plugin sees during one request. */
export class Kong {
  readonly #ctx: RequestContext
  readonly #env: PdkEnv
  readonly #plugin: string
  readonly #instance: string
  #pluginApi?: KongPlugin
  #request?: KongRequest
  #response?: KongResponse
  #client?: KongClient
  #service?: KongService
  #log?: KongLog
  #db?: KongDb
  #ctxApi?: { shared: Record<string, unknown>, plugin: Record<string, unknown> }

  /** `instance`: the id of the plugin entity whose config the handler runs with. */
  constructor (ctx: RequestContext, env: PdkEnv, plugin: string, instance = '') {
    this.#ctx = ctx
    this.#env = env
    this.#plugin = plugin
    this.#instance = instance
  }

  get request (): KongRequest { return (this.#request ??= new KongRequest(this.#ctx)) }
  get response (): KongResponse { return (this.#response ??= new KongResponse(this.#ctx)) }
  get client (): KongClient { return (this.#client ??= new KongClient(this.#ctx, this.#env.db)) }
  get service (): KongService { return (this.#service ??= new KongService(this.#ctx)) }

  get log (): KongLog { return (this.#log ??= makeLog(this.#ctx, this.#env.log, this.#plugin)) }

  get ctx (): { shared: Record<string, unknown>, plugin: Record<string, unknown> } {
    if (this.#ctxApi === undefined) {
      let own = this.#ctx.pluginCtx.get(this.#plugin)
      if (own === undefined) this.#ctx.pluginCtx.set(this.#plugin, own = {})
      this.#ctxApi = { shared: this.#ctx.shared, plugin: own }
    }
    return this.#ctxApi
  }

  get router (): KongRouter { return makeRouter(this.#ctx) }

  /**
   * Read access to stored entities, e.g. a plugin's own credentials. Reads are cached
   * until the next write, so a change is seen by the next request; Kong's plugins use
   * kong.db behind kong.cache for the same.
   */
  get db (): KongDb { return (this.#db ??= new KongDbView(this.#ctx, this.#env.db, this.#env.counters)) }

  get node (): KongNode { return makeNode(this.#env) }

  /** Kong's kong.plugin: the running plugin instance. */
  get plugin (): KongPlugin {
    const id = this.#instance
    const ctx = this.#ctx
    const name = this.#plugin
    return (this.#pluginApi ??= {
      getId: () => id,
      skipBodyFilter: () => {
        check(ctx, PHASES.plugin.skipBodyFilter)
        ;(ctx.bodyFilterOff ??= new Set()).add(name)
      },
    })
  }

  /**
   * The node's shared dictionary `name`, as `ngx.shared[name]` is to a Kong plugin: every
   * worker process of the node sees the same entries (rate-limiting counters, caches).
   * Synchronous; allowed in every phase, as ngx.shared is.
   */
  shm (name: string): SharedDict { return this.#env.shm.dict(name) }
}
