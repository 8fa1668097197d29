// Where a plugin's handlers run. The phase runner asks a PluginRunner and never which kind
// it holds: in this thread (InProcessRunner) or in the isolation pool's worker threads
// (isolation/pool.ts). The choice is made per plugin when the plugin set is built.

import { Kong, type PdkEnv } from '../pdk/index.js'
import type { RequestContext } from './context.js'
import type { AnyPlugin, HandlerName } from './plugin.js'

/** The plugin instance a handler runs for: its id (kong.plugin.getId) and config. */
export interface RunInstance {
  id: string
  config: Record<string, unknown>
}

export interface PluginRunner {
  /**
   * Runs one handler of `plugin` for the request in `ctx` with the config of `instance`.
   * Returns a promise only when the handler has to wait; a thrown error or a rejection is
   * the handler's failure, which the phase runner answers.
   */
  run (ctx: RequestContext, plugin: AnyPlugin, handler: HandlerName, instance: RunInstance): unknown
  /**
   * A phase this runner holds a plugin for is starting: a runner whose first call has a
   * start-up cost (a thread to wake) may pay it now, while the plugins before its own run.
   */
  expect?: () => void
}

/** Runs handlers in this thread with a `kong` object over the request's own context. */
export class InProcessRunner implements PluginRunner {
  readonly #env: PdkEnv

  constructor (env: PdkEnv) {
    this.#env = env
  }

  run (ctx: RequestContext, plugin: AnyPlugin, handler: HandlerName, instance: RunInstance): unknown {
    return (plugin[handler] as NonNullable<AnyPlugin[HandlerName]>)(new Kong(ctx, this.#env, plugin.name, instance.id), instance.config)
  }
}

/** Which runner runs each plugin, by name. */
export type RunnerFor = (plugin: AnyPlugin) => PluginRunner
