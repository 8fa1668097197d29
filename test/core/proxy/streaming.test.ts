import { connect, createServer as createNetServer, type Socket } from 'node:net'
import { Readable } from 'node:stream'
import t from 'tap'
import { request } from 'undici'
import { echo, startTestGateway, startUpstream, until } from '../../helpers/gateway.js'

const MB = 1024 * 1024
const CHUNK = Buffer.alloc(64 * 1024, 'x')

/** A stream of `total` bytes made of one reused chunk, so the source holds no memory. */
function bytes (total: number): Readable {
  let sent = 0
  return new Readable({
    read () {
      if (sent >= total) { this.push(null); return }
      const n = Math.min(CHUNK.length, total - sent)
      sent += n
      this.push(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))
    },
  })
}

/**
 * Writes up to `total` bytes of body on `c` until the gateway answers (`answered`) or the
 * connection ends; when the socket is full it waits for it to drain, for an answer or for
 * the close, whichever comes first.
 */
async function sendBody (c: Socket, total: number, answered: () => boolean): Promise<void> {
  for (let sent = 0; sent < total && !answered() && !c.destroyed; sent += CHUNK.length) {
    if (c.write(CHUNK)) continue
    await new Promise<void>((resolve) => {
      const done = (): void => { c.off('drain', done); c.off('data', done); c.off('close', done); resolve() }
      c.on('drain', done)
      c.on('data', done)
      c.on('close', done)
    })
  }
}

/**
 * Samples live memory (heap plus Buffers, after a forced GC) while `fn` runs and resolves
 * with the peak growth. RSS is not used: the allocator keeps freed pages, so it reads the
 * same ~40 MB plateau whether 20 MB or 400 MB pass; live memory is what grows if a body is
 * buffered.
 */
async function peakGrowth<T> (fn: () => Promise<T>): Promise<{ result: T, growth: number }> {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('run with --expose-gc (the tap config sets it)')
  const live = (): number => { gc(); const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers }
  const base = live()
  let peak = base
  const timer = setInterval(() => { peak = Math.max(peak, live()) }, 25)
  try {
    const result = await fn()
    return { result, growth: Math.max(peak, live()) - base }
  } finally {
    clearInterval(timer)
  }
}

t.test('100 MB down and up, streamed with flat memory', async (t) => {
  const gw = await startTestGateway(t)
  const up = await startUpstream(t, (req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 100 * MB })
      bytes(100 * MB).pipe(res)
      return
    }
    echo(req, res)
  })
  await gw.admin$('POST', '/services', { name: 'big', url: up.url })
  await gw.admin$('POST', '/services/big/routes', { paths: ['/big'] })

  // Warm up pools and code paths, so the measurement sees only the transfer.
  await (await request(`${gw.proxy}/big`, { method: 'POST', body: 'warm' })).body.text()

  const down = await peakGrowth(async () => {
    const res = await request(`${gw.proxy}/big`)
    let n = 0
    for await (const chunk of res.body) n += (chunk as Buffer).length
    return { status: res.statusCode, n }
  })
  t.same(down.result, { status: 200, n: 100 * MB }, 'every byte arrived')
  t.ok(down.growth < 16 * MB, `download: live memory peaked ${(down.growth / MB).toFixed(1)} MB above the start (< 16 MB for 100 MB)`)

  const upload = await peakGrowth(async () => {
    const res = await request(`${gw.proxy}/big`, { method: 'POST', body: bytes(100 * MB), headers: { 'content-length': String(100 * MB) } })
    return await res.body.json() as { bytes: number }
  })
  t.equal(upload.result.bytes, 100 * MB, 'the upstream received every byte')
  t.ok(upload.growth < 16 * MB, `upload: live memory peaked ${(upload.growth / MB).toFixed(1)} MB above the start (< 16 MB for 100 MB)`)
})

