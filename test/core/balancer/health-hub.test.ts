// The node's health: the hub (checkers fed by the registry's balancers) and a worker's
// mirror (states applied to its own balancers, only useful passive evidence forwarded),
// over a real LMDB store in a temp dir.
import t from 'tap'
import { HealthHub, HealthMirror, NoHealthChecker, passiveEvidence, type HealthChange, type PassiveReport } from '../../../core/balancer/health-hub.js'
import { UpstreamBalancers } from '../../../core/balancer/registry.js'
import type { Upstream } from '../../../core/store/entities/upstreams.js'
import { tempStore } from '../../helpers/store.js'
import { until } from '../../helpers/gateway.js'

const PASSIVE = { passive: { unhealthy: { tcp_failures: 2, http_failures: 1, timeouts: 0, http_statuses: [500] }, healthy: { successes: 1 } } }

t.test('passiveEvidence classes outcomes as the checker does', async (t) => {
  const store = tempStore(t)
  const u = await store.insert('upstreams', { name: 'x.internal', healthchecks: PASSIVE }) as unknown as Upstream
  const p = u.healthchecks.passive
  t.equal(passiveEvidence(p, 'tcp'), 'failure')
  t.equal(passiveEvidence(p, 'timeout'), undefined, 'timeouts threshold 0: off')
  t.equal(passiveEvidence(p, 'response', 500), 'failure')
  t.equal(passiveEvidence(p, 'response', 200), 'success')
  t.equal(passiveEvidence(p, 'response', 404), undefined, 'in neither list')
  t.equal(passiveEvidence(p, 'response'), 'failure', 'no status: an invalid response')
  const off = { ...p, healthy: { ...p.healthy, successes: 0 } }
  t.equal(passiveEvidence(off, 'response', 200), undefined, 'successes threshold 0: off')
})

t.test('hub and mirror: states flow to the worker, evidence back only when it matters', async (t) => {
  const store = tempStore(t)
  const up = await store.insert('upstreams', { name: 'h.internal', healthchecks: PASSIVE })
  await store.insert('targets', { target: '10.1.0.1:80', upstream: { id: up.id } })
  await store.insert('targets', { target: '10.1.0.2:80', upstream: { id: up.id } })

  const hubSide = new UpstreamBalancers(store)
  const published: HealthChange[][] = []
  const hub = new HealthHub(hubSide, { publish: (c) => published.push(c) })
  t.teardown(async () => { await hub.stop(); hubSide.close() })
  t.ok(hub.has(up.id), 'a checker for an upstream with passive thresholds')

  const workerSide = new UpstreamBalancers(store)
  const sent: PassiveReport[] = []
  const mirror = new HealthMirror(workerSide, (r) => sent.push(r))
  t.teardown(() => { mirror.close(); workerSide.close() })
  const wu = workerSide.get('h.internal')
  if (wu === undefined) throw new Error('no balancer')
  const [a1, a2] = wu.balancer.addresses()
  if (a1 === undefined || a2 === undefined) throw new Error('addresses')

  mirror.report(wu, a1, 'response', 200)
  t.equal(sent.length, 0, 'a success of a healthy address is not sent')
  mirror.report(wu, a1, 'response', 404)
  t.equal(sent.length, 0, 'nor a status in neither list')
  mirror.report(wu, a1, 'tcp')
  t.same(sent, [{ upstream: up.id, ip: '10.1.0.1', port: 80, hostname: '10.1.0.1', outcome: 'tcp', status: undefined }])

  // The hub takes the forwarded evidence: the first tcp failure makes it mostly healthy.
  hub.forwarded(sent[0] as PassiveReport)
  t.same(published.at(-1), [{ upstream: up.id, ip: '10.1.0.1', port: 80, hostname: '10.1.0.1', health: 'mostly_healthy' }])
  mirror.apply(published.at(-1) as HealthChange[])
  mirror.report(wu, a1, 'response', 200)
  t.equal(sent.length, 2, 'now a success is worth sending (it resets the counters)')

  hub.forwarded({ ...(sent[0] as PassiveReport) })
  const last = published.at(-1) as HealthChange[]
  t.equal(last[0]?.health, 'unhealthy', 'the second tcp failure: unhealthy')
  mirror.apply(last)
  t.equal(wu.balancer.select()?.key, '10.1.0.2:80', 'the worker avoids it')
  t.equal(wu.balancer.select()?.key, '10.1.0.2:80')
  const before = sent.length
  mirror.report(wu, a1, 'tcp')
  t.equal(sent.length, before, 'a failure of an unhealthy address is not sent')
  t.same(hub.snapshot().map((c) => [c.ip, c.health]), [['10.1.0.1', 'unhealthy']], 'the snapshot a new worker gets')

  // A balancer rebuilt in the worker (a target added) keeps the known state.
  await store.insert('targets', { target: '10.1.0.3:80', upstream: { id: up.id } })
  workerSide.invalidate()
  const rebuilt = workerSide.get('h.internal')
  t.equal(rebuilt?.balancer.addresses().find((a) => a.ip === '10.1.0.1')?.available, false)

  // A removed address forgets its state, and the workers are told: back, it starts healthy.
  const hub2 = hubSide.get('h.internal')
  if (hub2 === undefined) throw new Error('no hub balancer')
  await until(() => hub2.balancer.addresses().length === 3, 'the hub to see the third target')
  const t1 = store.listFor('targets', 'upstream', up.id, {}).data.find((x) => x.target === '10.1.0.1:80')
  t.ok(t1, 'target 10.1.0.1 found')
  published.length = 0
  await store.delete('targets', { id: t1?.id as string })
  await until(() => published.some((c) => c.some((x) => x.ip === '10.1.0.1' && x.health === 'healthy')), 'the removal to be published')
  t.same(hub.snapshot(), [], 'nothing left to tell a new worker')
  await store.insert('targets', { target: '10.1.0.1:80', upstream: { id: up.id } })
  await until(() => hub2.balancer.addresses().length === 3, 'the target back')
  mirror.apply(published.flat())
  workerSide.invalidate()
  t.equal(workerSide.get('h.internal')?.balancer.addresses().find((a) => a.ip === '10.1.0.1')?.available, true, 'back and healthy in the worker too')

  // Manual changes: through the hub, published like the others.
  const hu = hubSide.get('h.internal')
  if (hu === undefined) throw new Error('no hub balancer')
  await until(() => hu.balancer.addresses().length === 3, 'the hub to see the third target')
  t.equal(hub.set(hu, '10.1.0.1', 80, true), 1)
  t.equal(published.at(-1)?.[0]?.health, 'healthy')

  // Checks turned off: the checker goes, every address is available, workers are told.
  t.equal(hub.set(hu, '10.1.0.2', 80, false), 1)
  t.equal(hu.balancer.addresses().find((a) => a.ip === '10.1.0.2')?.available, false)
  await store.update('upstreams', { id: up.id }, { healthchecks: { passive: { unhealthy: { tcp_failures: 0, http_failures: 0, timeouts: 0 } } } })
  await until(() => !hub.has(up.id), 'the checker to go')
  t.ok(hu.balancer.addresses().every((a) => a.available), 'all available again')
  let thrown: unknown
  try { hub.set(hu, '10.1.0.1', 80, false) } catch (err) { thrown = err }
  t.ok(thrown instanceof NoHealthChecker, 'no checker to set')
  t.equal((thrown as Error).message, 'no healthchecker found for h.internal')
})
