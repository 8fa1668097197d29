import type { Server } from 'node:http'
import { Server as NetServer, type AddressInfo } from 'node:net'
import type { Listener } from './config/index.js'
import { ConfigError } from './errors.js'

/** Binds a server to one listener, turning bind failures into one-line config errors. */
export function listen (server: Server, l: Listener, key: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const where = `${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}`
      const why: Record<string, string> = {
        EADDRINUSE: 'is already in use',
        EACCES: 'needs privileges this process does not have',
        EADDRNOTAVAIL: 'is not an address of this machine',
        ENOTFOUND: 'does not resolve to an address',
      }
      reject(new ConfigError(`${key}: cannot listen on ${where}: ${why[err.code ?? ''] ?? err.message}`, key))
    }
    server.once('error', onError)
    server.listen({ host: l.host, port: l.port, backlog: l.backlog }, () => {
      server.off('error', onError)
      resolve(server.address() as AddressInfo)
    })
  })
}

/**
 * While a server closes, closes keep-alive connections as they go idle (node closes only
 * those idle at the moment `close()` is called) and cuts what is left after `graceMs`.
 * Returns the function that ends the sweeping.
 */
export function sweepIdle (server: Server, graceMs: number): () => void {
  const sweep = setInterval(() => server.closeIdleConnections(), 50)
  const deadline = setTimeout(() => server.closeAllConnections(), graceMs)
  deadline.unref()
  return () => { clearInterval(sweep); clearTimeout(deadline) }
}

/**
 * Stops accepting and resolves once every connection has closed. Unlike http's close(),
 * idle keep-alive connections are not cut (a client may be sending on one at that very
 * moment, and would see a reset): the caller answers further requests with
 * `Connection: close`, and idle ones end at their advertised keep-alive timeout. After
 * `graceMs` whatever is left is cut.
 */
export function drain (server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) { resolve(); return }
    const deadline = setTimeout(() => server.closeAllConnections(), graceMs)
    deadline.unref()
    Reflect.apply(NetServer.prototype.close, server, [() => { clearTimeout(deadline); resolve() }])
  })
}