t.test('a client slower than the upstream pauses it, and the transfer completes', async (t) => {
  const gw = await startTestGateway(t)
  let upstreamPaused = false
  let upstreamDone = false
  let upstreamSocket: Socket | undefined
  const up = await startUpstream(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 32 * MB })
    const src = bytes(32 * MB)
    src.on('pause', () => { upstreamPaused = true })
    src.on('end', () => { upstreamDone = true })
    upstreamSocket = res.socket ?? undefined
    src.pipe(res)
  })
  await gw.admin$('POST', '/services', { name: 'slow', url: up.url })
  await gw.admin$('POST', '/services/slow/routes', { paths: ['/slow'] })
  // A raw socket that reads nothing for a while: the gateway's writes back up, it pauses
  // the upstream, and must resume it once the client drains.
  const socket = connect(Number(new URL(gw.proxy).port), '127.0.0.1')
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
  socket.pause()
  socket.write('GET /slow HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n')
  // Held back: paused before its last byte (32 MB is more than the socket buffers between
  // it and the client hold), and its socket takes no more bytes over several checks, each
  // a turn of this event loop, which the gateway (in this process) shares.
  let last = -1
  let still = 0
  await until(() => {
    const written = upstreamSocket?.bytesWritten ?? -1
    still = written > 0 && written === last ? still + 1 : 0
    last = written
    return upstreamPaused && !upstreamDone && still >= 3
  }, 'the upstream to be held back before its end')
  t.ok(upstreamPaused && !upstreamDone, `the upstream was held back while the client did not read (${last} bytes written)`)
  let n = 0
  const ended = new Promise<void>((resolve) => socket.on('end', () => resolve()))
  socket.on('data', (d: Buffer) => { n += d.length })
  socket.resume()
  await ended
  t.ok(n > 32 * MB, `every byte arrived after the pause (${n} bytes with the head)`)
})

t.test('a client that goes away releases its upstream request', async (t) => {
  const gw = await startTestGateway(t)
  let uploadClosed: () => void = () => {}
  const uploadGone = new Promise<void>((resolve) => { uploadClosed = resolve })
  let uploaded = 0
  let downloadClosed: () => void = () => {}
  const downloadGone = new Promise<void>((resolve) => { downloadClosed = resolve })
  const up = await startUpstream(t, (req, res) => {
    if (req.url === '/upload') {
      req.on('data', (c: Buffer) => { uploaded += c.length })
      req.on('close', () => { if (!req.complete) uploadClosed() })
      return
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' })
    const src = bytes(1024 * MB)
    src.pipe(res)
    res.on('close', () => { src.destroy(); downloadClosed() })
  })
  await gw.admin$('POST', '/services', { name: 's', url: up.url })
  await gw.admin$('POST', '/services/s/routes', { paths: ['/'] })
  const port = Number(new URL(gw.proxy).port)

  // Mid-upload: headers promise 10 MB, 1 MB is sent, then the socket is destroyed.
  const s = connect(port, '127.0.0.1')
  await new Promise((resolve) => s.once('connect', resolve))
  s.write(`POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${10 * MB}\r\n\r\n`)
  s.write(Buffer.alloc(MB))
  await until(() => uploaded > 0, 'the upload to reach the upstream')
  s.destroy()
  await uploadGone
  t.pass('the upstream saw the upload end early')

  // Mid-download: read a little of a 1 GB body, then go away.
  const res = await request(`${gw.proxy}/download`)
  for await (const _ of res.body) break
  await downloadGone
  t.pass('the upstream response was torn down')

  const after = await request(`${gw.proxy}/after`, { method: 'POST', body: 'x' })
  t.equal(after.statusCode, 200, 'the gateway keeps serving')
  await after.body.dump()
})

t.test("write_timeout: an upstream that stops taking the body gets 504, and the client its answer", async (t) => {
  const gw = await startTestGateway(t)
  // Takes the connection, reads nothing: the body fills the socket buffers and stops.
  const stuck = createNetServer((s) => { s.pause(); t.teardown(() => s.destroy()) })
  await new Promise<void>((resolve) => stuck.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => stuck.close(() => resolve())))
  const upPort = (stuck.address() as { port: number }).port
  // read_timeout is far beyond the test's own timeout: a 504 here can only be write_timeout's.
  await gw.admin$('POST', '/services', { name: 'stuck', url: `http://127.0.0.1:${upPort}`, write_timeout: 300, read_timeout: 600_000 })
  await gw.admin$('POST', '/services/stuck/routes', { paths: ['/stuck'] })
  const c = connect(Number(new URL(gw.proxy).port), '127.0.0.1')
  t.teardown(() => c.destroy())
  await new Promise((resolve) => c.once('connect', resolve))
  let answer = ''
  const closed = new Promise<void>((resolve) => { c.on('close', () => resolve()) })
  c.on('data', (d: Buffer) => { answer += d.toString('latin1') })
  c.on('error', () => {})
  c.write(`POST /stuck HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\nContent-Length: ${256 * MB}\r\n\r\n`)
  // Send until the answer comes (or the gateway stops reading).
  await sendBody(c, 256 * MB, () => answer !== '')
  await closed
  t.match(answer, /^HTTP\/1\.1 504 /, 'Kong answers a send timeout with 504')
  t.match(answer, /"message":\s*"The upstream server is timing out"/)
  t.match(answer, /\r\nconnection: close\r\n/i, 'and closes the connection: the rest of the body is not read')

  const after = await request(`${gw.proxy}/nothing`)
  t.equal(after.statusCode, 404, 'the gateway keeps serving')
  await after.body.dump()
})

