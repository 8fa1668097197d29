// What waits for TLS. Kong has certificates, CA certificates and SNI routing; Tollgate has
// no TLS listener and no certificate entities yet. Rather than store settings that could
// never take effect, the store refuses them, and this file is the one place saying so:
// the issue that adds TLS defines the entities (which lifts the reference checks by
// itself, since the store then looks rows up) and deletes `refuseSnis`.

/**
 * Entities Kong has and Tollgate does not yet. A reference to one (services'
 * `client_certificate`, `ca_certificates`) names a row that cannot exist here, so the store
 * answers as for any missing row: Kong's foreign key violation.
 */
export const PENDING_ENTITIES: ReadonlySet<string> = new Set(['certificates', 'ca_certificates'])

const NO_SNI = 'cannot be set yet: Tollgate has no TLS listener, so no request carries an SNI for this route to match'

/**
 * Routes' `snis`. Kong stores them and matches them against the TLS handshake; with no TLS
 * listener a route naming SNIs could never match as its owner meant (an https/tls route
 * never, an http+https one only by ignoring them), so it is refused. An empty set is no
 * SNI at all (Kong treats it as unset).
 */
export function refuseSnis (snis: string[]): string | undefined {
  return snis.length === 0 ? undefined : NO_SNI
}
