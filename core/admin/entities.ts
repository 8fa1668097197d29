// Endpoints generated from entity definitions, after Kong's kong/api/endpoints.lua:
//   /S                      GET list, POST create
//   /S/{id|key}             GET, PUT upsert, PATCH, DELETE
//   /S/{s}/f                the entity a foreign field points at (GET, PUT, PATCH; DELETE 405)
//   /F/{f}/S                children of a parent (GET list, POST create under it)
//   /F/{f}/S/{s}            one child of that parent
// A plugin-owned entity gets all of these from its definition alone.

import { randomUUID } from 'node:crypto'
import { Errors } from '../errors.js'
import { HttpError } from './http-error.js'
import type { ConfigReader, Entity, EntityStore, Page } from '../store/index.js'
import type { EntityInfo, ForeignField } from '../store/entity.js'
import { isUuid } from '../store/schema.js'
import { inferTypes } from './form.js'
import type { Req, RouteTable } from './route-table.js'

export const kForm = Symbol('tollgate.form-body')

const NOT_FOUND = { message: 'Not found' }

export function adminPath (info: EntityInfo): string {
  return info.def.adminName ?? info.name
}

function nestedPath (info: EntityInfo): string {
  return info.def.adminNestedName ?? adminPath(info)
}

export function parseTags (raw: string | string[] | undefined): { tags?: string[], tagsMode?: 'and' | 'or' } {
  if (raw === undefined) return {}
  // A repeated `tags` counts once, by its first value, as in Kong (kong/api/endpoints.lua,
  // extract_options): that is also the one the `next` link carries, so every page of a
  // list has the same filter.
  const value = Array.isArray(raw) ? raw[0] ?? '' : raw
  if (value === '') throw Errors.invalidOptions({ tags: 'cannot be null' })
  const and = value.includes(',')
  const or = value.includes('/')
  if (and && or) throw Errors.invalidOptions({ tags: 'invalid filter syntax' })
  const tags = value.split(and ? ',' : '/')
  if (tags.some((t) => t === '')) throw Errors.invalidOptions({ tags: 'invalid filter syntax' })
  if (tags.length > 5) throw Errors.invalidOptions({ tags: 'cannot query more than 5 tags' })
  return { tags, tagsMode: or ? 'or' : 'and' }
}

export function parseSize (raw: string | string[] | undefined): number | undefined {
  if (raw === undefined) return undefined
  // Kong: `tonumber` of a repeated `size` (a table) is nil, so "size must be a number".
  if (Array.isArray(raw)) throw Errors.invalidSize('size must be a number')
  const value = raw
  if (value.trim() === '' || Number.isNaN(Number(value))) throw Errors.invalidSize('size must be a number')
  return Number(value)
}

export function oneString (raw: string | string[] | undefined): string | undefined {
  return Array.isArray(raw) ? raw[0] : raw
}

/** Kong's page body: `data` always an array, `offset` and `next` only when there is more. */
export function pageBody (page: Pick<Page, 'offset'> & { data: unknown[] }, path: string, extra: string): Record<string, unknown> {
  if (page.offset === undefined) return { data: page.data, next: null }
  return { data: page.data, offset: page.offset, next: `${path}?offset=${encodeURIComponent(page.offset)}${extra}` }
}

/** The request body, typed against the schema when it came as a form; `ttl` split off as an option. */
export function readBody (store: EntityStore, req: Req, info: EntityInfo, existing?: Entity): { body: Record<string, unknown>, ttl?: number } {
  const raw = req.body ?? {}
  if (typeof raw !== 'object' || Array.isArray(raw)) throw Errors.schemaViolation({ '@entity': ['expected a record'] })
  let body = { ...(raw as Record<string, unknown>) }
  if ((req as unknown as Record<symbol, boolean>)[kForm] === true) {
    const schema = store.schemaFor(info.name, { ...existing, ...body })
    body = inferTypes(schema, body) as Record<string, unknown>
    if (typeof body.ttl === 'string' && body.ttl.trim() !== '' && !Number.isNaN(Number(body.ttl))) body.ttl = Number(body.ttl)
  }
  if (info.def.ttl === true && 'ttl' in body) {
    const { ttl, ...rest } = body
    if (ttl === null) return { body: rest }
    return { body: rest, ttl: ttl as number }
  }
  return { body }
}

/** Kong's read-only /tags endpoints: every tag of every entity, or one tag's entities. */
export function registerTagRoutes (table: RouteTable, store: ConfigReader): void {
  const page = (req: Req, path: string, tag?: string): Record<string, unknown> => {
    const size = parseSize(req.query.size)
    return pageBody(store.listTags({ tag, size, offset: oneString(req.query.offset) }), path, size !== undefined ? `&size=${size}` : '')
  }
  table.add('GET', '/tags', { summary: 'List every tag of every entity', response: 'object', tags: ['tags'] }, async (req) => page(req, '/tags'))
  table.add('GET', '/tags/:tag', { summary: 'List the entities carrying a tag', response: 'object', tags: ['tags'] }, async (req) => {
    // A path that is not valid UTF-8 never gets here (see frameworkErrors in server.ts).
    const tag = req.params.tag as string
    return page(req, `/tags/${encodeURIComponent(tag)}`, tag)
  })
}

