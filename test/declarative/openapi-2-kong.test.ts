// Declarative files made by a real tool load unchanged and serve every route they define.
// The fixtures are openapi-2-kong's output for public OpenAPI documents (see
// test/fixtures/declarative/openapi-2-kong/README.md). For each route the request is built
// from the source OpenAPI document, not from the route itself: the operation's method and
// its path template with sample parameter values. The route's regex only pairs routes with
// operations, and each operation must be claimed by exactly one route, so a loader that
// drops, merges or misreads routes fails here. The parser is also checked on its own, so a
// failure points at parsing or at loading.
//
// All upstream traffic goes to a local echo server: the services name public hosts
// (petstore.swagger.io, developer.uspto.gov, stapi.co) that must never be contacted.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { request } from 'undici'
import { load as loadYaml } from 'js-yaml'
import { parseDeclarative } from '../../core/declarative/parse.js'
import type { Peer, PeerSelector } from '../../core/proxy/peers.js'
import { echo, startTestGateway, startUpstream, until, type TestGateway } from '../helpers/gateway.js'
import { tempStore } from '../helpers/store.js'

const DIR = join(import.meta.dirname, '..', 'fixtures', 'declarative', 'openapi-2-kong')

/** The fixtures and their route counts, so an edited or truncated file is noticed. */
const FIXTURES = [
  { name: 'petstore-expanded', routes: 4 },
  { name: 'uspto', routes: 3 },
  { name: 'star-trek', routes: 120 },
]

/** The operation keys of an OpenAPI path item, as openapi-2-kong reads them. */
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']

interface Operation { method: string, template: string, path: string }
interface KongRoute { name: string, methods: string[], paths: string[], strip_path: boolean, service: { name: string, host: string, port: number, protocol: string, path?: string } }

/** Every operation of the OpenAPI document, with a concrete request path. */
function operations (api: any): Operation[] {
  const out: Operation[] = []
  for (const [template, item] of Object.entries<any>(api.paths)) {
    for (const m of METHODS) {
      const op = item[m]
      if (op === undefined || op === null) continue
      const params = [...(item.parameters ?? []), ...(op.parameters ?? [])].map((p: any) => resolveRef(api, p))
      const path = template.replace(/{([^}]+)}/g, (_, name: string) => {
        const p = params.find((x: any) => x.in === 'path' && x.name === name)
        return encodeURIComponent(String(sample(p, name)))
      })
      out.push({ method: m.toUpperCase(), template, path })
    }
  }
  return out
}

function resolveRef (api: any, node: any): any {
  if (typeof node?.$ref !== 'string') return node
  return (node.$ref as string).slice(2).split('/').reduce((o: any, k) => o[k], api)
}

/** A value the parameter would accept: its example or default, else one of its type. */
function sample (p: any, name: string): unknown {
  const v = p?.example ?? p?.schema?.example ?? p?.schema?.default
  if (v !== undefined) return v
  const type = p?.schema?.type
  return type === 'integer' || type === 'number' ? 42 : `sample-${name}`
}

/** Every route of a declarative file, with its service (openapi-2-kong nests them). */
function routes (doc: any): KongRoute[] {
  if (doc.routes !== undefined) throw new Error('top-level routes: not expected from openapi-2-kong')
  return (doc.services ?? []).flatMap((s: any) => (s.routes ?? []).map((r: any) => ({ ...r, service: s })))
}

/**
 * Whether a route path of a `_format_version` 1.1 file matches the request path as Kong 3
 * reads it: a path with any character outside `[a-zA-Z0-9.\-_~/%]` is a regex (the format's
 * migration prefixes it with `~`), anchored at the start only; any other path is a prefix.
 */
function kongPathMatches (routePath: string, path: string): boolean {
  if (/^[a-zA-Z0-9.\-_~/%]*$/.test(routePath)) return path.startsWith(routePath)
  return new RegExp(`^(?:${routePath})`).test(path)
}

