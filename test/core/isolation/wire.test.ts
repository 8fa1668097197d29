// The isolation wire format on its own: a request context written into a batch, read back
// in "the worker", changed by PDK calls, and the changes applied to the host's context must
// leave both sides agreeing, bodies and timings included.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SharedMemory } from '../../../core/shm/index.js'
import { request } from 'undici'
import { Kong, serialize } from '../../../core/pdk/index.js'
import { applyMutations, BatchWriter, contextFromSnapshot, mutationsOf, readBatch, rebuild, readOutcomes, Resident, writeOutcomes } from '../../../core/isolation/snapshot.js'
import { RequestContext } from '../../../core/runtime/context.js'
import { Phase } from '../../../core/runtime/phases.js'
import type { Route, Service } from '../../../core/store/index.js'

/** One real request's IncomingMessage and ServerResponse, held open while `use` runs. */
async function withRequest (use: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>): Promise<void> {
  let failure: unknown
  const server = createServer((req, res) => {
    Promise.resolve().then(() => use(req, res)).catch((err: unknown) => { failure = err }).finally(() => res.end('done'))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  const res = await request(`http://127.0.0.1:${port}/svc/a%20b?x=1&y=two`, { method: 'POST', headers: [['x-dup', '1'], ['x-dup', '2'], ['authorization', 'secret'], ['content-type', 'text/plain']].flat(), body: 'hello' })
  await res.body.text()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (failure !== undefined) throw failure
}

const route = { id: 'r1', name: 'r', paths: ['/svc'] } as unknown as Route
const service = { id: 's1', name: 's', host: 'up.test', port: 80 } as unknown as Service
const consumer = { id: 'c1', username: 'ada' } as never
const credential = { id: 'k1' } as never
const shmDir = mkdtempSync(join(tmpdir(), 'tollgate-shm-'))
const shm = new SharedMemory({ path: join(shmDir, 'shm.mdb') })
t.teardown(async () => { await shm.close(); rmSync(shmDir, { recursive: true, force: true }) })
const env = { db: { get: () => undefined, find: () => undefined } as never, log: { debug () {}, info () {}, warn () {}, error () {}, fatal () {} } as never, nodeId: 'n', shm }

function hostContext (req: IncomingMessage, res: ServerResponse): RequestContext {
  const ctx = new RequestContext(req, res, 'req-1')
  ctx.match = { route, service, matchedPath: '/svc', byPath: true }
  ctx.route = route
  ctx.service = service
  ctx.consumer = consumer
  ctx.credential = credential
  ctx.upstream = { scheme: 'http', method: 'POST', path: '/a%20b', query: 'x=1&y=two', headers: { host: 'up.test', 'x-dup': ['1', '2'], 'x-gone': 'soon', 'content-type': 'text/plain' }, body: undefined }
  ctx.body = Buffer.from('hello')
  ctx.shared.n = 1
  ctx.pluginCtx.set('p', { mine: true })
  return ctx
}

t.test('a thread keeps the entities and configs it was sent: later batches send slots', async (t) => {
  await withRequest((req, res) => {
    const resident = new Resident()
    const held = new Map<number, unknown>()
    const conf = { a: 1 }
    const batch = (ctx: RequestContext): ReturnType<BatchWriter['finish']> => {
      const w = new BatchWriter(resident)
      w.add(ctx, 'p', 'access', { id: 'i', config: conf }, false)
      return w.finish()
    }
    const first = batch(hostContext(req, res))
    t.equal(JSON.parse(first.json)[0].length, 10, 'the first batch sends route, service, consumer, credential and config with their slots')
    readBatch(first, held)
    const second = batch(hostContext(req, res))
    t.same(JSON.parse(second.json)[0], [], 'the next one sends none of them again')
    t.notOk(second.json.includes('up.test'), 'nor any of their fields')
    const [task] = readBatch(second, held)
    t.same(task?.snapshot.match?.route, route, 'the worker finds them by slot')
    t.same(task?.snapshot.consumer, consumer)
    t.same(task?.conf, conf)

    // A batch that cannot be written is never sent: its new objects must go again next time.
    const fresh = { id: 'c2', username: 'new' } as never
    const bad = hostContext(req, res)
    bad.consumer = fresh
    bad.shared.big = 1n
    t.throws(() => batch(bad))
    const good = hostContext(req, res)
    good.consumer = fresh
    const third = batch(good)
    t.ok(third.json.includes('"c2"'), 'the consumer of the failed batch is sent with the next')
    t.same(readBatch(third, held)[0]?.snapshot.consumer, fresh)

    resident.clear()
    t.equal(JSON.parse(batch(hostContext(req, res)).json)[0].length, 10, 'after a reset everything goes again')
  })
})

t.test('access: what the worker changes, the host gets, in the same shape', async (t) => {
  await withRequest((req, res) => {
    const host = hostContext(req, res)
    host.phase = Phase.access
    const other = hostContext(req, res)
    other.phase = Phase.access
    const w = new BatchWriter()
    const conf = { a: 1 }
    w.add(host, 'p', 'access', { id: 'instance-1', config: conf }, true)
    w.add(other, 'p', 'access', { id: 'instance-1', config: conf }, false)
    const wire = w.finish()
    t.equal(wire.bins.length, 1, 'one body travels: only the first task reads it')
    t.equal(JSON.parse(wire.json)[0].length, 5, 'route, service, consumer, credential and config once for two tasks')
    const [task, second] = readBatch(wire)
    if (task === undefined || second === undefined) { t.fail('two tasks'); return }
    t.same(task.conf, { a: 1 })
    t.equal(task.instance, 'instance-1', 'the plugin instance id travels with each task')
    t.equal(second.snapshot.body, undefined)
    t.equal(task.snapshot.match?.route, second.snapshot.match?.route, 'batch-mates share one entity object')

    const rebuilt = rebuild(task.snapshot, 'p')
    const ctx = rebuilt.ctx
    t.same(ctx.upstream?.headers, { 'content-type': 'text/plain' }, 'of the upstream headers, only Content-Type crosses')
    const kong = new Kong(ctx, env, 'p')
    t.equal(kong.request.getRawBody()?.toString(), 'hello')
    t.same(kong.request.getHeader('x-dup'), '1')
    t.same(kong.ctx.shared, { n: 1 })
    t.same(kong.ctx.plugin, { mine: true })
    kong.service.request.setHeader('x-new', 'v')
    kong.service.request.addHeader('x-dup', '3')
    kong.service.request.clearHeader('x-gone')
    kong.service.request.setPath('/elsewhere')
    kong.service.request.setRawQuery('')
    kong.service.request.setBody({ a: 1 }, 'application/json')
    kong.response.setHeader('x-resp', 'r')
    kong.ctx.shared.m = 2
    kong.ctx.plugin.count = 1
    kong.log.setSerializeValue('extra.k', 'v')
    kong.service.setTlsVerify(true)
    kong.service.setTlsVerifyDepth(3)
    const outcome = readOutcomes(writeOutcomes([{ mutations: mutationsOf(task.snapshot, rebuilt, 'p') }]))[0]
    if (outcome === null || outcome === undefined || 'error' in outcome) { t.fail('mutations'); return }
    applyMutations(host, 'p', outcome.mutations, () => {})
    t.same(host.upstream?.headers, { host: 'up.test', 'x-dup': ['1', '2', '3'], 'content-type': 'application/json', 'x-new': 'v' }, 'header changes replayed in order on the full headers')
    t.equal(host.upstream?.path, '/elsewhere')
    t.equal(host.upstream?.query, '')
    t.equal(host.upstream?.body?.toString(), '{"a":1}')
    t.same(host.responseHeaders, { 'x-resp': 'r' })
    t.same(host.shared, { n: 1, m: 2 })
    t.same(host.pluginCtx.get('p'), { mine: true, count: 1 })
    t.same(host.serializeExtra, { 'extra.k': 'v' })
    t.same(host.upstreamTls, { verify: true, depth: 3 }, 'kong.service.setTls* settings cross')

    // An exit with a binary body crosses as a binary, not as JSON of a Buffer.
    const third = rebuild(second.snapshot, 'p')
    new Kong(third.ctx, env, 'p').response.exit(403, Buffer.from([0, 1, 2, 255]), { 'x-why': 'bytes' })
    const wire2 = writeOutcomes([{ mutations: mutationsOf(second.snapshot, third, 'p') }])
    t.equal(wire2.bins.length, 1, 'the body went as a binary')
    const exitOutcome = readOutcomes(wire2)[0]
    if (exitOutcome === null || exitOutcome === undefined || 'error' in exitOutcome) { t.fail('exit mutations'); return }
    applyMutations(other, 'p', exitOutcome.mutations, () => {})
    t.equal(other.exit?.status, 403)
    t.same([...(other.exit?.body as Buffer)], [0, 1, 2, 255])
    t.equal(other.exit?.headers['x-why'], 'bytes')
    t.equal(other.source, 'exit')

    // A handler that changes nothing sends nothing back.
    t.same(mutationsOf(second.snapshot, rebuild(second.snapshot, 'p'), 'p'), [])
  })
})

t.test('log: kong.log.serialize() reads the same in the worker as on the host', async (t) => {
  await withRequest(async (req, res) => {
    const host = hostContext(req, res)
    // The request arrived 20 ms ago: set on its clock, not slept for (a timer may fire a
    // little early by performance.now()).
    Object.assign(host, { started: host.started - 20 })
    host.upstreamStarted = host.started + 3
    host.upstreamResponded = host.started + 10
    host.status = 201
    host.serviceStatus = 201
    host.responseHeaders = { 'content-type': 'text/plain' }
    host.serializeExtra['extra.k'] = 'v'
    res.setHeader('content-length', '4')
    host.phase = Phase.log
    const w = new BatchWriter()
    const sent = performance.now()
    w.add(host, 'p', 'log', { id: 'i', config: {} }, false)
    const [task] = readBatch(w.finish())
    if (task === undefined) { t.fail('one task'); return }
    const worker = serialize(contextFromSnapshot(task.snapshot, 'p'))
    const local = serialize(host)
    // The host read its clock later than the snapshot was taken, by at most this much.
    const between = performance.now() - sent
    const lat = (s: Record<string, unknown>) => s.latencies as { kong: number, proxy: number, request: number }
    t.equal(lat(worker).kong, 3)
    t.equal(lat(worker).proxy, 7)
    const behind = lat(local).request - lat(worker).request
    t.ok(behind >= -1 && behind <= Math.ceil(between) + 1, `total latency from the same start (host ${behind} ms later, ${between.toFixed(1)} ms passed)`)
    t.ok(lat(worker).request >= 20)
    delete worker.latencies
    delete local.latencies
    t.same(worker, local)
    t.match(worker, { request: { method: 'POST', headers: { authorization: 'REDACTED', 'x-dup': ['1', '2'] } }, upstream_uri: '/a%20b?x=1&y=two', response: { status: 201, size: '4' }, extra: { k: 'v' } })
  })
})
