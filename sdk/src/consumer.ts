// What an authentication plugin does once it knows who the client is. Kong's key-auth,
// basic-auth, jwt, hmac-auth, oauth2 and ldap-auth each carry their own copy of set_consumer
// (kong/plugins/<name>/handler.lua or access.lua) and of the anonymous fallback; here it is
// written once, so a plugin author's auth plugin sends upstream what Kong's do.

import type { Consumer, Entity } from '../../core/store/index.js'
import type { Kong } from '../../core/pdk/types.js'

/** Sets header `name` on the upstream request, or removes it when there is no string value (Lua's nil). */
function setOrClear (kong: Kong, name: string, value: unknown): void {
  if (typeof value === 'string') kong.service.request.setHeader(name, value)
  else kong.service.request.clearHeader(name)
}

/**
 * Kong's set_consumer: authenticates the request as `consumer` (kong.client.authenticate)
 * and tells the upstream who it is: X-Consumer-ID, X-Consumer-Custom-ID,
 * X-Consumer-Username and X-Credential-Identifier, each removed when it has no value, so a
 * client cannot send its own. With a credential, X-Anonymous-Consumer is removed; without
 * one (the anonymous consumer) it is `true`.
 *
 * `identifier` is what X-Credential-Identifier carries: Kong's plugins differ (key-auth the
 * credential's id, the default here; basic-auth its username; jwt its key).
 */
export function setConsumer (kong: Kong, consumer: Consumer, credential?: Entity, identifier: unknown = credential?.id): void {
  kong.client.authenticate(consumer, credential)
  setOrClear(kong, 'X-Consumer-ID', consumer.id)
  setOrClear(kong, 'X-Consumer-Custom-ID', consumer.custom_id)
  setOrClear(kong, 'X-Consumer-Username', consumer.username)
  setOrClear(kong, 'X-Credential-Identifier', credential === undefined ? undefined : identifier)
  if (credential !== undefined) kong.service.request.clearHeader('X-Anonymous-Consumer')
  else kong.service.request.setHeader('X-Anonymous-Consumer', 'true')
}

/**
 * Kong's logical-OR fallback, after a failed authentication with `config.anonymous` set:
 * loads that consumer (by id, else by username) and sets it with no credential. When it does
 * not exist, answers 500 "anonymous consumer <anonymous> is configured but doesn't exist"
 * (Kong 3.x's message) and returns false.
 */
export function authenticateAnonymous (kong: Kong, anonymous: string): boolean {
  const consumer = kong.client.loadConsumer(anonymous, true)
  if (consumer === undefined) {
    kong.response.error(500, `anonymous consumer ${anonymous} is configured but doesn't exist`)
    return false
  }
  setConsumer(kong, consumer)
  return true
}
