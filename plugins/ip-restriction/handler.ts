// ip-restriction's access phase (kong/plugins/ip-restriction/handler.lua): the deny list
// first, then the allow list, against the client address.

import type { Kong } from '@tollgate/sdk'
import { contains, parseAddress, parseRange, type Range } from './ip.js'
import type { IpRestrictionConfig } from './schema.js'

const DEFAULT_MESSAGE = 'Your IP address is not allowed'

// Parsed once per list (a config's arrays live as long as the config), not per request.
const parsed = new WeakMap<readonly string[], Range[]>()

function ranges (list: readonly string[]): Range[] {
  let r = parsed.get(list)
  if (r === undefined) {
    // The schema admitted every entry, so none is undefined.
    parsed.set(list, r = list.map((e) => parseRange(e) as Range))
  }
  return r
}

const matches = (list: readonly string[], addr: Range): boolean => ranges(list).some((r) => contains(r, addr))

export function access (kong: Kong, conf: IpRestrictionConfig): void {
  const addr = parseAddress(kong.client.getIp())
  if (addr === undefined) {
    kong.response.error(403, 'Cannot identify the client IP address, unix domain sockets are not supported.')
    return
  }
  const status = conf.status ?? 403
  const message = conf.message ?? DEFAULT_MESSAGE
  if (conf.deny !== null && conf.deny.length > 0 && matches(conf.deny, addr)) {
    kong.response.error(status, message)
    return
  }
  if (conf.allow !== null && conf.allow.length > 0 && !matches(conf.allow, addr)) kong.response.error(status, message)
}
