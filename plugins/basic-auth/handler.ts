// basic-auth's access phase, in the order of Kong 3.2's kong/plugins/basic-auth/access.lua.
// Internal steps return a failure instead of answering; only the phase entry point turns
// it into kong.response.error.

import { Buffer } from 'node:buffer'
import { authenticateAnonymous, setConsumer } from '@tollgate/sdk'
import type { Consumer, Entity, Kong } from '@tollgate/sdk'
import { hashPassword } from './entities.js'
import type { BasicAuthConfig } from './schema.js'

const ERR_UNAUTHORIZED = 'Unauthorized'
const ERR_INVALID_AUTH_CRED = 'Invalid authentication credentials'
const ERR_UNEXPECTED = 'An unexpected error occurred'

interface Failure { status: number, message: string, headers?: Record<string, string> }
interface Given { username: string, password: Buffer }

const BASE64 = /^[A-Za-z0-9+/]*$/

/**
 * nginx's ngx_decode_base64 as ngx.decode_base64 uses it: the text up to the first '=' must
 * be base64 characters only, and not one more than a multiple of 4 long; else undefined.
 */
function decodeBase64 (text: string): Buffer | undefined {
  const eq = text.indexOf('=')
  const body = eq === -1 ? text : text.slice(0, eq)
  if (!BASE64.test(body) || body.length % 4 === 1) return undefined
  return Buffer.from(body, 'base64')
}

/**
 * The username and password in one header (Kong's retrieve_credentials): the first
 * `Basic <base64>` in it (anywhere, any case of its first letter), decoded, split at the
 * first ':' after a non-empty username. Hides the header when configured, parsed or not.
 */
function retrieveCredentials (kong: Kong, header: string, conf: BasicAuthConfig): Given | undefined {
  let given: Given | undefined
  const value = kong.request.getHeader(header)
  if (value !== undefined) {
    const m = /\s*[Bb]asic\s*(.+)/.exec(value)
    const decoded = m?.[1] === undefined ? undefined : decodeBase64(m[1])
    if (decoded !== undefined) {
      // Bytes as latin1 characters, so the split is on bytes and the password hashes as sent.
      const parts = /([^:]+):(.*)/.exec(decoded.toString('latin1'))
      if (parts !== null) {
        given = { username: Buffer.from(parts[1] as string, 'latin1').toString('utf8'), password: Buffer.from(parts[2] as string, 'latin1') }
      } else {
        kong.log.err('header has unrecognized format')
      }
    }
  }
  if (conf.hide_credentials) kong.service.request.clearHeader(header)
  return given
}

function loadCredential (kong: Kong, username: string): Entity | undefined {
  return kong.db.find('basicauth_credentials', { username })
}

function doAuthentication (kong: Kong, conf: BasicAuthConfig): Failure | undefined {
  if (kong.request.getHeader('authorization') === undefined && kong.request.getHeader('proxy-authorization') === undefined) {
    return { status: 401, message: ERR_UNAUTHORIZED, headers: { 'WWW-Authenticate': `Basic realm="${conf.realm ?? 'kong'}"` } }
  }
  let given = retrieveCredentials(kong, 'proxy-authorization', conf)
  let credential = given === undefined ? undefined : loadCredential(kong, given.username)
  if (credential === undefined) {
    given = retrieveCredentials(kong, 'authorization', conf)
    if (given === undefined) return { status: 401, message: ERR_INVALID_AUTH_CRED }
    credential = loadCredential(kong, given.username)
  }
  const consumerId = (credential?.consumer as { id: string } | undefined)?.id
  if (credential === undefined || consumerId === undefined || given === undefined || credential.password !== hashPassword(consumerId, given.password)) {
    return { status: 401, message: ERR_INVALID_AUTH_CRED }
  }
  const consumer = kong.db.get('consumers', consumerId) as Consumer | undefined
  if (consumer === undefined) return { status: 500, message: ERR_UNEXPECTED }
  // basic-auth identifies the credential by its username, not its id (Kong's access.lua).
  setConsumer(kong, consumer, credential, credential.username)
  return undefined
}

export function access (kong: Kong, conf: BasicAuthConfig): void {
  const anonymous = conf.anonymous
  // Logical OR: an earlier auth plugin already identified the request.
  if (anonymous != null && kong.client.getCredential() !== undefined) return
  const failure = doAuthentication(kong, conf)
  if (failure === undefined) return
  if (failure.status === 500 || anonymous == null) {
    kong.response.error(failure.status, failure.message, failure.headers)
    return
  }
  authenticateAnonymous(kong, anonymous)
}
