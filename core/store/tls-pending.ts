// What waits for TLS. Kong has certificates, CA certificates and SNI routing; Tollgate has
// no TLS listener and no certificate entities yet. Rather than store settings that could
// never take effect, the store refuses them, and this file is the one place saying so:
// the issue that adds TLS defines the entities (which lifts the reference checks by
// itself, since the store then looks rows up).

/**
 * Entities Kong has and Tollgate does not yet. A reference to one (services'
 * `client_certificate`, `ca_certificates`) names a row that cannot exist here, so the store
 * answers as for any missing row: Kong's foreign key violation.
 */
export const PENDING_ENTITIES: ReadonlySet<string> = new Set(['certificates', 'ca_certificates'])
