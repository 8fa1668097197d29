import type { TObject } from 'typebox'
import type { PluginDescriptor } from '../../core/runtime/plugin.js'

import { SDK_VERSION, VERSION } from '../../core/meta.js'

/** The gateway's own version: what bundled plugins, released with it, carry. */
const TOLLGATE_VERSION = VERSION

export { SDK_VERSION, TOLLGATE_VERSION }

/**
 * Declares a plugin. `conf` in every handler is typed from `schema`, with no casts:
 *
 * ```ts
 * export default definePlugin({
 *   name: 'hello', version: '1.0.0', priority: 800,
 *   schema: Type.Object({ header: Type.String({ default: 'x-hello' }) }),
 *   access (kong, conf) { kong.service.request.setHeader(conf.header, 'world') },
 * })
 * ```
 */
export function definePlugin<S extends TObject> (plugin: PluginDescriptor<S>): PluginDescriptor<S> {
  return { sdk: `^${SDK_VERSION}`, ...plugin }
}
