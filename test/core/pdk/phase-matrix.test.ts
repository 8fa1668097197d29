// Every PDK function in every phase: either it runs, or it throws Kong's phase error naming
// itself and the phases it is allowed in. The oracle is Kong's own phase-check tests,
// t/01-pdk/*/00-phase_checks.t (Kong at 22246ef), transcribed below for the five phases
// Tollgate has. Kong's tables also cover init_worker, certificate, response, preread and
// admin_api, which Tollgate does not run plugins in; those columns are left out.
//
// Kong's values: true (works), false (fails), 'forced false' (works without the phase
// checker, fails with it: a phase rule, as false is here), 'pending' (Kong does not test
// it; DOCUMENTED below gives the answer from Kong's docs, which win over its source).
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SharedMemory } from '../../../core/shm/index.js'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Kong, type PdkEnv } from '../../../core/pdk/index.js'
import { PHASES, type PhaseRule } from '../../../core/pdk/private/phases.js'
import { RequestContext } from '../../../core/runtime/context.js'
import type { EntityCache } from '../../../core/runtime/entity-cache.js'
import { Phase, PhaseError, phaseList, type PhaseName } from '../../../core/runtime/phases.js'
import type { Logger } from '../../../core/log.js'
import type { Consumer, Route, Service } from '../../../core/store/index.js'
import { pem } from '../../helpers/tls.js'

type Kv = boolean | 'forced false' | 'pending'
type Row = [method: string, rewrite: Kv, access: Kv, header_filter: Kv, body_filter: Kv, log: Kv]

const PHASE_NAMES: PhaseName[] = ['rewrite', 'access', 'header_filter', 'body_filter', 'log']

