// TLS for the listeners: what a node prepares once (certificates checked or generated,
// session ticket keys) and what each process builds from it for its servers.

import type { ServerOptions as HttpsOptions } from 'node:https'
import type { Config } from '../config/index.js'
import type { Logger } from '../log.js'
import type { ConfigReader } from '../store/store.js'
import { CertificateSelector, contextOptions, sniDefaults, ticketKeys } from './contexts.js'
import { configuredPairs, listenerPairs, needsTls, type TlsApi } from './material.js'

export { CertificateSelector } from './contexts.js'
export { defaultCertPaths, type TlsApi } from './material.js'
export { selfSigned } from './self-signed.js'

const APIS: TlsApi[] = ['proxy', 'admin', 'status', 'gui']

/**
 * Run once per node, before any listener (the single process, or the cluster's primary
 * before it forks): checks the configured certificates, generates the defaults that are
 * missing, and makes this start's session ticket keys. Throws a ConfigError on a bad pair.
 */
export function prepareTls (config: Config): void {
  let any = false
  for (const api of APIS) {
    // Configured pairs are checked even with no TLS listener, so a mistake shows at once.
    configuredPairs(config, api)
    if (needsTls(config, api)) { any = true; listenerPairs(config, api) }
  }
  if (any) ticketKeys(config.prefix, true)
}

export interface ListenerTls {
  options: HttpsOptions
  /** The proxy's: the SNI-driven choice among the `certificates` entities. */
  selector?: CertificateSelector
}

/** The server options for `api`'s TLS listeners in this process, or undefined when none is TLS. */
export function listenerTls (config: Config, api: TlsApi, store: ConfigReader | undefined, log: Logger): ListenerTls | undefined {
  if (!needsTls(config, api)) return undefined
  const options = contextOptions(config, ticketKeys(config.prefix, false))
  const pairs = listenerPairs(config, api)
  if (api !== 'proxy' || store === undefined) return { options: { ...options, cert: pairs.map((p) => p.cert), key: pairs.map((p) => p.key) } }
  const defaults = sniDefaults(pairs)
  const selector = new CertificateSelector(store, options, defaults, log)
  return { options: { ...options, cert: defaults.base.cert, key: defaults.base.key, SNICallback: selector.SNICallback }, selector }
}
