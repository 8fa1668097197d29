// The admin token (admin_token): beyond Kong OSS, whose Admin API trusts whoever reaches
// it. Kong Enterprise's RBAC reads a token from Kong-Admin-Token; Tollgate takes that header
// or `Authorization: Bearer`, and answers anything else with Kong Enterprise's 401.

import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'

/**
 * Kong Enterprise's answer to an Admin API request without valid RBAC credentials, as
 * Kong Enterprise 2.5 sends it (quoted in kevholditch/terraform-provider-kong#135).
 */
export const UNAUTHORIZED = { message: 'Invalid credentials. Token or User credentials required' }
export const CHALLENGE = 'Bearer realm="tollgate-admin"'

const digest = (s: string): Buffer => createHash('sha256').update(s).digest()

/** The tokens a request presents, from either header. */
function presented (req: FastifyRequest): string[] {
  const out: string[] = []
  const kong = req.headers['kong-admin-token']
  if (typeof kong === 'string') out.push(kong.trim())
  const auth = req.headers.authorization
  if (typeof auth === 'string') {
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(auth)
    if (m !== null) out.push(m[1] as string)
  }
  return out
}

/**
 * A browser's CORS preflight carries no credentials, whatever the real request will: it is
 * answered without a token (it tells the allowed methods of a path and nothing else), so a
 * browser client can go on to send its authenticated request.
 */
function isPreflight (req: FastifyRequest): boolean {
  return req.method === 'OPTIONS' && req.headers.origin !== undefined && req.headers['access-control-request-method'] !== undefined
}

/**
 * Whether a request may use the Admin API. Compared as SHA-256 digests, in constant time:
 * neither the token's content nor its length shows in how long a refusal takes.
 */
export function tokenCheck (token: string): (req: FastifyRequest) => boolean {
  const expected = digest(token)
  return (req) => {
    if (isPreflight(req)) return true
    let ok = false
    // Every presented value is compared, so which header held the good one takes no less time.
    for (const value of presented(req)) if (timingSafeEqual(digest(value), expected)) ok = true
    return ok
  }
}

export function refuse (reply: FastifyReply): FastifyReply {
  return reply.code(401).header('WWW-Authenticate', CHALLENGE).send(UNAUTHORIZED)
}
