import { runPlugin } from '@tollgate/sdk'
import t from 'tap'
import plugin from './index.js'

t.test('drops request fields and adds response fields', async (t) => {
  const r = await runPlugin(plugin, {
    config: { remove_from_request: ['password'], add_to_response: { via: 'tollgate' } },
    request: { method: 'POST', path: '/users', body: { name: 'ada', password: 'secret' } },
    upstreamResponse: { status: 201, headers: { 'content-type': 'application/json' }, body: '{"id":7}' },
  })
  t.same(JSON.parse(r.upstream?.body?.toString() ?? ''), { name: 'ada' })
  t.equal(r.response.status, 201)
  t.same(JSON.parse(r.response.body.toString()), { id: 7, via: 'tollgate' })
})

t.test('leaves non-JSON alone', async (t) => {
  const r = await runPlugin(plugin, {
    config: { add_to_response: { via: 'tollgate' } },
    upstreamResponse: { headers: { 'content-type': 'text/plain' }, body: 'hello' },
  })
  t.equal(r.response.body.toString(), 'hello')
})
