// Adds configured headers to the upstream request and to the response: the smallest
// useful plugin. Runs the same in-process or isolated (isolated_plugins = header-injector).
import { Type, definePlugin } from '@tollgate/sdk'

export const schema = Type.Object({
  upstream: Type.Record(Type.String(), Type.String(), { default: {}, description: 'Headers set on the request to the upstream' }),
  response: Type.Record(Type.String(), Type.String(), { default: {}, description: 'Headers set on the response to the client' }),
}, { additionalProperties: false })

export default definePlugin({
  name: 'header-injector',
  version: '1.0.0',
  priority: 800,
  schema,
  // Nothing to set, nothing to run: with an empty list the phase costs nothing, which
  // matters most when the plugin runs isolated (each phase is a trip to a worker thread).
  skipWhen: {
    access: (conf) => Object.keys(conf.upstream).length === 0,
    headerFilter: (conf) => Object.keys(conf.response).length === 0,
  },
  access (kong, conf) {
    for (const [name, value] of Object.entries(conf.upstream)) kong.service.request.setHeader(name, value)
  },
  headerFilter (kong, conf) {
    for (const [name, value] of Object.entries(conf.response)) kong.response.setHeader(name, value)
  },
})
