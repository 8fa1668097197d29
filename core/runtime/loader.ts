// Resolves the `plugins` setting into descriptors: `bundled` is every bundled plugin; any
// other entry is a module (a package in node_modules or a path) whose default export (or
// `plugin` export) is a descriptor. A bad plugin stops the start with its name and the problem.

import { createRequire } from 'node:module'
import { isAbsolute, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { bundledPlugins } from '../../plugins/index.js'
import { ConfigError } from '../errors.js'
import { descriptorProblems, type AnyPlugin } from './plugin.js'
import { PluginRegistry } from './registry.js'

async function loadModule (entry: string, cwd: string): Promise<unknown> {
  const isPath = entry.startsWith('.') || isAbsolute(entry)
  let url: string
  try {
    url = isPath
      ? pathToFileURL(resolve(cwd, entry)).href
      : pathToFileURL(createRequire(resolve(cwd, 'package.json')).resolve(entry)).href
  } catch {
    throw new ConfigError(`plugin '${entry}' not found: it is not a bundled plugin, and no package or file by that name could be resolved from ${cwd}`, 'plugins')
  }
  let mod: Record<string, unknown>
  try {
    mod = await import(url) as Record<string, unknown>
  } catch (err) {
    throw new ConfigError(`plugin '${entry}' could not be loaded: ${(err as Error).message.split('\n')[0] ?? ''}`, 'plugins')
  }
  return mod.default ?? mod.plugin
}

export async function loadPlugins (names: string[], cwd = process.cwd(), extra: AnyPlugin[] = [], isolated: string[] = []): Promise<PluginRegistry> {
  const registry = new PluginRegistry()
  const bundled = new Map(bundledPlugins.map((p) => [p.name, p]))
  const add = (plugin: unknown, source: string): void => {
    const problems = descriptorProblems(plugin)
    if (problems.length > 0) throw new ConfigError(`plugin '${source}' is invalid: ${problems.join('; ')}`, 'plugins')
    const p = plugin as AnyPlugin
    if (registry.get(p.name) !== undefined) throw new ConfigError(`plugin '${p.name}' is listed twice in 'plugins'`, 'plugins')
    registry.register(p)
  }
  for (const name of names) {
    if (name === 'bundled') {
      for (const p of bundled.values()) if (registry.get(p.name) === undefined) registry.register(p)
    } else if (bundled.has(name)) {
      if (registry.get(name) === undefined) registry.register(bundled.get(name) as AnyPlugin)
    } else {
      add(await loadModule(name, cwd), name)
    }
  }
  for (const p of extra) add(p, p.name)
  if (extra.length === 0) registry.loadedByName = names
  // Which runner runs them is the gateway's choice (plugin-runner.ts); here only that each is loaded.
  for (const name of isolated) {
    if (registry.get(name) === undefined) throw new ConfigError(`isolated_plugins names '${name}', which is not a loaded plugin (loaded: ${registry.names().join(', ') || 'none'})`, 'isolated_plugins')
  }
  return registry
}
