import { consumers } from './entities/consumers.js'
import { plugins } from './entities/plugins.js'
import { routes } from './entities/routes.js'
import { services } from './entities/services.js'
import type { EntityDef } from './entity.js'

export { Store } from './lmdb-store.js'
export type { StoreOptions, Page, ListOptions, WriteOptions, ChangeEvent, Entity } from './lmdb-store.js'
export type { EntityDef, PluginSchemas } from './entity.js'
export type { Consumer } from './entities/consumers.js'
export type { Plugin } from './entities/plugins.js'
export type { Route } from './entities/routes.js'
export type { Service } from './entities/services.js'

/** Core entities in dependency order: a referenced entity comes before its referrers. */
export const coreEntities: EntityDef[] = [services, routes, consumers, plugins]
