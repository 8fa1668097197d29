// A plugin that writes what cannot go on the wire (CR/LF in a header value, a name that is
// not a token, a query with spaces) fails its own request, with Kong's 500 and a log line
// that names the request id; it never splits a header, breaks the connection without an
// answer, or is blamed on the upstream (502).
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { request } from 'undici'
import { echo, memoryLogger, startTestGateway, startUpstream } from '../../helpers/gateway.js'

const BREAKER = fileURLToPath(new URL('../../fixtures/plugins/header-breaker.ts', import.meta.url))

t.test('unsendable headers and queries from a plugin fail that request only', async (t) => {
  const { log, lines } = memoryLogger()
  const gw = await startTestGateway(t, { config: { plugins: `bundled,${BREAKER}` }, log })
  const up = await startUpstream(t, echo)
  await gw.admin$('POST', '/services', { name: 'edge', url: up.url })
  await gw.admin$('POST', '/services/edge/routes', { name: 'edge', paths: ['/edge'] })
  await gw.admin$('POST', '/plugins', { name: 'header-breaker' })

  for (const what of ['upstream-value', 'upstream-name', 'exit-value', 'exit-name', 'access-response-value', 'set-headers-value', 'set-headers-name', 'query']) {
    const res = await request(`${gw.proxy}/edge`, { headers: { 'x-break': what } })
    const body = await res.body.json() as { message: string, request_id: string }
    t.equal(res.statusCode, 500, `${what}: 500`)
    t.equal(body.message, 'An unexpected error occurred')
    t.notOk('x-bad' in res.headers || 'injected' in res.headers, `${what}: no header written, none injected`)
    const line = lines.find((l) => l.request_id === body.request_id)
    t.ok(line !== undefined, `${what}: logged with the request id`)
    t.match(JSON.stringify(line), /invalid (header name|header value|query)/, `${what}: the log says what was wrong`)
  }
  // In header_filter the response is already the upstream's: as in Kong, the failing
  // plugin's change is dropped and the answer goes on.
  for (const what of ['response-value', 'response-name']) {
    const res = await request(`${gw.proxy}/edge`, { headers: { 'x-break': what } })
    await res.body.text()
    t.equal(res.statusCode, 200, `${what} in header_filter: the upstream's answer`)
    t.notOk('x-bad' in res.headers || 'injected' in res.headers, `${what}: no header written, none injected`)
  }
  const ok = await request(`${gw.proxy}/edge`)
  t.equal(ok.statusCode, 200, 'the gateway goes on serving')
  await ok.body.text()
})