// Columns: method, rewrite, access, header_filter, body_filter, log.
const KONG: Record<string, { file: string, rows: Row[] }> = {
  'kong.request': {
    file: 't/01-pdk/04-request/00-phase_checks.t',
    rows: [
      ['get_scheme', true, true, true, true, true],
      ['get_host', true, true, true, true, true],
      ['get_port', true, true, true, true, true],
      ['get_forwarded_scheme', true, true, true, true, true],
      ['get_forwarded_host', true, true, true, true, true],
      ['get_forwarded_port', true, true, true, true, true],
      ['get_forwarded_path', true, true, true, true, true],
      ['get_forwarded_prefix', true, true, true, true, true],
      ['get_http_version', true, true, true, true, true],
      ['get_method', true, true, true, true, true],
      ['get_path', true, true, true, true, true],
      ['get_raw_path', true, true, true, true, true],
      ['get_path_with_query', true, true, true, true, true],
      ['get_raw_query', true, true, true, true, true],
      ['get_query_arg', true, true, true, true, true],
      ['get_query', true, true, true, true, true],
      ['get_header', true, true, true, true, true],
      ['get_headers', true, true, true, true, true],
      ['get_raw_body', true, true, false, false, false],
      ['get_body', true, true, false, false, false],
      ['get_start_time', true, true, true, true, true],
      ['get_uri_captures', true, true, true, true, true],
    ],
  },
  'kong.response': {
    // TEST 1, and TEST 3 for exit without a body (the one that runs exit in header_filter;
    // TESTs 4-12 run exit in rewrite, access and admin_api only).
    file: 't/01-pdk/08-response/00-phase_checks.t',
    rows: [
      ['get_status', 'forced false', false, true, true, true],
      ['get_header', 'forced false', false, true, true, true],
      ['get_headers', 'forced false', false, true, true, true],
      ['set_status', true, true, true, false, false],
      ['set_header', true, true, true, false, false],
      ['add_header', true, true, true, false, false],
      ['clear_header', true, true, true, false, false],
      ['set_headers', true, true, true, false, false],
      ['exit', true, true, true, false, false], // TEST 3: exit(200), no body
      ['get_source', 'forced false', 'forced false', true, true, true],
      ['error', true, true, 'pending', false, false],
      ['get_raw_body', false, false, false, true, false],
      ['set_raw_body', false, false, false, true, false],
    ],
  },
  'kong.client': {
    file: 't/01-pdk/05-client/00-phase_checks.t',
    rows: [
      ['get_ip', true, true, true, true, true],
      ['get_forwarded_ip', true, true, true, true, true],
      ['get_port', true, true, true, true, true],
      ['get_forwarded_port', true, true, true, true, true],
      ['get_credential', 'forced false', true, true, true, true],
      ['get_consumer', 'forced false', true, true, true, true],
      ['authenticate', 'forced false', true, 'forced false', 'forced false', 'forced false'],
      ['get_protocol', 'forced false', true, true, true, true],
      ['load_consumer', 'forced false', true, true, true, true],
    ],
  },
  'kong.service.request': {
    file: 't/01-pdk/06-service-request/00-phase_checks.t',
    rows: [
      ['enable_buffering', true, true, 'forced false', 'forced false', 'forced false'],
      ['set_scheme', true, true, 'forced false', 'forced false', 'forced false'],
      ['set_method', true, true, 'forced false', 'forced false', 'forced false'],
      ['set_path', true, true, 'forced false', 'forced false', 'forced false'],
      ['set_raw_query', true, true, 'forced false', 'forced false', 'forced false'],
      ['set_query', true, true, 'forced false', 'forced false', 'forced false'],
      ['clear_query_arg', true, true, 'forced false', 'forced false', 'forced false'],
      ['set_header', true, true, 'forced false', 'forced false', 'forced false'],
      ['add_header', true, true, 'forced false', 'forced false', 'forced false'],
      ['clear_header', true, true, 'forced false', 'forced false', 'forced false'],
      ['set_headers', true, true, 'forced false', 'forced false', 'forced false'],
      ['set_raw_body', true, true, false, false, false],
      ['set_body', true, true, false, false, false],
      ['disable_tls', 'forced false', 'forced false', 'forced false', 'forced false', 'forced false'],
      ['enable_tls', 'forced false', 'forced false', 'forced false', 'forced false', 'forced false'],
    ],
  },
  'kong.service': {
    // Kong passes parsed OpenSSL objects to set_tls_cert_key and set_tls_verify_store;
    // Tollgate takes PEM text.
    file: 't/01-pdk/09-service/00-phase_checks.t',
    rows: [
      ['set_upstream', 'forced false', true, 'forced false', 'forced false', 'forced false'],
      ['set_target', 'forced false', true, 'forced false', 'forced false', 'forced false'],
      ['set_tls_cert_key', true, true, false, false, false],
      ['set_tls_verify', true, true, false, false, false],
      ['set_tls_verify_depth', true, true, false, false, false],
      ['set_tls_verify_store', true, true, false, false, false],
    ],
  },
  'kong.service.response': {
    file: 't/01-pdk/07-service-response/00-phase_checks.t',
    rows: [
      ['get_status', 'forced false', 'forced false', true, true, true],
      ['get_headers', 'forced false', 'forced false', true, true, true],
      ['get_header', 'forced false', 'forced false', true, true, true],
      ['get_raw_body', 'pending', 'pending', 'pending', 'pending', 'pending'],
      ['get_body', 'pending', 'pending', 'pending', 'pending', 'pending'],
    ],
  },
  'kong.log': {
    // Kong leaves err out: its test fails on any error line in the log.
    file: 't/01-pdk/02-log/00-phase_checks.t',
    rows: [
      ['new', true, true, true, true, true],
      ['set_format', true, true, true, true, true],
      ['serialize', 'forced false', 'forced false', 'forced false', 'forced false', true],
      ['set_serialize_value', true, true, true, true, true],
      ['debug', true, true, true, true, true],
      ['info', true, true, true, true, true],
      ['notice', true, true, true, true, true],
      ['warn', true, true, true, true, true],
      ['crit', true, true, true, true, true],
      ['alert', true, true, true, true, true],
      ['emerg', true, true, true, true, true],
    ],
  },
  'kong.router': {
    file: 't/01-pdk/13-router/00-phase_checks.t',
    rows: [
      ['get_route', 'forced false', true, true, true, true],
      ['get_service', 'forced false', true, true, true, true],
    ],
  },
  'kong.node': {
    file: 't/01-pdk/12-node/00-phase_checks.t',
    rows: [
      ['get_id', true, true, true, true, true],
      ['get_memory_stats', true, true, true, true, true],
      ['get_hostname', true, true, true, true, true],
    ],
  },
}

const ALL_FIVE: PhaseName[] = PHASE_NAMES
const RESPONSE_PHASES: PhaseName[] = ['header_filter', 'body_filter', 'log']

/**
 * Where Kong's tests say nothing (pending, or no row at all), the phases Kong's docs give
 * (3.2; they are generated from the @phases tags of kong/pdk/*.lua).
 */
