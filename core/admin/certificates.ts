// Certificates in the Admin API, after Kong 3.2's kong/api/routes/certificates.lua and
// kong/db/dao/certificates.lua:
//   /certificates               GET (each with its `snis`), POST (with `snis`)
//   /certificates/{id|sni}      GET, PUT, PATCH, DELETE; an SNI name stands for its certificate
// A certificate is written and read with `snis`, the sorted names of its snis rows: a write
// that carries the list makes the rows match it (in the same transaction, where Kong's DAO
// writes one row after another). /certificates/{c}/snis, /snis and the endpoints of the
// foreign keys to certificates are the generated ones (entities.ts).

import { randomUUID } from 'node:crypto'
import { Errors } from '../errors.js'
import type { ConfigReader, Entity, EntityStore, EntityWriter } from '../store/index.js'
import { checkSni } from '../store/checks.js'
import { isUuid } from '../store/schema.js'
import { oneString, pageBody, parseSize, parseTags, readBody } from './entities.js'
import type { Req, RouteTable } from './route-table.js'

const NOT_FOUND = { message: 'Not found' }
const SNI_NOT_FOUND = { message: 'SNI not found' }

type Store = EntityStore & ConfigReader

/** The names of a certificate's snis, sorted as Kong sorts them (byte order). */
export function sniNames (store: ConfigReader, certificateId: string): string[] {
  const names: string[] = []
  let offset: string | undefined
  do {
    const page = store.listFor('snis', 'certificate', certificateId, { size: 1000, offset })
    for (const sni of page.data) names.push(sni.name as string)
    offset = page.offset
  } while (offset !== undefined)
  return names.sort(byteOrder)
}

function byteOrder (a: unknown, b: unknown): number {
  const x = Buffer.from(String(a))
  const y = Buffer.from(String(b))
  return Buffer.compare(x, y)
}

/**
 * Kong's parse_name_list: `snis` as given, into a sorted list; null is the empty list and
 * absent is no list (the snis stay as they are). A single string is a list of one, as
 * Kong's prepare_args makes it for PUT and PATCH (here for POST too). A name twice is a
 * schema violation.
 */
function nameList (raw: unknown): unknown[] | undefined {
  if (raw === undefined) return undefined
  if (raw === null) return []
  const list = typeof raw === 'string' ? [raw] : Array.isArray(raw) ? [...raw as unknown[]] : undefined
  if (list === undefined) return undefined
  const seen = new Set<unknown>()
  for (const name of list) {
    if (seen.has(name)) throw Errors.schemaViolation({ snis: `${String(name)} is duplicated` })
    seen.add(name)
  }
  return list.sort(byteOrder)
}

/** Kong's check_list_is_new: no name may belong to another certificate than `certificateId`. */
function checkListIsNew (store: ConfigReader, names: unknown[], certificateId?: string): void {
  for (const name of names) {
    if (typeof name !== 'string') continue // the sni row refuses it, with the schema's words
    const row = store.find('snis', { name })
    const owner = (row?.certificate as { id: string } | undefined)?.id
    if (owner !== undefined && owner !== certificateId) {
      throw Errors.schemaViolation({ snis: `${name} already associated with existing certificate '${owner}'` })
    }
  }
}

/** Kong's update_list: adds the names the certificate lacks, then deletes those it no longer has. */
function updateList (store: ConfigReader, tx: EntityWriter, certificateId: string, names: unknown[]): void {
  const current = sniNames(store, certificateId)
  for (const name of names) if (!current.includes(name as string)) tx.insert('snis', { name, certificate: { id: certificateId } })
  for (const name of current) if (!names.includes(name)) tx.delete('snis', { name })
}

/**
 * The certificate id a URL segment names: an id, or the name of one of its snis (Kong's
 * prepare_params). An SNI Kong would refuse as a name is its `invalid unique name` 400.
 */
function segmentId (store: ConfigReader, segment: string): { id?: string, name?: string } {
  if (isUuid(segment)) return { id: segment.toLowerCase() }
  const err = checkSni(segment, true)
  if (err !== undefined) throw Errors.invalidUnique('name', err)
  const sni = store.find('snis', { name: segment })
  return { id: (sni?.certificate as { id: string } | undefined)?.id, name: segment }
}