export function registerEntityRoutes (table: RouteTable, store: EntityStore & ConfigReader): void {
  const add = table.add.bind(table)

  const bodyOf = (req: Req, info: EntityInfo, existing?: Entity) => readBody(store, req, info, existing)
  const find = (info: EntityInfo, segment: string): Entity | undefined => {
    const lookup = info.def.adminLookup
    if (lookup !== undefined && !isUuid(segment)) {
      const id = lookup(store, segment)
      return id === undefined ? undefined : store.get(info.name, id)
    }
    return store.find(info.name, store.keyFor(info.name, segment))
  }

  for (const info of store.entities) {
    // Targets: their endpoints are Kong's own (core/admin/upstreams.ts).
    if (info.def.customAdmin === true) continue
    const base = `/${adminPath(info)}`
    const item = `${base}/:key`

    const n = info.name
    const tags = [adminPath(info)]
    add('GET', base, { summary: `List ${n}`, response: { entity: n, list: true }, tags }, async (req) => {
      for (const f of info.def.listFilters ?? []) {
        if (!(f in req.query)) continue
        const value = oneString(req.query[f])
        if (value === undefined || value === '') throw new HttpError(400, `${f} must be an unempty string`)
        const e = store.find(info.name, { [f]: value })
        return { data: e === undefined ? [] : [e], next: null }
      }
      const size = parseSize(req.query.size)
      const search = oneString(req.query.search)
      const page = store.list(info.name, { size, offset: oneString(req.query.offset), ...parseTags(req.query.tags), search })
      const extra = `${size !== undefined ? `&size=${size}` : ''}${req.query.tags !== undefined ? `&tags=${encodeURIComponent(oneString(req.query.tags) ?? '')}` : ''}` +
        (search !== undefined && search !== '' ? `&search=${encodeURIComponent(search)}` : '')
      return pageBody(page, base, extra)
    })
    add('POST', base, { summary: `Create a ${n} entity`, body: n, response: { entity: n }, status: 201, tags }, async (req, reply) => {
      const { body, ttl } = bodyOf(req, info)
      return reply.code(201).send(await store.insert(info.name, body, { ttl }))
    })
    add('GET', item, { summary: `Fetch a ${n} entity by id or ${info.def.endpointKey ?? 'id'}`, response: { entity: n }, tags }, async (req, reply) => {
      const e = find(info, req.params.key as string)
      return e === undefined ? reply.code(404).send(NOT_FOUND) : e
    })
    add('PUT', item, { summary: `Create or replace a ${n} entity`, body: n, response: { entity: n }, tags }, async (req) => {
      const { body, ttl } = bodyOf(req, info, find(info, req.params.key as string))
      return store.upsert(info.name, store.keyFor(info.name, req.params.key as string), body, { ttl })
    })
    add('PATCH', item, { summary: `Update fields of a ${n} entity`, body: n, response: { entity: n }, tags }, async (req) => {
      const pk = store.keyFor(info.name, req.params.key as string)
      const existing = store.find(info.name, pk)
      if (existing === undefined) throw Errors.notFound(pk)
      const { body, ttl } = bodyOf(req, info, existing)
      return store.update(info.name, pk, body, { ttl })
    })
    add('DELETE', item, { summary: `Delete a ${n} entity`, response: 'empty', status: 204, tags }, async (req, reply) => {
      await store.delete(info.name, store.keyFor(info.name, req.params.key as string))
      return reply.code(204).send()
    })

    for (const f of info.foreign) registerForeign(info, f)
  }

  function registerForeign (child: EntityInfo, f: ForeignField): void {
    const parent = store.info(f.reference)
    if (child.def.noForeignEndpoint?.includes(f.field) !== true) registerReference(child, f, parent)
    registerChildren(child, f, parent)
  }

  function registerReference (child: EntityInfo, f: ForeignField, parent: EntityInfo): void {
    // /S/{s}/f: the referenced entity.
    const ref = `/${adminPath(child)}/:key/${f.field}`
    const target = (req: Req): Entity | undefined => {
      const c = find(child, req.params.key as string)
      const id = (c?.[f.field] as { id: string } | null | undefined)?.id
      return id === undefined ? undefined : store.get(parent.name, id)
    }
    const refTags = [adminPath(child)]
    const pn = parent.name
    add('GET', ref, { summary: `Fetch the ${pn} entity of a ${child.name} entity`, response: { entity: pn }, tags: refTags }, async (req, reply) => target(req) ?? reply.code(404).send(NOT_FOUND))
    add('PATCH', ref, { summary: `Update the ${pn} entity of a ${child.name} entity`, body: pn, response: { entity: pn }, tags: refTags }, async (req, reply) => {
      const p = target(req)
      if (p === undefined) return reply.code(404).send(NOT_FOUND)
      const { body } = bodyOf(req, parent, p)
      return store.update(parent.name, { id: p.id }, body)
    })
    add('PUT', ref, { summary: `Replace the ${pn} entity of a ${child.name} entity`, body: pn, response: { entity: pn }, tags: refTags }, async (req, reply) => {
      const p = target(req)
      if (p === undefined) return reply.code(404).send(NOT_FOUND)
      const { body } = bodyOf(req, parent, p)
      return store.upsert(parent.name, { id: p.id }, body)
    })

  }

  function registerChildren (child: EntityInfo, f: ForeignField, parent: EntityInfo): void {
    const pn = parent.name
    // /F/{f}/S and /F/{f}/S/{s}: children under a parent.
    const list = `/${adminPath(parent)}/:parent/${nestedPath(child)}`
    const one = `${list}/:key`
    const parentOf = (req: Req): Entity | undefined => find(parent, req.params.parent as string)
    const nestedKey = child.def.nestedKey
    // The parent's child whose nestedKey field is `key` (acls by group under a consumer).
    const byNestedKey = (p: Entity, field: string, key: string): Entity | undefined => {
      let offset: string | undefined
      do {
        const page: Page = store.listFor(child.name, f.field, p.id, { size: 1000, offset })
        const hit = page.data.find((e) => e[field] === key)
        if (hit !== undefined) return hit
        offset = page.offset
      } while (offset !== undefined)
      return undefined
    }
    const linked = (req: Req, p: Entity): Entity | undefined => {
      const key = req.params.key as string
      if (nestedKey !== undefined && !isUuid(key)) return byNestedKey(p, nestedKey, key)
      const c = find(child, key)
      return (c?.[f.field] as { id: string } | null | undefined)?.id === p.id ? c : undefined
    }
    const cn = child.name
    const nestedTags = [adminPath(child)]
    add('GET', list, { summary: `List the ${cn} of a ${pn} entity`, response: { entity: cn, list: true }, tags: nestedTags }, async (req, reply) => {
      const p = parentOf(req)
      if (p === undefined) return reply.code(404).send(NOT_FOUND)
      const page = store.listFor(child.name, f.field, p.id, { size: parseSize(req.query.size), offset: oneString(req.query.offset) })
      return pageBody(page, `/${adminPath(parent)}/${encodeURIComponent(req.params.parent as string)}/${nestedPath(child)}`, '')
    })
    add('POST', list, { summary: `Create a ${cn} entity for a ${pn} entity`, body: cn, response: { entity: cn }, status: 201, tags: nestedTags }, async (req, reply) => {
      const p = parentOf(req)
      if (p === undefined) return reply.code(404).send(NOT_FOUND)
      const { body, ttl } = bodyOf(req, child)
      return reply.code(201).send(await store.insert(child.name, { ...body, [f.field]: { id: p.id } }, { ttl }))
    })
    add('GET', one, { summary: `Fetch a ${cn} entity of a ${pn} entity`, response: { entity: cn }, tags: nestedTags }, async (req, reply) => {
      const p = parentOf(req)
      const c = p === undefined ? undefined : linked(req, p)
      return c ?? reply.code(404).send(NOT_FOUND)
    })
    add('PATCH', one, { summary: `Update a ${cn} entity of a ${pn} entity`, body: cn, response: { entity: cn }, tags: nestedTags }, async (req, reply) => {
      const p = parentOf(req)
      const c = p === undefined ? undefined : linked(req, p)
      if (p === undefined || c === undefined) return reply.code(404).send(NOT_FOUND)
      const { body, ttl } = bodyOf(req, child, c)
      // Kong: the parent is only a default here; a body naming another parent moves the child.
      return store.update(child.name, { id: c.id }, f.field in body ? body : { ...body, [f.field]: { id: p.id } }, { ttl })
    })
    add('PUT', one, { summary: `Create or replace a ${cn} entity of a ${pn} entity`, body: cn, response: { entity: cn }, tags: nestedTags }, async (req, reply) => {
      const p = parentOf(req)
      if (p === undefined) return reply.code(404).send(NOT_FOUND)
      const key = req.params.key as string
      if (nestedKey !== undefined && !isUuid(key)) {
        // Kong's acl api.lua: the row with that group, or a new one with it (and a new id).
        const existing = byNestedKey(p, nestedKey, key)
        const { body, ttl } = bodyOf(req, child, existing)
        const id = existing?.id ?? randomUUID()
        return store.upsert(child.name, { id }, { [nestedKey]: key, ...body, [f.field]: { id: p.id } }, { ttl })
      }
      const { body, ttl } = bodyOf(req, child, find(child, key))
      return store.upsert(child.name, store.keyFor(child.name, key), { ...body, [f.field]: { id: p.id } }, { ttl })
    })
    add('DELETE', one, { summary: `Delete a ${cn} entity of a ${pn} entity`, response: 'empty', status: 204, tags: nestedTags }, async (req, reply) => {
      const p = parentOf(req)
      const c = p === undefined ? undefined : linked(req, p)
      if (c === undefined) return reply.code(404).send(NOT_FOUND)
      await store.delete(child.name, { id: c.id })
      return reply.code(204).send()
    })
  }
}
