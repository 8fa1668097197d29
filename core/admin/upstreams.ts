// Targets under their upstream, after Kong 3.2's kong/api/routes/upstreams.lua. Kong
// serves targets only there (kong/api/routes/targets.lua disables /targets, /targets/{t}
// and /targets/{t}/upstream, which therefore answer 404 here too):
//   /upstreams/{u}/targets       GET newest first (weight 0 included), POST; PUT/PATCH/DELETE 405
//   /upstreams/{u}/targets/all   GET the rows as stored, paged by the store's offsets
//   /upstreams/{u}/targets/{t}   GET, PATCH, PUT, DELETE one target, by id or by host:port
// PUT is an update like PATCH (Kong's update_target_cb for both): it cannot create. The
// health endpoints (/upstreams/{u}/health, .../targets/{t}/healthy|unhealthy) belong to
// the balancer; they find targets with `findTarget`.

import { Errors } from '../errors.js'
import { targetsOf, type ConfigReader, type Entity, type EntityStore } from '../store/index.js'
import { isUuid } from '../store/schema.js'
import { oneString, pageBody, parseSize, readBody } from './entities.js'
import type { Handler, Req, RouteTable } from './route-table.js'

const NOT_FOUND = { message: 'Not found' }
const DEFAULT_SIZE = 100
const MAX_SIZE = 1000

/** Path templates, for whoever adds endpoints under one target. */
export const TARGETS_PATH = '/upstreams/:parent/targets'
export const TARGET_PATH = `${TARGETS_PATH}/:key`

/**
 * The upstream a URL names (by id or name) and, within it, the target (by id, or by its
 * `host:port` exactly as stored: Kong compares the string, so `a.test` does not find
 * `a.test:8000`). A target of another upstream is not found. An upstream name Kong would
 * refuse throws its `invalid unique name` error (a 400 in a route handler).
 */
export function findTarget (store: EntityStore & ConfigReader, upstreamSegment: string, targetSegment: string): { upstream?: Entity, target?: Entity } {
  const upstream = store.find('upstreams', store.keyFor('upstreams', upstreamSegment))
  if (upstream === undefined) return {}
  if (isUuid(targetSegment)) {
    const target = store.get('targets', targetSegment)
    return (target?.upstream as { id: string } | undefined)?.id === upstream.id ? { upstream, target } : { upstream }
  }
  const target = targetsOf(store, upstream.id).reverse().find((t) => t.target === targetSegment)
  return { upstream, target: target as unknown as Entity | undefined }
}

/** `size` of the newest-first list, checked as the store checks it for every other list. */
function listSize (raw: string | string[] | undefined): number {
  const size = parseSize(raw) ?? DEFAULT_SIZE
  if (!Number.isInteger(size) || size < 1 || size > MAX_SIZE) throw Errors.invalidSize(`size must be an integer between 1 and ${MAX_SIZE}`)
  return size
}

/** Kong pages this list by position: the offset is the number of targets already served. */
function listOffset (raw: string | undefined): number {
  if (raw === undefined) return 0
  if (!/^\d+$/.test(raw)) throw Errors.invalidOffset(raw, 'bad integer')
  return Number(raw)
}

export function registerUpstreamRoutes (table: RouteTable, store: EntityStore & ConfigReader): void {
  const info = store.info('targets')
  const tags = ['targets']
  const upstreamOf = (req: Req): Entity | undefined => store.find('upstreams', store.keyFor('upstreams', req.params.parent as string))
  const base = (req: Req): string => `/upstreams/${encodeURIComponent(req.params.parent as string)}/targets`

  table.add('GET', TARGETS_PATH, { summary: 'List the targets of an upstream, newest first', response: { entity: 'targets', list: true }, tags }, async (req, reply) => {
    const upstream = upstreamOf(req)
    if (upstream === undefined) return reply.code(404).send(NOT_FOUND)
    const size = listSize(req.query.size)
    const start = listOffset(oneString(req.query.offset))
    // Kong 3.2 (kong/db/dao/targets.lua page_for_upstream): every target, weight 0
    // included, newest first; the offset is the position of the next page.
    const all = targetsOf(store, upstream.id).reverse()
    const next = start + size < all.length ? String(start + size) : undefined
    return pageBody({ data: all.slice(start, start + size), offset: next }, base(req), '')
  })

  table.add('POST', TARGETS_PATH, { summary: 'Add a target to an upstream', body: 'targets', response: { entity: 'targets' }, status: 201, tags }, async (req, reply) => {
    const upstream = upstreamOf(req)
    if (upstream === undefined) return reply.code(404).send(NOT_FOUND)
    const { body } = readBody(store, req, info)
    return reply.code(201).send(await store.insert('targets', { ...body, upstream: { id: upstream.id } }))
  })

  table.add('GET', `${TARGETS_PATH}/all`, { summary: 'List the targets of an upstream as stored', response: { entity: 'targets', list: true }, tags }, async (req, reply) => {
    const upstream = upstreamOf(req)
    if (upstream === undefined) return reply.code(404).send(NOT_FOUND)
    const page = store.listFor('targets', 'upstream', upstream.id, { size: parseSize(req.query.size), offset: oneString(req.query.offset) })
    return pageBody(page, `${base(req)}/all`, '')
  })

  const one = (req: Req): { upstream?: Entity, target?: Entity } => findTarget(store, req.params.parent as string, req.params.key as string)

  table.add('GET', TARGET_PATH, { summary: 'Fetch a target by id or host:port', response: { entity: 'targets' }, tags }, async (req, reply) => {
    return one(req).target ?? reply.code(404).send(NOT_FOUND)
  })

  const update: Handler = async (req, reply) => {
    const { target } = one(req)
    if (target === undefined) return reply.code(404).send(NOT_FOUND)
    const { body } = readBody(store, req, info, target)
    return store.update('targets', { id: target.id }, body)
  }
  table.add('PATCH', TARGET_PATH, { summary: 'Update fields of a target', body: 'targets', response: { entity: 'targets' }, tags }, update)
  table.add('PUT', TARGET_PATH, { summary: 'Update fields of a target (as PATCH: Kong cannot create a target by PUT)', body: 'targets', response: { entity: 'targets' }, tags }, update)

  table.add('DELETE', TARGET_PATH, { summary: 'Delete a target', response: 'empty', status: 204, tags }, async (req, reply) => {
    const { target } = one(req)
    if (target === undefined) return reply.code(404).send(NOT_FOUND)
    await store.delete('targets', { id: target.id })
    return reply.code(204).send()
  })
}