const DOCUMENTED: Record<string, { phases: PhaseName[], source: string }> = {
  'kong.response.error': { phases: ['rewrite', 'access', 'header_filter'], source: 'kong.response.error: rewrite, access, admin_api, header_filter (only if body is nil)' },
  'kong.service.response.getRawBody': { phases: RESPONSE_PHASES, source: 'kong.service.response.get_raw_body: header_filter, body_filter, log' },
  'kong.log': { phases: ALL_FIVE, source: 'kong.log(...): init_worker, certificate, rewrite, access, header_filter, response, body_filter, log' },
  'kong.log.err': { phases: ALL_FIVE, source: 'kong.log.LEVEL(...): init_worker, certificate, rewrite, access, header_filter, response, body_filter, log' },
  'kong.plugin.getId': { phases: ALL_FIVE, source: 'kong.plugin.get_id: rewrite, access, header_filter, response, body_filter, log' },
}

/** Functions Kong does not have: they keep their own rules, listed here to be seen. */
const TOLLGATE_ONLY: Record<string, PhaseName[]> = {
  'kong.db.get': ALL_FIVE,
  'kong.db.find': ALL_FIVE,
  'kong.db.listFor': ALL_FIVE,
  'kong.db.incrCounter': ALL_FIVE,
  'kong.plugin.skipBodyFilter': ['rewrite', 'access', 'header_filter'],
  // serialize()'s latencies and sizes alone, for metrics plugins: serialize's phase.
  'kong.log.latencies': ['log'],
  'kong.log.sizes': ['log'],
}

/** Kong functions Tollgate does not have (yet). */
const NOT_IN_TOLLGATE = new Set([
  'kong.service.setUpstream',
  'kong.service.setTarget',
  'kong.service.request.enableBuffering',
  'kong.service.request.disableTls',
  'kong.service.request.enableTls',
  'kong.service.response.getBody',
  'kong.log.new',
  'kong.log.setFormat',
  'kong.node.getMemoryStats',
  'kong.node.getHostname',
])

const camel = (s: string): string => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())

/** What Kong allows, by Tollgate's function name, and where that comes from. */
const expected = new Map<string, { phases: PhaseName[], source: string }>()
for (const [ns, { file, rows }] of Object.entries(KONG)) {
  for (const [method, ...cols] of rows) {
    const fn = `${ns}.${camel(method)}`
    if (cols.includes('pending')) continue // DOCUMENTED answers these
    expected.set(fn, { phases: PHASE_NAMES.filter((_, i) => cols[i] === true), source: `Kong ${file}` })
  }
}
for (const [fn, d] of Object.entries(DOCUMENTED)) expected.set(fn, { phases: d.phases, source: `Kong's docs: ${d.source}` })
for (const [fn, phases] of Object.entries(TOLLGATE_ONLY)) expected.set(fn, { phases, source: 'Tollgate only' })

const CA_PEM = pem('ca-cert')
const CLIENT_PEM = pem('client-cert')
const CLIENT_KEY = pem('client-key')

const consumer = { id: '5a1b2c3d-0000-4000-8000-000000000001', username: 'bob' } as unknown as Consumer
const service = { id: 'svc', name: 'svc', protocol: 'http', host: 'upstream.test', port: 80, path: null } as unknown as Service
const route = { id: 'rt', paths: ['/t'], strip_path: true } as unknown as Route

