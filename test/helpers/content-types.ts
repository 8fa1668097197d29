// Kong's Admin API specs run many cases once per body encoding (it_content_types: form,
// multipart, JSON). These encode one body each way, with the keys Kong's clients use for
// forms (`a.b=` for records, `a[]=` for arrays).

import type { AdminClient, Reply } from './admin.js'

export const CONTENT_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data', 'application/json'] as const
export type ContentType = typeof CONTENT_TYPES[number]

/** A body's form entries: records by dotted keys, arrays as `k[]`, scalars as strings. */
export function formEntries (body: Record<string, unknown>, prefix = ''): Array<[string, string]> {
  const out: Array<[string, string]> = []
  for (const [k, v] of Object.entries(body)) {
    const key = prefix === '' ? k : `${prefix}.${k}`
    if (Array.isArray(v)) for (const item of v) out.push([`${key}[]`, String(item)])
    else if (v !== null && typeof v === 'object') out.push(...formEntries(v as Record<string, unknown>, key))
    else out.push([key, v === null ? '' : String(v)])
  }
  return out
}

const BOUNDARY = 'tollgate-spec-boundary'

/** Sends `body` encoded as `type`. */
export async function sendAs (api: AdminClient, type: ContentType, method: string, path: string, body: Record<string, unknown>): Promise<Reply> {
  if (type === 'application/json') return api.call(method, path, { json: body })
  const entries = formEntries(body)
  if (type === 'application/x-www-form-urlencoded') return api.call(method, path, { form: new URLSearchParams(entries).toString() })
  const parts = entries.map(([k, v]) => `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`).join('')
  return api.call(method, path, { body: `${parts}--${BOUNDARY}--\r\n`, headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` } })
}