t.test('an upstream that fails mid-upload: the client still gets 502', async (t) => {
  const gw = await startTestGateway(t)
  // Reads the head and a little of the body, then resets the connection.
  const rude = createNetServer((s) => {
    let seen = 0
    s.on('data', (d: Buffer) => { seen += d.length; if (seen > MB) s.resetAndDestroy() })
    s.on('error', () => {})
  })
  await new Promise<void>((resolve) => rude.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => rude.close(() => resolve())))
  await gw.admin$('POST', '/services', { name: 'rude', url: `http://127.0.0.1:${(rude.address() as { port: number }).port}` })
  await gw.admin$('POST', '/services/rude/routes', { paths: ['/rude'] })
  const c = connect(Number(new URL(gw.proxy).port), '127.0.0.1')
  t.teardown(() => c.destroy())
  await new Promise((resolve) => c.once('connect', resolve))
  let answer = ''
  const closed = new Promise<void>((resolve) => { c.on('close', () => resolve()) })
  c.on('data', (d: Buffer) => { answer += d.toString('latin1') })
  c.on('error', () => {})
  c.write(`POST /rude HTTP/1.1\r\nHost: x\r\nContent-Length: ${64 * MB}\r\n\r\n`)
  await sendBody(c, 64 * MB, () => answer !== '')
  await closed
  t.match(answer, /^HTTP\/1\.1 502 /, 'answered, not dropped')
  t.match(answer, /\r\nconnection: close\r\n/i)
})