/** Valid arguments per function (Kong's own where its table gives some). */
const ARGS: Record<string, unknown[]> = {
  'kong.request.getQueryArg': ['foo'],
  'kong.request.getHeader': ['Host'],
  'kong.request.getBody': ['application/json'],
  'kong.response.getHeader': ['X-Foo'],
  'kong.response.setStatus': [200],
  'kong.response.setHeader': ['X-Foo', 'bar'],
  'kong.response.addHeader': ['X-Foo', 'bar'],
  'kong.response.clearHeader': ['X-Foo'],
  'kong.response.setHeaders': [{ 'X-Foo': 'bar' }],
  'kong.response.exit': [200],
  'kong.response.error': [500],
  'kong.response.setRawBody': ['lorem, ipsum'],
  'kong.client.authenticate': [consumer, { id: 'cred' }],
  'kong.client.loadConsumer': ['bob', true],
  'kong.service.request.setScheme': ['http'],
  'kong.service.request.setPath': ['/'],
  'kong.service.request.setRawQuery': ['foo=bar&baz=bla'],
  'kong.service.request.setQuery': [{ foo: 'bar', baz: 'bla' }],
  'kong.service.request.clearQueryArg': ['foo'],
  'kong.service.request.setMethod': ['GET'],
  'kong.service.request.setHeader': ['X-Foo', 'bar'],
  'kong.service.request.addHeader': ['X-Foo', 'bar'],
  'kong.service.request.clearHeader': ['X-Foo'],
  'kong.service.request.setHeaders': [{ 'X-Foo': 'bar' }],
  'kong.service.request.setRawBody': ['foo'],
  'kong.service.request.setBody': [{ foo: 'bar' }, 'application/json'],
  'kong.service.response.getHeader': ['Content-Type'],
  'kong.service.setTlsVerify': [true],
  'kong.service.setTlsVerifyDepth': [2],
  'kong.service.setTlsVerifyStore': [CA_PEM],
  'kong.service.setTlsCertKey': [CLIENT_PEM, CLIENT_KEY],
  'kong.log': ['foo'],
  'kong.log.debug': ['foo'],
  'kong.log.info': ['foo'],
  'kong.log.notice': ['foo'],
  'kong.log.warn': ['foo'],
  'kong.log.err': ['foo'],
  'kong.log.crit': ['foo'],
  'kong.log.alert': ['foo'],
  'kong.log.emerg': ['foo'],
  'kong.log.setSerializeValue': ['valname', 'valvalue'],
  'kong.db.get': ['consumers', consumer.id],
  'kong.db.find': ['consumers', { username: 'bob' }],
  'kong.db.listFor': ['keyauth_credentials', 'consumer', consumer.id],
  'kong.db.incrCounter': ['phase-matrix', 1, 60],
}

/**
 * Calls allowed by the phase rules that still fail, for a reason of their own. Kong's
 * source sets error's body in header_filter; Tollgate sends no body from header_filter
 * (Kong's docs: exit there "only if body is nil"), and error always has one.
 */
const FAILS_ANYWAY: Record<string, { phase: PhaseName, message: RegExp }> = {
  'kong.response.error': { phase: 'header_filter', message: /^kong\.response\.exit: a body cannot be set in header_filter$/ },
}

const noop = (): void => {}
const logger = { debug: noop, info: noop, warn: noop, error: noop, fatal: noop } as unknown as Logger
const db = { get: () => undefined, find: () => undefined, listFor: () => [] } as unknown as EntityCache
const shmDir = mkdtempSync(join(tmpdir(), 'tollgate-shm-'))
const shm = new SharedMemory({ path: join(shmDir, 'shm.mdb') })
t.teardown(async () => { await shm.close(); rmSync(shmDir, { recursive: true, force: true }) })
const counters = { incrCounter: async () => 1, getCounter: async () => undefined }
const env: PdkEnv = { db, log: logger, nodeId: 'node-1', shm, counters }

/** A request as far into its life as `phase`: routed, with a body, and answered from header_filter on. */
function contextIn (phase: PhaseName): RequestContext {
  const rawHeaders = ['Host', 'kong.test', 'Content-Type', 'application/json', 'Content-Length', '13']
  const headers = { host: 'kong.test', 'content-type': 'application/json', 'content-length': '13' }
  const req = {
    method: 'POST',
    url: '/t/x?foo=bar',
    httpVersion: '1.1',
    rawHeaders,
    headers,
    headersDistinct: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
  } as unknown as IncomingMessage
  const res = { headersSent: false, getHeader: () => undefined } as unknown as ServerResponse
  const ctx = new RequestContext(req, res, 'req-1', { ip: '127.0.0.1', port: 50000, localPort: 8000, tls: false, sni: undefined })
  ctx.phase = Phase[phase]
  ctx.body = Buffer.from('{"foo":"bar"}')
  // Routed in every phase, rewrite included: the phase rules alone decide here.
  ctx.match = { route, service, matchedPath: '/t', byPath: true }
  ctx.route = route
  ctx.service = service
  ctx.upstream = { scheme: 'http', method: 'POST', path: '/x', query: 'foo=bar', headers: { host: 'upstream.test', 'content-type': 'application/json' }, body: undefined }
  if (phase === 'header_filter' || phase === 'body_filter' || phase === 'log') {
    ctx.status = 200
    ctx.serviceStatus = 200
    ctx.upstreamHeaders = { 'content-type': 'text/plain' }
    ctx.responseHeaders = { 'content-type': 'text/plain' }
  }
  if (phase === 'body_filter' || phase === 'log') ctx.responseBody = Buffer.from('hello')
  return ctx
}