export function registerCertificateRoutes (table: RouteTable, store: Store): void {
  const info = store.info('certificates')
  const tags = ['certificates']
  const withNames = (cert: Entity, names?: unknown[]): Entity => ({ ...cert, snis: names ?? sniNames(store, cert.id) })
  const split = (req: Req, existing?: Entity): { body: Record<string, unknown>, names: unknown[] | undefined } => {
    const { body } = readBody(store, req, info, existing)
    const { snis, ...rest } = body
    return { body: rest, names: nameList(snis) }
  }

  table.add('GET', '/certificates', { summary: 'List certificates, each with its SNI names', response: { entity: 'certificates', list: true }, tags }, async (req) => {
    const size = parseSize(req.query.size)
    const page = store.list('certificates', { size, offset: oneString(req.query.offset), ...parseTags(req.query.tags) })
    const extra = `${size !== undefined ? `&size=${size}` : ''}${req.query.tags !== undefined ? `&tags=${encodeURIComponent(oneString(req.query.tags) ?? '')}` : ''}`
    return pageBody({ ...page, data: page.data.map((c) => withNames(c)) }, '/certificates', extra)
  })

  table.add('POST', '/certificates', { summary: 'Create a certificate, with its SNI names', body: 'certificates', response: { entity: 'certificates' }, status: 201, tags }, async (req, reply) => {
    const { body, names } = split(req)
    if (names === undefined) return reply.code(201).send(withNames(await store.insert('certificates', body), []))
    const cert = await store.transaction((tx) => {
      checkListIsNew(store, names)
      const c = tx.insert('certificates', body)
      for (const name of names) tx.insert('snis', { name, certificate: { id: c.id } })
      return c
    })
    return reply.code(201).send(withNames(cert, names))
  })

  const item = '/certificates/:key'
  table.add('GET', item, { summary: 'Fetch a certificate by id or by one of its SNI names', response: { entity: 'certificates' }, tags }, async (req, reply) => {
    const { id, name } = segmentId(store, req.params.key as string)
    const cert = id === undefined ? undefined : store.get('certificates', id)
    if (cert === undefined) return reply.code(404).send(name === undefined ? NOT_FOUND : SNI_NOT_FOUND)
    return withNames(cert)
  })

  table.add('PUT', item, { summary: 'Create or replace a certificate, with its SNI names', body: 'certificates', response: { entity: 'certificates' }, tags }, async (req) => {
    const seg = segmentId(store, req.params.key as string)
    // A new SNI name in the URL makes a new certificate, which gets that name (Kong's prepare_args).
    const id = seg.id ?? randomUUID()
    const { body, names: given } = split(req, store.get('certificates', id))
    let names = given ?? []
    if (seg.name !== undefined && !names.includes(seg.name) && given !== undefined) names = [...names, seg.name].sort(byteOrder)
    const cert = await store.transaction((tx) => {
      checkListIsNew(store, names, id)
      const c = tx.upsert('certificates', { id }, body)
      updateList(store, tx, id, names)
      return c
    })
    return withNames(cert, names)
  })

  table.add('PATCH', item, { summary: 'Update fields of a certificate, and its SNI names', body: 'certificates', response: { entity: 'certificates' }, tags }, async (req, reply) => {
    const { id, name } = segmentId(store, req.params.key as string)
    const existing = id === undefined ? undefined : store.get('certificates', id)
    if (id === undefined || existing === undefined) {
      if (name !== undefined) return reply.code(404).send(SNI_NOT_FOUND)
      throw Errors.notFound({ id: req.params.key as string })
    }
    const { body, names } = split(req, existing)
    if (names === undefined) return withNames(await store.update('certificates', { id }, body))
    const cert = await store.transaction((tx) => {
      checkListIsNew(store, names, id)
      const c = tx.update('certificates', { id }, body)
      updateList(store, tx, id, names)
      return c
    })
    return withNames(cert, names)
  })

  table.add('DELETE', item, { summary: 'Delete a certificate and its SNIs', response: 'empty', status: 204, tags }, async (req, reply) => {
    const { id, name } = segmentId(store, req.params.key as string)
    if (id === undefined) return reply.code(404).send(SNI_NOT_FOUND)
    if (name !== undefined && store.get('certificates', id) === undefined) return reply.code(404).send(SNI_NOT_FOUND)
    await store.delete('certificates', { id })
    return reply.code(204).send()
  })
}
