// Body decoding and encoding for kong.request.getBody and kong.service.request.setBody:
// urlencoded forms, JSON and multipart/form-data, as Kong's PDK handles them.

import { randomBytes } from 'node:crypto'
import { parseQuery } from '../runtime/context.js'

export type BodyValue = string | true | BodyValue[] | { [k: string]: unknown }
export type ParsedBody = Record<string, unknown> | unknown[]

export const FORM = 'application/x-www-form-urlencoded'
export const JSON_TYPE = 'application/json'
export const MULTIPART = 'multipart/form-data'

/** The media type without parameters, lower-cased. */
export function mediaType (contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined
  return (contentType.split(';')[0] as string).trim().toLowerCase()
}

function boundaryOf (contentType: string): string | undefined {
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType)
  return m?.[1] ?? m?.[2]
}

/** Parses multipart/form-data fields (file parts are read as text); repeated names become arrays. */
export function parseMultipart (body: Buffer, contentType: string): Record<string, string | string[]> {
  const boundary = boundaryOf(contentType)
  if (boundary === undefined) throw new Error('missing boundary')
  const text = body.toString('latin1')
  const delimiter = `--${boundary}`
  const parts = text.split(delimiter)
  if (parts.length < 2) throw new Error('no parts')
  const out: Record<string, string | string[]> = {}
  for (const part of parts.slice(1)) {
    if (part.startsWith('--')) break
    const sep = part.indexOf('\r\n\r\n')
    if (sep === -1) throw new Error('malformed part')
    const head = part.slice(0, sep)
    const name = /content-disposition:[^\r\n]*;\s*name="([^"]*)"/i.exec(head)?.[1]
    if (name === undefined) continue
    let value = part.slice(sep + 4)
    if (value.endsWith('\r\n')) value = value.slice(0, -2)
    const decoded = Buffer.from(value, 'latin1').toString('utf8')
    const prev = out[name]
    out[name] = prev === undefined ? decoded : Array.isArray(prev) ? [...prev, decoded] : [prev, decoded]
  }
  return out
}

export interface BodyResult { body: ParsedBody | undefined, error: string | undefined, mime: string | undefined }

/** kong.request.getBody: the parsed body, or an error naming why it could not be parsed. */
export function parseBody (raw: Buffer, contentType: string | undefined, asMime?: string): BodyResult {
  const mime = asMime ?? mediaType(contentType)
  if (mime === undefined) return { body: undefined, error: 'missing content type', mime }
  try {
    switch (mime) {
      case FORM:
        return { body: parseQuery(raw.toString('utf8')), error: undefined, mime }
      case JSON_TYPE: {
        const parsed: unknown = JSON.parse(raw.toString('utf8'))
        if (typeof parsed !== 'object' || parsed === null) return { body: undefined, error: 'invalid json body', mime }
        return { body: parsed as ParsedBody, error: undefined, mime }
      }
      case MULTIPART:
        return { body: parseMultipart(raw, contentType ?? ''), error: undefined, mime }
      default:
        return { body: undefined, error: `unsupported content type '${contentType ?? ''}'`, mime }
    }
  } catch (err) {
    return { body: undefined, error: `${mime === JSON_TYPE ? 'invalid json body' : 'invalid body'}: ${(err as Error).message}`, mime }
  }
}

function formValue (v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v)
}

/**
 * Encodes a body in the given media type. Forms sort their keys, as Kong's encoder does;
 * array values repeat the name. Returns the bytes and the Content-Type to send.
 */
export function encodeBody (body: Record<string, unknown> | unknown[], mime: string, contentType?: string): { raw: Buffer, contentType: string } {
  switch (mime) {
    case JSON_TYPE:
      return { raw: Buffer.from(JSON.stringify(body)), contentType: contentType ?? 'application/json' }
    case FORM: {
      const parts: string[] = []
      for (const key of Object.keys(body).sort()) {
        const value = (body as Record<string, unknown>)[key]
        for (const v of Array.isArray(value) ? value : [value]) {
          parts.push(v === true ? encodeURIComponent(key) : `${encodeURIComponent(key)}=${encodeURIComponent(formValue(v))}`)
        }
      }
      return { raw: Buffer.from(parts.join('&')), contentType: contentType ?? FORM }
    }
    case MULTIPART: {
      const boundary = (contentType !== undefined ? boundaryOf(contentType) : undefined) ?? randomBytes(12).toString('hex')
      const chunks: string[] = []
      for (const key of Object.keys(body)) {
        const value = (body as Record<string, unknown>)[key]
        for (const v of Array.isArray(value) ? value : [value]) {
          chunks.push(`--${boundary}\r\nContent-Disposition: form-data; name="${key}"\r\n\r\n${formValue(v)}\r\n`)
        }
      }
      chunks.push(`--${boundary}--\r\n`)
      return { raw: Buffer.from(chunks.join('')), contentType: `multipart/form-data; boundary=${boundary}` }
    }
    default:
      throw new Error(`unsupported content type '${mime}'`)
  }
}