for (const quiet of [false, true]) {
  t.test(`WebSocket upgrades are proxied both ways${quiet ? ', with headers and headers_upstream off' : ''}`, async (t) => {
    const gw = await startTestGateway(t, quiet ? { config: { headers: 'off', headers_upstream: 'off' } } : {})
    const up = await startUpstream(t, (_req, res) => { res.end('plain') })
    up.server.on('upgrade', (req, socket) => {
      // Upgraded sockets are not the HTTP server's any more: end and destroy them ourselves.
      socket.on('end', () => socket.end())
      t.teardown(() => socket.destroy())
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Seen-Path: ${req.url as string}\r\nX-Seen-Real-Ip: ${String(req.headers['x-real-ip'])}\r\nX-Seen-Request-Id: ${String(req.headers['x-kong-request-id'])}\r\n\r\n`)
      socket.on('data', (d: Buffer) => socket.write(Buffer.concat([Buffer.from('echo:'), d])))
    })
    await gw.admin$('POST', '/services', { name: 'ws', url: up.url })
    await gw.admin$('POST', '/services/ws/routes', { paths: ['/ws'] })
    const s = connect(Number(new URL(gw.proxy).port), '127.0.0.1')
    t.teardown(() => s.destroy())
    await new Promise((resolve) => s.once('connect', resolve))
    s.write('GET /ws/chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n')
    let got = ''
    s.on('data', (d: Buffer) => { got += d.toString() })
    await until(() => got.includes('\r\n\r\n'), 'the 101 head', 30_000)
    t.match(got, /^HTTP\/1.1 101 /)
    t.match(got, /x-seen-path: \/chat\r\n/i, 'the upgrade request took the route path rules')
    t.match(got, /x-seen-real-ip: 127\.0\.0\.1\r\n/i, "the client's address went upstream with the upgrade")
    if (quiet) {
      t.match(got, /x-seen-request-id: undefined\r\n/i, 'no request id upstream')
      t.notMatch(got, /x-kong-request-id:/i, 'nor on the 101')
    } else {
      const id = /x-seen-request-id: ([0-9a-f]{32})\r\n/i.exec(got)?.[1]
      t.ok(id !== undefined, 'a request id upstream')
      t.match(got, new RegExp(`x-kong-request-id: ${id ?? '-'}\r\n`, 'i'), 'the same one on the 101')
    }
    s.write('hello')
    await until(() => got.endsWith('echo:hello'), 'the echo', 30_000)
    t.match(got, /echo:hello$/, 'bytes flow both ways after the upgrade')
  })
}

t.test('routes change under a stream of requests without failing any', async (t) => {
  const gw = await startTestGateway(t)
  const up = await startUpstream(t, echo)
  await gw.admin$('POST', '/services', { name: 'stable', url: up.url })
  await gw.admin$('POST', '/services/stable/routes', { name: 'stable', paths: ['/stable'] })
  let stop = false
  const statuses = new Map<number, number>()
  const worker = async (): Promise<void> => {
    while (!stop) {
      const res = await request(`${gw.proxy}/stable/x`)
      await res.body.dump()
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
    }
  }
  const workers = Array.from({ length: 8 }, worker)
  const answered = (): number => [...statuses.values()].reduce((a, b) => a + b, 0)
  for (let i = 0; i < 40; i++) {
    const from = answered()
    const r = await gw.admin$('POST', '/services/stable/routes', { paths: [`/extra${i}`] })
    await gw.admin$('PATCH', '/routes/stable', { strip_path: i % 2 === 0, tags: [`v${i}`] })
    if (i % 3 === 0) await gw.admin$('DELETE', `/routes/${r.id as string}`)
    // Requests run between one round of changes and the next, however slow either is.
    await until(() => answered() >= from + 2, `requests after change ${i}`)
  }
  // A brand-new route is served on the next request after the write.
  await gw.admin$('POST', '/services/stable/routes', { paths: ['/fresh'] })
  const fresh = await request(`${gw.proxy}/fresh`)
  t.equal(fresh.statusCode, 200, 'a new route works right after it is written')
  await fresh.body.dump()
  stop = true
  await Promise.all(workers)
  const total = answered()
  t.ok(total > 50, `${total} requests ran during the changes`)
  t.same([...statuses.keys()], [200], 'every one answered 200')
})

/** Sends a raw upgrade request and resolves with everything read until the gateway closes. */
async function upgradeAnswer (proxy: string, path: string): Promise<string> {
  const s = connect(Number(new URL(proxy).port), '127.0.0.1')
  let got = ''
  s.on('data', (d: Buffer) => { got += d.toString() })
  s.on('error', () => {})
  const closed = new Promise<void>((resolve) => s.once('close', () => resolve()))
  s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`)
  await closed
  return got
}

t.test('upgrades go through the same phases and error answers as plain requests', async (t) => {
  const { testActor, testObserver, seen } = await import('../../fixtures/plugins/test-plugins.js')
  const gw = await startTestGateway(t, { plugins: [testActor, testObserver] })
  await gw.admin$('POST', '/services', { name: 'nxdomain', url: 'http://tollgate-test.invalid:8080' })
  await gw.admin$('POST', '/services/nxdomain/routes', { paths: ['/nx'] })
  await gw.admin$('POST', '/services/nxdomain/routes', { name: 'teapot', paths: ['/teapot'] })
  await gw.admin$('POST', '/routes/teapot/plugins', { name: 'test-actor', config: { action: 'exit' } })
  await gw.admin$('POST', '/plugins', { name: 'test-observer' })

  const logged = (from: number): Promise<void> => until(() => seen.slice(from).some((s) => s.phase === 'log'), 'the log phase')
  // A host that does not resolve: 503, as over HTTP (it used to be 502 on an upgrade).
  const first = seen.length
  const nx = await upgradeAnswer(gw.proxy, '/nx')
  t.match(nx, /^HTTP\/1\.1 503 /)
  t.match(nx, /"message":"name resolution failed"/)
  t.match(nx, /\r\nx-observed: error\r\n/i, 'header_filter ran on the error answer')
  t.match(nx, /\r\nconnection: close\r\n/i)
  await logged(first)
  t.same(seen.slice(first).map((s) => [s.phase, s.source]), [['header_filter', 'error'], ['log', 'error']])

  // A plugin's short-circuit: header_filter and body_filter run, then log.
  const before = seen.length
  const teapot = await upgradeAnswer(gw.proxy, '/teapot')
  t.match(teapot, /^HTTP\/1\.1 418 /)
  t.match(teapot, /\r\nx-exit: 1\r\n/i)
  t.match(teapot, /\r\nx-observed: exit\r\n/i)
  t.match(teapot, /\r\n\r\n\{"teapot":true\}$/)
  await logged(before)
  t.same(seen.slice(before).map((s) => [s.phase, s.source]), [['header_filter', 'exit'], ['log', 'exit']])
})
