// Request headers as plugins see them (kong.request.getHeaders) and header changes made
// with mixed-case names: both have fast paths (node's parsed headers reused when no name
// repeats, lower-cased names remembered) whose answers must equal the general ones.
import t from 'tap'
import { request } from 'undici'
import { startTestGateway } from '../../helpers/gateway.js'
import { startMockUpstream, type Echo } from '../../helpers/mock-upstream.js'
import { testHeaders } from '../../fixtures/plugins/test-plugins.js'

t.test('getHeaders and header changes by mixed-case names', async (t) => {
  const gw = await startTestGateway(t, { plugins: [testHeaders] })
  const up = await startMockUpstream(t)
  await gw.admin$('POST', '/services', { name: 's', url: up.url })
  await gw.admin$('POST', '/services/s/routes', { paths: ['/h'] })
  await gw.admin$('POST', '/plugins', { name: 'test-headers' })

  const send = async (headers: string[], query = ''): Promise<{ seen: Record<string, unknown>, echo: Echo, response: Record<string, unknown> }> => {
    const res = await request(`${gw.proxy}/h${query}`, { headers })
    const echo = await res.body.json() as Echo
    t.equal(res.statusCode, 200)
    return { seen: JSON.parse(echo.headers['x-seen'] as string) as Record<string, unknown>, echo, response: res.headers }
  }

  // No repeated name: the fast path.
  const single = await send(['X-One', 'a', 'X-Remove-Me', 'gone'])
  t.equal(single.seen['x-one'], 'a', 'names are lower-case')
  t.equal(single.seen['x-remove-me'], 'gone', 'getHeaders shows what the client sent')
  t.notOk('X-One' in single.seen, 'no mixed-case name')
  t.equal(single.echo.headers['x-mixed-case'], 'set', 'setHeader folds the name')
  t.notOk('x-remove-me' in single.echo.headers, 'clearHeader with a mixed-case name removes it')
  t.notOk('x-never-sent' in single.echo.headers)
  t.equal(single.response['x-response-mixed'], 'yes', 'kong.response.setHeader folds the name')

  // A plugin's changes to what getHeaders and getQuery gave it are its own.
  const query = await send(['X-One', 'a'], '?a=1&a=2&b')
  t.same(JSON.parse(query.echo.headers['x-seen-query'] as string), { a: ['1', '2'], b: true }, 'the query as sent')
  t.equal(query.seen['x-one'], 'a', 'the headers as sent')

  // A repeated name is an array (node would join it into one string).
  const repeated = await send(['X-Two', '1', 'x-two', '2', 'X-One', 'a'])
  t.same(repeated.seen['x-two'], ['1', '2'])
  t.equal(repeated.seen['x-one'], 'a')

  // A repeated name node drops (authorization keeps its first) is still an array.
  const dropped = await send(['Authorization', 'first', 'Authorization', 'second'])
  t.same(dropped.seen.authorization, ['first', 'second'])

  // node always makes set-cookie an array; the PDK gives a single one as a string.
  const cookie = await send(['Set-Cookie', 'a=1'])
  t.equal(cookie.seen['set-cookie'], 'a=1')

  // The same mixed-case names again: remembered folds give the same answers.
  const again = await send(['X-Remove-Me', 'gone'])
  t.notOk('x-remove-me' in again.echo.headers)
  t.equal(again.echo.headers['x-mixed-case'], 'set')
})
