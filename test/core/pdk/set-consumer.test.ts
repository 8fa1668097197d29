// The SDK's setConsumer and authenticateAnonymous (Kong's set_consumer and anonymous
// fallback, as key-auth, basic-auth and jwt use them), through a real gateway and upstream:
// a toy auth plugin that trusts an x-who header naming a consumer.
import { authenticateAnonymous, definePlugin, setConsumer, Type } from '@tollgate/sdk'
import type { Consumer } from '@tollgate/sdk'
import t from 'tap'
import { request } from 'undici'
import { echo, startTestGateway, startUpstream } from '../../helpers/gateway.js'

const trusting = definePlugin({
  name: 'trusting',
  version: '1.0.0',
  priority: 1000,
  // Unset fields come as null, as Kong's.
  schema: Type.Object({ anonymous: Type.Optional(Type.String()), identifier: Type.Optional(Type.String()) }),
  access (kong, conf) {
    const who = kong.request.getHeader('x-who')
    const consumer = who === undefined ? undefined : kong.client.loadConsumer(who, true)
    if (consumer !== undefined) {
      const credential = { id: '11111111-1111-4111-8111-111111111111', consumer: { id: consumer.id } }
      if (conf.identifier != null) setConsumer(kong, consumer, credential, conf.identifier)
      else setConsumer(kong, consumer, credential)
    } else if (conf.anonymous != null) {
      if (authenticateAnonymous(kong, conf.anonymous)) kong.service.request.setHeader('x-fell-back', 'yes')
    } else {
      kong.response.error(401)
    }
  },
  // What kong.client reports after access, to show authenticate was called.
  headerFilter (kong) {
    kong.response.setHeader('x-seen-consumer', kong.client.getConsumer()?.username ?? 'none')
    kong.response.setHeader('x-seen-credential', kong.client.getCredential()?.id ?? 'none')
  },
})

interface Echo { headers: Record<string, string | undefined> }

t.test('setConsumer and authenticateAnonymous', async (t) => {
  const gw = await startTestGateway(t, { plugins: [trusting] })
  const up = await startUpstream(t, echo)
  await gw.admin$('POST', '/services', { name: 's', url: up.url })
  await gw.admin$('POST', '/services/s/routes', { name: 'plain', hosts: ['plain.test'] })
  await gw.admin$('POST', '/services/s/routes', { name: 'named', hosts: ['named.test'] })
  await gw.admin$('POST', '/services/s/routes', { name: 'anon', hosts: ['anon.test'] })
  await gw.admin$('POST', '/services/s/routes', { name: 'ghost', hosts: ['ghost.test'] })
  await gw.admin$('POST', '/routes/plain/plugins', { name: 'trusting' })
  await gw.admin$('POST', '/routes/named/plugins', { name: 'trusting', config: { identifier: 'the-key' } })
  const bob = await gw.admin$('POST', '/consumers', { username: 'bob', custom_id: 'b-1' }) as Consumer
  const nobody = await gw.admin$('POST', '/consumers', { username: 'nobody' }) as Consumer
  await gw.admin$('POST', '/routes/anon/plugins', { name: 'trusting', config: { anonymous: 'nobody' } })
  await gw.admin$('POST', '/routes/ghost/plugins', { name: 'trusting', config: { anonymous: 'no-such-consumer' } })

  // Headers a client tries to pass off as the gateway's.
  const spoofed = { 'x-consumer-id': 'spoof', 'x-consumer-custom-id': 'spoof', 'x-consumer-username': 'spoof', 'x-credential-identifier': 'spoof', 'x-anonymous-consumer': 'spoof' }
  const call = async (host: string, headers: Record<string, string> = {}): Promise<{ status: number, headers: Record<string, unknown>, body: Echo | { message: string } }> => {
    const r = await request(`${gw.proxy}/`, { headers: { host, ...spoofed, ...headers } })
    return { status: r.statusCode, headers: r.headers, body: await r.body.json() as Echo }
  }

  let r = await call('plain.test', { 'x-who': 'bob' })
  t.equal(r.status, 200)
  let h = (r.body as Echo).headers
  t.same([h['x-consumer-id'], h['x-consumer-custom-id'], h['x-consumer-username'], h['x-credential-identifier'], h['x-anonymous-consumer']],
    [bob.id, 'b-1', 'bob', '11111111-1111-4111-8111-111111111111', undefined], 'the credential id identifies it by default; X-Anonymous-Consumer removed')
  t.same([r.headers['x-seen-consumer'], r.headers['x-seen-credential']], ['bob', '11111111-1111-4111-8111-111111111111'], 'kong.client.authenticate was called')

  h = ((await call('named.test', { 'x-who': 'nobody' })).body as Echo).headers
  t.same([h['x-consumer-id'], h['x-consumer-custom-id'], h['x-credential-identifier']], [nobody.id, undefined, 'the-key'], 'a consumer without custom_id: the spoofed header is removed; the given identifier is sent')

  r = await call('anon.test')
  h = (r.body as Echo).headers
  t.same([h['x-consumer-id'], h['x-consumer-username'], h['x-credential-identifier'], h['x-anonymous-consumer'], h['x-fell-back']],
    [nobody.id, 'nobody', undefined, 'true', 'yes'], 'anonymous: no credential identifier, X-Anonymous-Consumer true')
  t.same([r.headers['x-seen-consumer'], r.headers['x-seen-credential']], ['nobody', 'none'])

  r = await call('ghost.test')
  t.same([r.status, (r.body as { message: string }).message], [500, "anonymous consumer no-such-consumer is configured but doesn't exist"])
  t.equal((await call('plain.test')).status, 401, 'the toy refuses without a consumer (the route works)')
})
