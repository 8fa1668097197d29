// A stored response. Kong's memory strategy stores one JSON text (cjson of the Lua table);
// here the same fields travel as a small JSON head followed by the body's bytes, so a hit
// parses only the head and the body stays bytes (binary bodies survive; JSON cannot hold
// them). The Admin API shows it as Kong's object, the body as text.

import type { SharedValue } from '@tollgate/sdk'

/** Kong's CACHE_VERSION: an entry of another version is purged, not served. */
export const CACHE_VERSION = 1

export interface CachedResponse {
  status: number
  /** The response headers as header_filter saw them, the plugin's own included. */
  headers: Record<string, string | string[]>
  body: Buffer
  body_len: number
  /** Seconds since the epoch, when it was stored. */
  timestamp: number
  /** Its freshness lifetime in seconds: cache_ttl, or what Cache-Control gave (cache_control). */
  ttl: number
  version: number
  /** The request's body, kept as Kong keeps it for logging plugins ('' when not read). */
  req_body: string
}

/** Marks the format, so that something else stored under the key is not taken for an entry. */
const MAGIC = 0x54475043 // 'TGPC'

export function encode (res: CachedResponse): Buffer {
  const { body, ...head } = res
  const json = Buffer.from(JSON.stringify(head))
  const out = Buffer.allocUnsafe(8 + json.length + body.length)
  out.writeUInt32BE(MAGIC, 0)
  out.writeUInt32BE(json.length, 4)
  json.copy(out, 8)
  body.copy(out, 8 + json.length)
  return out
}

/** The stored response, or undefined when `raw` is not one (Kong: "could not decode request object"). */
export function decode (raw: SharedValue): CachedResponse | undefined {
  if (!Buffer.isBuffer(raw) || raw.length < 8 || raw.readUInt32BE(0) !== MAGIC) return undefined
  const len = raw.readUInt32BE(4)
  if (8 + len > raw.length) return undefined
  try {
    const head = JSON.parse(raw.toString('utf8', 8, 8 + len)) as Omit<CachedResponse, 'body'>
    return { ...head, body: raw.subarray(8 + len) }
  } catch {
    return undefined
  }
}

/** Kong's stored object as its Admin API answers it: the body as a string. */
export function asKongObject (res: CachedResponse): Record<string, unknown> {
  return {
    status: res.status,
    headers: res.headers,
    body: res.body.toString('utf8'),
    body_len: res.body_len,
    timestamp: res.timestamp,
    ttl: res.ttl,
    version: res.version,
    req_body: res.req_body,
  }
}
