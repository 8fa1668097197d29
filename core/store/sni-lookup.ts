// Which certificate a TLS handshake's server name gets, in Kong 3.2's order
// (kong/runloop/certificate.lua find_certificate): the SNI row of that exact name, then
// the leftmost wildcard (`*.example.test` for `a.example.test`), then the rightmost
// (`a.example.*`), then the row named `*`. None: the listener's default certificate.
// Synchronous reads of the local copy (ConfigReader), as the request path needs; a
// listener may cache the answers and drop them when certificates or snis change.

import type { ConfigReader, Entity } from './store.js'

/** The wildcard names Kong tries for a server name (produce_wild_snis). */
export function wildcardNames (serverName: string): { prefix?: string, suffix?: string } {
  const star = serverName.indexOf('*')
  const out: { prefix?: string, suffix?: string } = {}
  // `*.rest` needs at least two labels after the first one: `a.test` has no `*.test`.
  if (star === 0) out.prefix = serverName
  else if (star === -1) {
    const m = /^([^.]+)(\.[^.]+\.\S+)/.exec(serverName)
    if (m !== null) out.prefix = `*${m[2] as string}`
  }
  if (star === serverName.length - 1) out.suffix = serverName
  else if (star === -1) {
    const m = /^(.*[^.]+\.)[^.]+$/.exec(serverName)
    if (m !== null) out.suffix = `${m[1] as string}*`
  }
  return out
}

/** The snis row a server name selects, or undefined (no server name, or nothing matches). */
export function findSni (reader: Pick<ConfigReader, 'find'>, serverName: string | undefined): Entity | undefined {
  if (serverName === undefined || serverName === '') return undefined
  const { prefix, suffix } = wildcardNames(serverName)
  for (const name of [serverName, prefix, suffix, '*']) {
    if (name === undefined) continue
    const row = reader.find('snis', { name })
    if (row !== undefined) return row
  }
  return undefined
}

/** The certificate row (cert, key, cert_alt, key_alt) a server name selects, with its sni. */
export function findCertificate (reader: Pick<ConfigReader, 'find' | 'get'>, serverName: string | undefined): { sni: Entity, certificate: Entity } | undefined {
  const sni = findSni(reader, serverName)
  if (sni === undefined) return undefined
  const certificate = reader.get('certificates', (sni.certificate as { id: string }).id)
  return certificate === undefined ? undefined : { sni, certificate }
}
