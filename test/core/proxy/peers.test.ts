// The balancer seam: before every attempt the pipeline asks a PeerSelector where to go and
// tells it how the attempt ended. A selector that sends the first attempt to a closed port
// and the retry to a live upstream shows retries going to the next peer, the Host header
// following the peer, and the outcomes reported; one with nothing to offer gets Kong's 503.
import t from 'tap'
import { request } from 'undici'
import type { AttemptOutcome, Peer, PeerSelector } from '../../../core/proxy/peers.js'
import type { RequestContext } from '../../../core/runtime/context.js'
import { closedPort, echo, startTestGateway, startUpstream } from '../../helpers/gateway.js'

class ListPeers implements PeerSelector {
  readonly reports: Array<[string, AttemptOutcome, number | undefined]> = []
  readonly attempts: number[] = []
  constructor (readonly peers: Peer[]) {}
  select (_ctx: RequestContext, attempt: number): Peer | undefined {
    this.attempts.push(attempt)
    return this.peers[attempt]
  }

  done (_ctx: RequestContext, peer: Peer, outcome: AttemptOutcome, status?: number): void {
    this.reports.push([`${peer.host}:${peer.port}`, outcome, status])
  }
}

t.test('a failed attempt is retried on the next peer, with that peer\'s Host header', async (t) => {
  const up = await startUpstream(t, echo)
  const dead = await closedPort()
  const peers = new ListPeers([
    { protocol: 'http', host: '127.0.0.1', port: dead, hostHeader: 'first.example' },
    { protocol: 'http', host: '127.0.0.1', port: up.port, hostHeader: 'second.example:8080' },
  ])
  const gw = await startTestGateway(t, { peers })
  await gw.admin$('POST', '/services', { name: 's', url: 'http://balanced.invalid', retries: 3 })
  await gw.admin$('POST', '/services/s/routes', { name: 'r', paths: ['/lb'] })
  const res = await request(`${gw.proxy}/lb`)
  const got = await res.body.json() as { headers: Record<string, string> }
  t.equal(res.statusCode, 200)
  t.equal(got.headers.host, 'second.example:8080', 'the Host of the peer that answered')
  t.same(peers.attempts, [0, 1])
  t.same(peers.reports, [[`127.0.0.1:${dead}`, 'tcp', undefined], [`127.0.0.1:${up.port}`, 'response', 200]])

  await gw.admin$('PATCH', '/routes/r', { preserve_host: true })
  peers.attempts.length = 0
  const kept = await request(`${gw.proxy}/lb`, { headers: { host: 'client.example' } })
  t.equal((await kept.body.json() as { headers: Record<string, string> }).headers.host, 'client.example', 'preserve_host keeps the client\'s')
})

t.test('no peer available: Kong\'s 503, and the upstream is not tried', async (t) => {
  const peers = new ListPeers([])
  const gw = await startTestGateway(t, { peers })
  await gw.admin$('POST', '/services', { name: 's', url: 'http://balanced.invalid' })
  await gw.admin$('POST', '/services/s/routes', { name: 'r', paths: ['/lb'] })
  const res = await request(`${gw.proxy}/lb`, { method: 'POST', body: 'x'.repeat(1000) })
  const body = await res.body.json() as { message: string }
  t.equal(res.statusCode, 503)
  t.equal(body.message, 'failure to get a peer from the ring-balancer')
  t.same(peers.reports, [], 'nothing to report')
})
