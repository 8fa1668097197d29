// kong.db.listFor: a plugin reads every row that points at an entity (Kong's
// each_for_consumer), cached between writes like get and find.
import { definePlugin, Type } from '@tollgate/sdk'
import t from 'tap'
import { request } from 'undici'
import { echo, startTestGateway, startUpstream } from '../../helpers/gateway.js'

const lister = definePlugin({
  name: 'key-lister',
  version: '1.0.0',
  priority: 900,
  schema: Type.Object({}),
  access (kong) {
    const consumer = kong.client.loadConsumer('ada', true)
    if (consumer === undefined) return kong.response.exit(404)
    const keys = kong.db.listFor('keyauth_credentials', 'consumer', consumer.id).map((c) => c.key as string)
    return kong.response.exit(200, { keys })
  },
})

t.test("kong.db.listFor reads a consumer's credentials and sees every write", async (t) => {
  const gw = await startTestGateway(t, { plugins: [lister] })
  const up = await startUpstream(t, echo)
  await gw.admin$('POST', '/services', { name: 's', url: up.url })
  await gw.admin$('POST', '/services/s/routes', { paths: ['/'] })
  await gw.admin$('POST', '/plugins', { name: 'key-lister' })
  await gw.admin$('POST', '/consumers', { username: 'ada' })
  await gw.admin$('POST', '/consumers', { username: 'bob' })
  await gw.admin$('POST', '/consumers/bob/key-auth', { key: 'bobs' })
  const keys = async (): Promise<string[]> => {
    const res = await request(`${gw.proxy}/`)
    return ((await res.body.json()) as { keys: string[] }).keys
  }
  t.same(await keys(), [], 'none yet')
  const a = await gw.admin$('POST', '/consumers/ada/key-auth', { key: 'a1' })
  await gw.admin$('POST', '/consumers/ada/key-auth', { key: 'a2' })
  t.same((await keys()).sort(), ['a1', 'a2'], "ada's two, not bob's")
  t.same((await keys()).sort(), ['a1', 'a2'], 'the same from the cache')
  await gw.admin$('DELETE', `/consumers/ada/key-auth/${a.id as string}`)
  t.same(await keys(), ['a2'], 'a deleted one is gone on the next request')
})
