import type { AnyPlugin } from '../core/runtime/plugin.js'
import { keyAuth } from './key-auth/index.js'

/** The plugins `plugins = bundled` stands for. */
export const bundledPlugins: AnyPlugin[] = [keyAuth]
