// request-transformer (Kong's kong/plugins/request-transformer/access.lua): changes the
// request before it is proxied, in Kong's order: the path (replace.uri), the method, the
// headers, the body, the query; within each, remove, rename, replace, add, append.
import type { Kong, PdkQuery } from '@tollgate/sdk'
import { Multipart, boundaryOf } from './multipart.js'
import type { RequestTransformerConfig } from './schema.js'
import { split } from './schema.js'
import { CASELESS, compiled, render, type Env } from './template.js'

type Section = { body: string[], headers: string[], querystring: string[] }
type Kind = 'json' | 'multipart' | 'form'

/** Kong's get_content_type: by substring, JSON first. */
function kindOf (contentType: string | undefined): Kind | undefined {
  if (contentType === undefined) return undefined
  const ct = contentType.toLowerCase()
  return ct.includes('application/json') ? 'json' : ct.includes('multipart/form-data') ? 'multipart' : ct.includes('application/x-www-form-urlencoded') ? 'form' : undefined
}

/** The values templates read, each loaded the first time a template uses it. */
function environment (kong: Kong): Env {
  return {
    headers: () => Object.assign(kong.request.getHeaders(), { [CASELESS]: true }),
    query_params: () => kong.request.getQuery(),
    uri_captures: () => {
      const { unnamed, named } = kong.request.getUriCaptures()
      const out: Record<string, string> = {}
      unnamed.forEach((v, i) => { out[String(i)] = v })
      return Object.assign(out, named)
    },
    shared: () => ({ ...kong.ctx.shared }) as never,
  }
}

/** Name and rendered value of each entry ("name" alone: value undefined). */
function * entries (list: string[], env: Env): Generator<[string, string | undefined]> {
  for (const entry of list) {
    const [name, value] = split(entry)
    yield [name, value === '' ? undefined : render(compiled(value), env)]
  }
}

type Many<T> = T | T[]

/** Kong's append_value: a string becomes [it, value]; an array grows; anything else is replaced by [value]. */
function appendValue<T> (current: unknown, value: T): Many<T> {
  if (typeof current === 'string') return [current as T, value]
  if (Array.isArray(current)) return [...current, value]
  return [value]
}

const truthy = (v: unknown): boolean => v !== undefined && v !== null && v !== false

function transformUri (kong: Kong, conf: RequestTransformerConfig, env: Env): void {
  if (conf.replace.uri === null) return
  const path = render(compiled(conf.replace.uri), env)
  if (path !== '') kong.service.request.setPath(path)
}

/** Kong also moves a form body into the query when the method becomes GET, HEAD or TRACE. */
function transformMethod (kong: Kong, conf: RequestTransformerConfig, query: PdkQuery): PdkQuery {
  if (conf.http_method === null) return query
  const method = conf.http_method.toUpperCase()
  kong.service.request.setMethod(method)
  if ((method !== 'GET' && method !== 'HEAD' && method !== 'TRACE') || kindOf(kong.request.getHeader('content-type')) !== 'form') return query
  const [body] = kong.request.getBody('application/x-www-form-urlencoded')
  if (body === undefined || Array.isArray(body) || Object.keys(body).length === 0) return query
  const out = { ...query }
  for (const [name, value] of Object.entries(body as PdkQuery)) {
    const prev = out[name]
    out[name] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), ...(Array.isArray(value) ? value : [value])]
  }
  kong.service.request.setQuery(out)
  return out
}

/**
 * Two header values alike: strings by value, lists element by element. This replaced a
 * JSON.stringify of both sides for every header of every request, the handler's largest
 * cost in the plugin bench (`tollgate-plugin-request-transformer`).
 */
