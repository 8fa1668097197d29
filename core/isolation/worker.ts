// Runs inside a piscina worker thread: one task is one phase of one isolated plugin for one
// request. It rebuilds the request from the snapshot, runs the plugin's handler with the
// same PDK as in-process, and returns what changed as an ordered list of mutations.

import { workerData } from 'node:worker_threads'
import { EntityCache } from '../runtime/entity-cache.js'
import { Kong } from '../pdk/index.js'
import { loadPlugins } from '../runtime/loader.js'
import type { AnyPlugin } from '../runtime/plugin.js'
import type { PluginRegistry } from '../runtime/registry.js'
import { Store } from '../store/index.js'
import { captureLogger } from './capture-log.js'
import { contextFromSnapshot, mutationsOf, type Mutation, type Snapshot } from './snapshot.js'

export interface WorkerData {
  /** Plugin modules to load: the isolated ones. */
  plugins: string[]
  cwd: string
  /** The store's LMDB file, opened here for kong.db reads. */
  storePath: string
  nodeId: string
}

export interface Task {
  /** Only start the worker up (load plugins, open the store). */
  warmup?: true
  plugin: string
  handler: 'rewrite' | 'access' | 'headerFilter' | 'bodyFilter' | 'log'
  conf: Record<string, unknown>
  snapshot: Snapshot
  /** The host's config version; a newer one drops cached entities. */
  version: number
}

const data = workerData as WorkerData
let seenVersion = -1

async function init (): Promise<{ registry: PluginRegistry, store: Store, cache: EntityCache }> {
  const registry = await loadPlugins(data.plugins, data.cwd)
  const store = new Store({ path: data.storePath, plugins: registry, entities: registry.entities(), ttlPurgeInterval: 0 })
  return { registry, store, cache: new EntityCache(store) }
}

// Started as the thread starts, so a plugin's first phase does not pay for loading.
const ready = init()
ready.catch(() => {}) // reported by the first task

export default async function run (task: Task): Promise<Mutation[]> {
  const { registry, store, cache } = await ready
  if (task.warmup === true) return []
  if (task.version !== seenVersion) {
    store.refresh()
    cache.clear()
    seenVersion = task.version
  }
  const plugin = registry.get(task.plugin) as AnyPlugin | undefined
  const handler = plugin?.[task.handler]
  if (plugin === undefined || handler === undefined) throw new Error(`plugin '${task.plugin}' has no ${task.handler} handler in this worker`)
  const ctx = contextFromSnapshot(task.snapshot, task.plugin)
  const logs: Mutation[] = []
  await handler(new Kong(ctx, { db: cache, log: captureLogger(logs), nodeId: data.nodeId }, task.plugin), task.conf)
  return [...mutationsOf(task.snapshot, ctx, task.plugin), ...logs]
}
