// The balancer's Admin endpoints, after Kong 3.2's kong/api/routes/upstreams.lua and
// kong/db/dao/targets.lua (page_for_upstream_with_health, post_health):
//   GET /upstreams/{u}/health                  targets, newest first, each with `health`
//                                              and `data` (this node's balancer view)
//   GET /upstreams/{u}/health?balancer_health=1  the upstream's own health
//   PUT /upstreams/{u}/targets/{t}/healthy|unhealthy             every address of the target
//   PUT /upstreams/{u}/targets/{t}/{address}/healthy|unhealthy   one address (ip[:port])
// Health is per node: these answer for the node whose Admin API is asked. Kong's health
// checks guide shows POST for the last two; its 3.x code registers PUT. Both are served.

import { addressHealth, parseTarget, targetHealth, type BalancerStatus, type TargetStatus } from '../balancer/index.js'
import { NoHealthChecker, type HealthHub } from '../balancer/health-hub.js'
import type { UpstreamBalancers } from '../balancer/registry.js'
import { targetsOf, type ConfigReader, type EntityStore } from '../store/index.js'
import { oneString, parseSize } from './entities.js'
import { TARGET_PATH, findTarget } from './upstreams.js'
import type { Handler, Req, RouteTable } from './route-table.js'
import { Errors } from '../errors.js'

const NOT_FOUND = { message: 'Not found' }
const DEFAULT_SIZE = 100
const MAX_SIZE = 1000

export interface HealthDeps {
  balancers: UpstreamBalancers
  hub: HealthHub
}

/** `data` of one target: its balancer status, with each address's health word. */
function targetData (s: TargetStatus, on: boolean): Record<string, unknown> {
  return {
    host: s.host,
    port: s.port,
    nodeWeight: s.nodeWeight,
    weight: s.weight,
    addresses: s.addresses.map((a) => ({ ip: a.ip, port: a.port, weight: a.weight, health: addressHealth(a, on, s.nodeWeight) })),
    dns: s.dns,
  }
}

export function registerHealthRoutes (table: RouteTable, store: EntityStore & ConfigReader, health: HealthDeps): void {
  const tags = ['upstreams']
  const upstreamOf = (req: Req) => store.find('upstreams', store.keyFor('upstreams', req.params.parent as string))

  table.add('GET', '/upstreams/:parent/health', { summary: "This node's view of an upstream's targets and their health", response: 'object', tags }, async (req, reply) => {
    const row = upstreamOf(req)
    if (row === undefined) return reply.code(404).send(NOT_FOUND)
    const u = health.balancers.byId(row.id)
    const on = health.hub.has(row.id)
    const status: BalancerStatus | undefined = u?.balancer.status()
    const nodeId = store.nodeId()
    const flag = oneString(req.query.balancer_health)
    if (flag !== undefined && flag !== '0' && flag !== 'false') {
      // Kong's get_balancer_health: details only when a checker exists.
      const data: Record<string, unknown> = { health: on ? (status?.healthy === true ? 'HEALTHY' : 'UNHEALTHY') : 'HEALTHCHECKS_OFF', id: row.id }
      if (on && status !== undefined) data.details = status
      return { data, next: null, node_id: nodeId }
    }
    const size = parseSize(req.query.size) ?? DEFAULT_SIZE
    if (!Number.isInteger(size) || size < 1 || size > MAX_SIZE) throw Errors.invalidSize(`size must be an integer between 1 and ${MAX_SIZE}`)
    const raw = oneString(req.query.offset)
    if (raw !== undefined && !/^\d+$/.test(raw)) throw Errors.invalidOffset(raw, 'bad integer')
    const start = raw === undefined ? 0 : Number(raw)
    const byTarget = new Map<string, TargetStatus>()
    for (const h of status?.hosts ?? []) byTarget.set(`${h.host}:${h.port}`, h)
    const all = targetsOf(store, row.id).reverse()
    const data = all.slice(start, start + size).map((t) => {
      const s = byTarget.get(t.target)
      // A target the balancer has no addresses for (its name does not resolve) is DNS_ERROR.
      if (s === undefined) return { ...t, health: 'DNS_ERROR' }
      return { ...t, health: targetHealth(s, on), data: targetData(s, on) }
    })
    const path = `/upstreams/${encodeURIComponent(req.params.parent as string)}/health`
    if (start + size >= all.length) return { data, next: null, node_id: nodeId }
    const offset = String(start + size)
    return { data, offset, next: `${path}?offset=${offset}`, node_id: nodeId }
  })

  const set = (healthy: boolean, withAddress: boolean): Handler => async (req, reply) => {
    const { upstream, target } = findTarget(store, req.params.parent as string, req.params.key as string)
    if (upstream === undefined || target === undefined) return reply.code(404).send(NOT_FOUND)
    const u = health.balancers.byId(upstream.id)
    if (u === undefined) return reply.code(404).send(NOT_FOUND)
    const { host, port } = parseTarget(target.target as string)
    let ip: string | undefined
    let addressPort = port
    if (withAddress) {
      let a: ReturnType<typeof parseTarget>
      try {
        a = parseTarget(req.params.address as string)
      } catch {
        return reply.code(400).send({ message: `invalid address '${req.params.address as string}'` })
      }
      if (a.kind === 'name') return reply.code(400).send({ message: `invalid address '${req.params.address as string}'` })
      ip = a.host
      // An address without a port is the target's port (parseTarget's default is Kong's 8000).
      if (/^(?:\[[^\]]*\]|[^:]+)$/.test(req.params.address as string)) addressPort = port
      else addressPort = a.port
    }
    try {
      const n = health.hub.set(u, host, addressPort, healthy, ip)
      // lua-resty-healthcheck's answer for an address the target does not have.
      if (withAddress && n === 0) return reply.code(400).send({ message: 'target not found' })
    } catch (err) {
      if (err instanceof NoHealthChecker) return reply.code(400).send({ message: err.message })
      throw err
    }
    return reply.code(204).send()
  }
  for (const [word, healthy] of [['healthy', true], ['unhealthy', false]] as const) {
    for (const method of ['PUT', 'POST'] as const) {
      table.add(method, `${TARGET_PATH}/${word}`, { summary: `Mark every address of a target ${word} on this node`, response: 'empty', status: 204, tags }, set(healthy, false))
      table.add(method, `${TARGET_PATH}/:address/${word}`, { summary: `Mark one address of a target ${word} on this node`, response: 'empty', status: 204, tags }, set(healthy, true))
    }
  }
}
