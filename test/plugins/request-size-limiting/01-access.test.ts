// Kong 3.2.2's spec/03-plugins/12-request-size-limiting/01-access_spec.lua, every case
// (21: 4 + 3 + 3 with Content-Length, 4 + 3 + 3 without, 1 with it required), through a
// real gateway to a real echoing upstream. Kong's client sends "without Content-Length"
// bodies on a GET without framing; here they are chunked POSTs (Transfer-Encoding:
// chunked), the way a body comes without a Content-Length. Requests go through node:http,
// which (unlike undici) sends an Expect header as given.
import { request as httpRequest } from 'node:http'
import t, { type Test } from 'tap'
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js'
import { startMockUpstream } from '../../helpers/mock-upstream.js'

const TEST_SIZE = 2
const MB = 2 ** 20
const SIZE_UNITS = ['megabytes', 'kilobytes', 'bytes'] as const
const FACTOR = { bytes: 1, kilobytes: 1024, megabytes: MB }

interface Answer { status: number, json: any }

/** A request with `body`: with its Content-Length, or chunked (`chunked: true`), or none at all. */
function send (gw: TestGateway, host: string, body: string | undefined, opts: { chunked?: boolean, headers?: Record<string, string> } = {}): Promise<Answer> {
  const url = new URL(gw.proxy)
  const headers: Record<string, string | number> = { host, ...opts.headers }
  if (body !== undefined) {
    if (opts.chunked === true) headers['transfer-encoding'] = 'chunked'
    else headers['content-length'] = Buffer.byteLength(body)
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method: body === undefined ? 'GET' : 'POST', path: '/request', headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString()
        let json: unknown
        try { json = JSON.parse(text) } catch { json = text }
        resolve({ status: res.statusCode as number, json })
      })
    })
    // The gateway may answer and stop reading before the whole body is sent.
    req.on('error', (err: NodeJS.ErrnoException) => { if (err.code !== 'EPIPE' && err.code !== 'ECONNRESET') reject(err) })
    if (body !== undefined && opts.chunked === true) {
      // Several chunks, as a streaming client sends them.
      for (let i = 0; i < body.length; i += 256 * 1024) req.write(body.slice(i, i + 256 * 1024))
      req.end()
    } else req.end(body)
  })
}

t.test('01-access_spec.lua "Plugin: request-size-limiting (access)"', async (t) => {
  const gw = await startTestGateway(t)
  const up = await startMockUpstream(t)
  await gw.admin$('POST', '/services', { name: 'mock', url: up.url })
  const route = async (host: string, config: Record<string, unknown>): Promise<void> => {
    const r = await gw.admin$('POST', '/services/mock/routes', { hosts: [host] })
    await gw.admin$('POST', `/routes/${r.id as string}/plugins`, { name: 'request-size-limiting', config })
  }
  await route('limit.com', { allowed_payload_size: TEST_SIZE })
  await route('required.com', { allowed_payload_size: TEST_SIZE, require_content_length: true })
  for (const unit of SIZE_UNITS) await route(`limit_${unit}.com`, { allowed_payload_size: TEST_SIZE, size_unit: unit })

  const refused = (t: Test, r: Answer, status = 413): void => {
    t.equal(r.status, status)
    t.equal(r.json.message, 'Request size limit exceeded')
  }

  for (const chunked of [false, true]) {
    // describe("with Content-Length") / describe("without Content-Length")
    t.test(chunked ? 'without Content-Length' : 'with Content-Length', async (t) => {
      // it("works if size is lower than limit")
      t.test('works if size is lower than limit', async (t) => {
        const r = await send(gw, 'limit.com', 'a'.repeat(TEST_SIZE * MB), { chunked })
        t.equal(r.status, 200)
        t.equal(r.json.post_data.text.length, TEST_SIZE * MB, 'the upstream got the whole body')
      })
      // it("works if size is lower than limit and Expect header")
      t.test('works if size is lower than limit and Expect header', async (t) => {
        const r = await send(gw, 'limit.com', 'a'.repeat(TEST_SIZE * MB), { chunked, headers: { expect: '100-continue' } })
        t.equal(r.status, 200)
      })
      // it("blocks if size is greater than limit")
      t.test('blocks if size is greater than limit', async (t) => {
        refused(t, await send(gw, 'limit.com', 'a'.repeat(TEST_SIZE * MB + 1), { chunked }))
      })
      // it("blocks if size is greater than limit and Expect header")
      t.test('blocks if size is greater than limit and Expect header', async (t) => {
        refused(t, await send(gw, 'limit.com', 'a'.repeat(TEST_SIZE * MB + 1), { chunked, headers: { expect: '100-continue' } }), 417)
      })
      for (const unit of SIZE_UNITS) {
        // it("blocks if size is greater than limit when unit in " .. unit)
        t.test(`blocks if size is greater than limit when unit in ${unit}`, async (t) => {
          refused(t, await send(gw, `limit_${unit}.com`, 'a'.repeat(TEST_SIZE * FACTOR[unit] + 1), { chunked }))
        })
      }
      for (const unit of SIZE_UNITS) {
        // it("works if size is less than limit when unit in " .. unit)
        t.test(`works if size is less than limit when unit in ${unit}`, async (t) => {
          t.equal((await send(gw, `limit_${unit}.com`, 'a'.repeat(TEST_SIZE * FACTOR[unit]), { chunked })).status, 200)
        })
      }
    })
  }

  // describe("Content-Length header required") it("blocks if header is not provided")
  t.test('blocks if header is not provided', async (t) => {
    const r = await send(gw, 'required.com', undefined)
    t.equal(r.status, 411)
    t.equal(r.json.message, 'A valid Content-Length header is required')
  })

  // Not in Kong's spec: a chunked body needs no Content-Length, even when it is required,
  // and is still measured.
  t.test('require_content_length lets chunked bodies through, measured', async (t) => {
    t.equal((await send(gw, 'required.com', 'a'.repeat(10), { chunked: true })).status, 200)
    refused(t, await send(gw, 'required.com', 'a'.repeat(TEST_SIZE * MB + 1), { chunked: true }))
    t.equal((await send(gw, 'required.com', 'a'.repeat(10))).status, 200)
  })
})

t.test('schema: Kong\'s defaults and units', async (t) => {
  const gw = await startTestGateway(t)
  let res = await fetch(`${gw.admin}/plugins`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'request-size-limiting' }) })
  t.equal(res.status, 201)
  t.same((await res.json() as any).config, { allowed_payload_size: 128, size_unit: 'megabytes', require_content_length: false })
  res = await fetch(`${gw.admin}/plugins`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'request-size-limiting', config: { size_unit: 'gigabytes', allowed_payload_size: 1.5 } }) })
  t.equal(res.status, 400)
  t.same((await res.json() as any).fields, { config: { size_unit: 'expected one of: megabytes, kilobytes, bytes', allowed_payload_size: 'expected an integer' } })
})