/** Kong's upstream path for a route that does not strip (path_handling v0). */
function upstreamPath (base: string, path: string): string {
  if (base.endsWith('/')) return base + path.slice(1)
  return path === '/' ? base : base + path
}

/** The Host header Kong sends for a service when the route does not preserve the client's. */
function hostHeader (s: KongRoute['service']): string {
  const standard = (s.protocol === 'http' && s.port === 80) || (s.protocol === 'https' && s.port === 443)
  return standard ? s.host : `${s.host}:${s.port}`
}

/** Every attempt to the echo server, whatever host the service names. */
function toLocal (port: number): PeerSelector {
  const peer: Peer = { protocol: 'http', host: '127.0.0.1', port, hostHeader: undefined }
  return { select: () => peer, done () {} }
}

/** Pairs each route with the one operation it serves, checking that the pairing is one to one. */
function pair (t: Test, rs: KongRoute[], ops: Operation[]): Array<[KongRoute, Operation]> {
  t.equal(ops.length, rs.length, 'one route per OpenAPI operation')
  const pairs: Array<[KongRoute, Operation]> = []
  for (const op of ops) {
    const claim = rs.filter((r) => r.methods.includes(op.method) && r.paths.some((p) => kongPathMatches(p, op.path)))
    t.equal(claim.length, 1, `${op.method} ${op.template} (${op.path}) is matched by exactly one route`)
    if (claim.length === 1) pairs.push([claim[0] as KongRoute, op])
  }
  t.equal(new Set(pairs.map(([r]) => r)).size, rs.length, 'every route serves an operation')
  return pairs
}

/** Whether the gateway runs DB-less; when not, every route would 404 and say nothing useful. */
function dbless (t: Test, gw: TestGateway): boolean {
  return t.equal(gw.gateway.config.database, 'off', 'running DB-less')
}

interface Sent { status: number, headers: Record<string, string | string[] | undefined>, body: any }

async function send (gw: TestGateway, method: string, path: string): Promise<Sent> {
  const res = await request(`${gw.proxy}${path}`, { method: method as 'GET', headers: { 'kong-debug': '1' } })
  const text = await res.body.text()
  let body: any = text
  try { body = JSON.parse(text) } catch {}
  return { status: res.statusCode, headers: res.headers, body }
}

/** Sends each route's request and checks that route served it, as Kong would have. */
async function checkRoutes (t: Test, gw: TestGateway, pairs: Array<[KongRoute, Operation]>): Promise<number> {
  let served = 0
  for (const [i, [route, op]] of pairs.entries()) {
    const what = `${op.method} ${op.path} → ${route.name}`
    // A query string rides along: routing ignores it and Kong passes it on as sent.
    const res = await send(gw, op.method, `${op.path}?oas=${i}`)
    t.equal(res.status, 200, `${what}: proxied`)
    t.equal(res.headers['kong-route-name'], route.name, `${what}: the route`)
    t.equal(res.headers['kong-service-name'], route.service.name, `${what}: the service`)
    t.equal(res.body?.method, op.method, `${what}: upstream method`)
    // strip_path: false, so the whole request path follows the service's path.
    t.equal(route.strip_path, false, `${what}: strip_path is false in the file`)
    t.equal(res.body?.url, `${upstreamPath(route.service.path ?? '/', op.path)}?oas=${i}`, `${what}: upstream path`)
    t.equal(res.body?.headers?.host, hostHeader(route.service), `${what}: upstream Host`)
    // Every generated path ends in `$`: a longer path is not this route's.
    const longer = await send(gw, op.method, `${op.path}/extra-segment`)
    t.not(longer.headers['kong-route-name'], route.name, `${what}: not for a longer path`)
    if (res.status === 200 && res.headers['kong-route-name'] === route.name) served++
  }
  // A method no route has, and a path no route has: nothing may serve them.
  const used = new Set(pairs.flatMap(([r]) => r.methods))
  const unused = ['PATCH', 'PUT', 'DELETE', 'OPTIONS'].find((m) => !used.has(m))
  if (unused !== undefined) {
    const res = await send(gw, unused, (pairs[0] as [KongRoute, Operation])[1].path)
    t.same([res.status, res.body?.message], [404, 'no Route matched with those values'], `${unused} matches no route`)
  }
  const none = await send(gw, 'GET', '/no-such-openapi-path')
  t.same([none.status, none.body?.message], [404, 'no Route matched with those values'], 'an unknown path matches no route')
  return served
}

