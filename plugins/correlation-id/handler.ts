// correlation-id (Kong's kong/plugins/correlation-id/handler.lua): the request keeps the
// id the client sent in header_name; otherwise a new one is made and sent upstream, and
// with echo_downstream back to the client too.
import { randomUUID } from 'node:crypto'
import { networkInterfaces } from 'node:os'
import type { Kong } from '@tollgate/sdk'
import type { CorrelationIdConfig } from './schema.js'

// Kong makes one uuid per worker process (init_worker) and counts from 1.
const processUuid = randomUUID()
let counter = 0

/**
 * The tracker's server address: the PDK does not expose the address a request came in on
 * (nginx's $server_addr), so this is the host's first non-internal IPv4 address, else
 * 127.0.0.1.
 */
const serverAddr = Object.values(networkInterfaces()).flat().find((i) => i !== undefined && i.family === 'IPv4' && !i.internal)?.address ?? '127.0.0.1'

/**
 * nginx's $connection (connection serial) and $connection_requests for the tracker: the
 * PDK has no connection object, so a connection is told by the client's address and port.
 * Bounded: the oldest are forgotten past MAX_CONNECTIONS.
 */
const connections = new Map<string, { serial: number, requests: number }>()
const MAX_CONNECTIONS = 10_000
let serials = 0

function connectionOf (kong: Kong): { serial: number, requests: number } {
  const key = `${kong.client.getIp()}:${kong.client.getPort()}`
  let c = connections.get(key)
  if (c === undefined) {
    c = { serial: ++serials, requests: 0 }
    connections.set(key, c)
    if (connections.size > MAX_CONNECTIONS) connections.delete(connections.keys().next().value as string)
  }
  c.requests++
  return c
}

const generators: Record<CorrelationIdConfig['generator'], (kong: Kong) => string> = {
  uuid: () => randomUUID(),
  'uuid#counter': () => `${processUuid}#${++counter}`,
  // Kong's "%s-%s-%d-%s-%s-%0.3f": server address, server port, worker pid, connection
  // serial, requests on the connection, time in seconds with milliseconds.
  tracker: (kong) => {
    const c = connectionOf(kong)
    return `${serverAddr}-${kong.request.getPort()}-${process.pid}-${c.serial}-${c.requests}-${(Date.now() / 1000).toFixed(3)}`
  },
}

interface State { correlationId?: string }

export function access (kong: Kong, conf: CorrelationIdConfig): void {
  let id = kong.request.getHeader(conf.header_name)
  if (id === undefined || id === '') {
    id = generators[conf.generator](kong)
    kong.service.request.setHeader(conf.header_name, id)
  }
  kong.log.setSerializeValue('correlation_id', id)
  if (conf.echo_downstream) (kong.ctx.plugin as State).correlationId = id
}

/** Runs also when access did not (another plugin answered first): the id is then made here. */
export function headerFilter (kong: Kong, conf: CorrelationIdConfig): void {
  let id = (kong.ctx.plugin as State).correlationId ?? kong.request.getHeader(conf.header_name)
  if (id === undefined || id === '') id = generators[conf.generator](kong)
  kong.response.setHeader(conf.header_name, id)
}