/** The namespace object and member for a function name, on a fresh `kong`. */
function resolve (kong: Kong, fn: string): { target: unknown, member: string | undefined } {
  const path = fn.split('.').slice(1)
  let target: unknown = kong
  if (fn === 'kong.log') return { target: kong.log, member: undefined }
  for (const p of path.slice(0, -1)) target = (target as Record<string, unknown>)[p]
  return { target, member: path[path.length - 1] }
}

function call (fn: string, phase: PhaseName): void {
  const kong = new Kong(contextIn(phase), env, 'phase-matrix')
  const { target, member } = resolve(kong, fn)
  const args = ARGS[fn] ?? []
  if (member === undefined) (target as (...a: unknown[]) => unknown)(...args)
  else (target as Record<string, (...a: unknown[]) => unknown>)[member]?.(...args)
}

const tollgate: [string, PhaseRule][] = Object.values(PHASES).flatMap((rules) => Object.values(rules).map((r): [string, PhaseRule] => [r.fn, r]))

t.test('every PDK function, in every phase, runs or fails as Kong does', async (t) => {
  for (const [fn] of tollgate) {
    const want = expected.get(fn)
    t.ok(want, `${fn}: Kong has it, or it is listed as Tollgate's own`)
    if (want === undefined) continue
    t.test(fn, async (t) => {
      for (const phase of PHASE_NAMES) {
        let err: unknown
        try { call(fn, phase) } catch (e) { err = e }
        if (want.phases.includes(phase)) {
          const anyway = FAILS_ANYWAY[fn]
          if (anyway !== undefined && anyway.phase === phase) {
            t.ok(err instanceof Error && !(err instanceof PhaseError) && anyway.message.test(err.message), `${phase}: allowed, then fails for its own reason (${want.source})`)
          } else {
            t.equal(err, undefined, `${phase}: allowed (${want.source})`)
          }
        } else {
          const allowed = phaseList(want.phases.reduce((m, p) => m | Phase[p], 0))
          t.ok(err instanceof PhaseError, `${phase}: a PhaseError (${want.source})`)
          t.equal((err as Error | undefined)?.message, `${fn} cannot be called in ${phase} phase (only in: ${allowed})`, `${phase}: the message names ${fn} and ${allowed}`)
        }
      }
    })
  }
})

t.test('the table names every function the PDK has, and Kong\'s rows are all accounted for', async (t) => {
  const kong = new Kong(contextIn('access'), env, 'phase-matrix')
  // Like Kong's phase_check_functions: a function without phase data is an error.
  const found: string[] = []
  const methods = (ns: string, o: object): void => {
    const proto = Object.getPrototypeOf(o) as object
    const names = typeof o === 'function' || proto === Object.prototype ? Object.keys(o) : Object.getOwnPropertyNames(proto).filter((n) => n !== 'constructor')
    for (const n of names) if (typeof (o as Record<string, unknown>)[n] === 'function') found.push(`${ns}.${n}`)
  }
  methods('kong.request', kong.request)
  methods('kong.response', kong.response)
  methods('kong.client', kong.client)
  methods('kong.service', kong.service)
  methods('kong.service.request', kong.service.request)
  methods('kong.service.response', kong.service.response)
  found.push('kong.log')
  methods('kong.log', kong.log)
  methods('kong.router', kong.router)
  methods('kong.db', kong.db)
  methods('kong.node', kong.node)
  methods('kong.plugin', kong.plugin)
  t.same(found.sort(), tollgate.map(([fn]) => fn).sort(), 'core/pdk/private/phases.ts has a rule for each, and none for what is not there')

  const ours = new Set(found)
  for (const [ns, { rows }] of Object.entries(KONG)) {
    for (const [method] of rows) {
      const fn = `${ns}.${camel(method)}`
      t.ok(ours.has(fn) !== NOT_IN_TOLLGATE.has(fn), `${fn}: ${ours.has(fn) ? 'in Tollgate' : 'listed as not in Tollgate'}`)
    }
  }
})

t.test('exit with a body in header_filter fails, as Kong\'s docs say ("only if body is nil")', async (t) => {
  const kong = new Kong(contextIn('header_filter'), env, 'phase-matrix')
  t.throws(() => kong.response.exit(200, 'Hello'), { message: 'kong.response.exit: a body cannot be set in header_filter' })
  t.doesNotThrow(() => kong.response.exit(200))
})