for (const fixture of FIXTURES) {
  const file = join(DIR, `${fixture.name}.kong.yml`)
  const text = readFileSync(file, 'utf8')
  // The tool aliases one tags list from every entity: a service of 120 routes has over 120
  // aliases (more than the `yaml` package's default limit of 100 allows; js-yaml has none).
  const doc = loadYaml(text) as any
  const api = loadYaml(readFileSync(join(DIR, 'openapi', `${fixture.name}.yaml`), 'utf8')) as any

  t.test(`${fixture.name}: parsed and flattened as Kong does`, async (t) => {
    const config = parseDeclarative(text, tempStore(t), { filename: file })
    const services = config.entities.get('services') ?? []
    const parsed = config.entities.get('routes') ?? []
    t.same([...config.entities.keys()].filter((k) => (config.entities.get(k) ?? []).length > 0), ['services', 'routes'], 'only services and routes')
    t.equal(parsed.length, fixture.routes, 'every route')
    const byName = new Map(services.map((s: any) => [s.name, s.id]))
    for (const [i, route] of routes(doc).entries()) {
      const got = parsed[i] as any
      t.equal(got?.name, route.name, `route ${i}: name, in file order`)
      // Format 1.1 is migrated: each of these paths has regex characters, so it gains `~`.
      t.same(got?.paths, route.paths.map((p) => `~${p}`), `${route.name}: paths migrated to 3.0`)
      t.same([got?.methods, got?.strip_path, got?.tags], [route.methods, false, doc.services[0].tags], `${route.name}: methods, strip_path, aliased tags`)
      t.equal(got?.service?.id, byName.get(route.service.name), `${route.name}: its service`)
    }
  })

  t.test(`${fixture.name}: loaded at start from declarative_config`, async (t) => {
    const rs = routes(doc)
    t.equal(rs.length, fixture.routes, 'routes in the file')
    const pairs = pair(t, rs, operations(api))
    const up = await startUpstream(t, echo)
    const gw = await startTestGateway(t, {
      config: { database: 'off', declarative_config: file, allow_debug_header: 'on' },
      peers: toLocal(up.port),
    })
    if (!dbless(t, gw)) return
    t.equal(await checkRoutes(t, gw, pairs), fixture.routes, 'every route served')
  })

  // The file's text as it is: in the `config` field (Kong's documented JSON form), and as a
  // raw YAML body.
  const bodies = [
    { form: 'a JSON config field', type: 'application/json', body: JSON.stringify({ config: text }) },
    { form: 'a raw YAML body', type: 'application/yaml', body: text },
  ]
  for (const { form, type, body } of bodies) {
    t.test(`${fixture.name}: loaded through POST /config, ${form}`, async (t) => {
      const pairs = pair(t, routes(doc), operations(api))
      const up = await startUpstream(t, echo)
      const gw = await startTestGateway(t, { config: { database: 'off', allow_debug_header: 'on' }, peers: toLocal(up.port) })
      if (!dbless(t, gw)) return
      const res = await request(`${gw.admin}/config`, { method: 'POST', headers: { 'content-type': type }, body })
      const answer = await res.body.text()
      if (!t.equal(res.statusCode, 201, `POST /config: ${answer.slice(0, 500)}`)) return
      // The new configuration reaches the proxy asynchronously, as in Kong.
      const [first, firstOp] = pairs[0] as [KongRoute, Operation]
      await until(async () => (await send(gw, firstOp.method, firstOp.path)).headers['kong-route-name'] === first.name, 'the posted configuration to be served')
      t.equal(await checkRoutes(t, gw, pairs), fixture.routes, 'every route served')
    })
  }
}