function sameValue (a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function transformHeaders (kong: Kong, conf: RequestTransformerConfig, env: Env): void {
  const original = kong.request.getHeaders()
  // Only the headers the config names are tracked (undefined: removed); the rest go upstream
  // as they came. A copy of every header, diffed after, was most of this plugin's cost in
  // the plugin bench. As before, Host counts as absent (Kong's: it is set from the upstream).
  const changed = new Map<string, Many<string> | undefined>()
  const current = (key: string): Many<string> | undefined => changed.has(key) ? changed.get(key) : key === 'host' ? undefined : original[key]
  for (const [name] of entries(conf.remove.headers, env)) {
    const key = name.toLowerCase()
    if (current(key) !== undefined) changed.set(key, undefined)
  }
  for (const [oldName, newName] of entries(conf.rename.headers, env)) {
    const key = oldName.toLowerCase()
    const value = current(key)
    if (value !== undefined && newName !== undefined) {
      changed.set(key, undefined)
      changed.set(newName.toLowerCase(), value)
    }
  }
  for (const [name, value] of entries(conf.replace.headers, env)) {
    const key = name.toLowerCase()
    if (current(key) !== undefined || key === 'host') changed.set(key, value ?? '')
  }
  for (const [name, value] of entries(conf.add.headers, env)) {
    const key = name.toLowerCase()
    if (current(key) === undefined && key !== 'host') changed.set(key, value ?? '')
  }
  for (const [name, value] of entries(conf.append.headers, env)) {
    const key = name.toLowerCase()
    changed.set(key, appendValue(current(key), value ?? ''))
  }
  for (const [key, value] of changed) {
    if (value === undefined) kong.service.request.clearHeader(key)
    else if (!sameValue(value, original[key])) kong.service.request.setHeader(key, value)
  }
}

type Params = Record<string, unknown>

/** Kong's JSON and form steps; `present` is Kong's test for replace and add. */
function transformParams (conf: RequestTransformerConfig, params: Params, hasBody: boolean, env: Env, addWhenAbsent: (v: unknown) => boolean): boolean {
  let changed = false
  if (hasBody) {
    for (const [name] of entries(conf.remove.body, env)) { delete params[name]; changed = true }
    for (const [oldName, newName] of entries(conf.rename.body, env)) {
      const value = params[oldName]
      delete params[oldName]
      if (newName !== undefined) { if (value === undefined) delete params[newName]; else params[newName] = value }
      changed = true
    }
    for (const [name, value] of entries(conf.replace.body, env)) {
      if (truthy(params[name])) { params[name] = value; changed = true }
    }
  }
  for (const [name, value] of entries(conf.add.body, env)) {
    if (addWhenAbsent(params[name])) { params[name] = value; changed = true }
  }
  for (const [name, value] of entries(conf.append.body, env)) {
    params[name] = appendValue(params[name], value)
    changed = true
  }
  return changed
}

function transformMultipart (conf: RequestTransformerConfig, body: Multipart, hasBody: boolean, env: Env): boolean {
  let changed = false
  // Kong's multipart order: rename before remove; append is not done for multipart.
  if (hasBody) {
    for (const [oldName, newName] of entries(conf.rename.body, env)) {
      const value = body.get(oldName)
      if (value !== undefined && newName !== undefined) { body.setSimple(newName, value); body.delete(oldName); changed = true }
    }
    for (const [name] of entries(conf.remove.body, env)) { body.delete(name); changed = true }
    for (const [name, value] of entries(conf.replace.body, env)) {
      if (body.get(name) !== undefined) { body.setSimple(name, value ?? ''); changed = true }
    }
  }
  for (const [name, value] of entries(conf.add.body, env)) {
    if (body.get(name) === undefined) { body.setSimple(name, value ?? ''); changed = true }
  }
  return changed
}

const hasBodyOps = (conf: RequestTransformerConfig): boolean =>
  [conf.remove, conf.rename, conf.replace, conf.add, conf.append].some((s: Section) => s.body.length > 0)

function transformBody (kong: Kong, conf: RequestTransformerConfig, env: Env): void {
  const contentType = kong.request.getHeader('content-type')
  const kind = kindOf(contentType)
  if (kind === undefined || !hasBodyOps(conf)) return
  const raw = kong.request.getRawBody()
  const hasBody = raw.length > 0
  if (kind === 'json') {
    let params: Params
    try {
      const parsed: unknown = hasBody ? JSON.parse(raw.toString('utf8')) : {}
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return
      params = parsed as Params
    } catch { return } // Kong leaves a body it cannot parse as it is
    if (transformParams(conf, params, hasBody, env, (v) => !truthy(v))) kong.service.request.setRawBody(JSON.stringify(params))
  } else if (kind === 'form') {
    const [parsed] = kong.request.getBody('application/x-www-form-urlencoded')
    const params = { ...(parsed as Params | undefined) }
    if (transformParams(conf, params, hasBody, env, (v) => v === undefined)) {
      for (const k of Object.keys(params)) if (params[k] === undefined) delete params[k]
      kong.service.request.setBody(params, 'application/x-www-form-urlencoded')
    }
  } else {
    const boundary = boundaryOf(contentType as string)
    if (boundary === undefined) return
    const body = new Multipart(raw, boundary)
    if (transformMultipart(conf, body, hasBody, env)) kong.service.request.setRawBody(body.toBuffer())
  }
}

function transformQuery (kong: Kong, conf: RequestTransformerConfig, env: Env, current: PdkQuery): void {
  if (![conf.remove, conf.rename, conf.replace, conf.add, conf.append].some((s: Section) => s.querystring.length > 0)) return
  const query: Record<string, unknown> = { ...current }
  for (const [name] of entries(conf.remove.querystring, env)) delete query[name]
  for (const [oldName, newName] of entries(conf.rename.querystring, env)) {
    const value = query[oldName]
    delete query[oldName]
    if (newName !== undefined) { if (value === undefined) delete query[newName]; else query[newName] = value }
  }
  for (const [name, value] of entries(conf.replace.querystring, env)) if (truthy(query[name])) query[name] = value
  for (const [name, value] of entries(conf.add.querystring, env)) if (!truthy(query[name])) query[name] = value
  for (const [name, value] of entries(conf.append.querystring, env)) query[name] = appendValue(query[name], value)
  for (const k of Object.keys(query)) if (query[k] === undefined) delete query[k]
  kong.service.request.setQuery(query as PdkQuery)
}

export function access (kong: Kong, conf: RequestTransformerConfig): void {
  const env = environment(kong)
  transformUri(kong, conf, env)
  const query = transformMethod(kong, conf, kong.request.getQuery())
  transformHeaders(kong, conf, env)
  transformBody(kong, conf, env)
  transformQuery(kong, conf, env, query)
}

/** The body is read only when the config can change it or move it into the query. */
export function readsBody (conf: RequestTransformerConfig): boolean {
  return hasBodyOps(conf) || conf.http_method !== null
}
