// Nodes of one cluster sharing a PostgreSQL database (database = postgres), each a whole
// gateway in this process with its own prefix (its LMDB copy) and 127.0.0.1 ports. A node
// can be stopped and started again on the same prefix, as a restarted machine is.

import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'
import type pg from 'pg'
import { request, type Dispatcher } from 'undici'
import { loadConfig, type Config } from '../../core/config/index.js'
import { startGateway, type Gateway } from '../../core/gateway.js'
import { createLogger, type Logger } from '../../core/log.js'
import type { PgServer } from './postgres.js'
import { tempDir } from './store.js'

export interface PgNode {
  prefix: string
  gateway: Gateway
  proxy: string
  admin: string
  /** The node's id (GET / node_id), which names its connections in pg_stat_activity. */
  nodeId: string
  /** Stops the gateway (once; later calls wait for the same stop). */
  stop(): Promise<void>
}

export interface PgNodeOptions {
  /** The prefix of an earlier node, to start it again; a new temp dir otherwise. */
  prefix?: string
  /** Further configuration keys. */
  config?: Partial<Record<keyof Config, string>>
  log?: Logger
  runMigrations?: boolean
}

/** The configuration keys that point a node at `database` of `server`. */
export function pgKeys (server: PgServer, database: string): Partial<Record<keyof Config, string>> {
  return { database: 'postgres', pg_host: '127.0.0.1', pg_port: String(server.port), pg_user: 'postgres', pg_database: database }
}

/** Starts a node on `database`; stopped at test end if still running. */
export async function startPgNode (t: Test, server: PgServer, database: string, opts: PgNodeOptions = {}): Promise<PgNode> {
  const prefix = opts.prefix ?? tempDir(t)
  const config = loadConfig({ env: {}, overrides: { prefix, proxy_listen: '127.0.0.1:0', admin_listen: '127.0.0.1:0', admin_gui_listen: 'off', ...pgKeys(server, database), ...opts.config } })
  const gateway = await startGateway(config, opts.log ?? createLogger('error'), { runMigrations: opts.runMigrations })
  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => (stopping ??= gateway.stop())
  t.teardown(stop)
  return {
    prefix,
    gateway,
    proxy: `http://127.0.0.1:${(gateway.proxy[0] as AddressInfo).port}`,
    admin: `http://127.0.0.1:${(gateway.admin[0] as AddressInfo).port}`,
    nodeId: gateway.store.nodeId(),
    stop,
  }
}

export interface Answer { status: number, headers: Record<string, string>, body: any }

/** One HTTP request, its answer read whole (JSON parsed when it is JSON). */
export async function call (url: string, method = 'GET', body?: unknown, headers: Record<string, string> = {}, opts: Partial<Dispatcher.RequestOptions> = {}): Promise<Answer> {
  const res = await request(url, {
    ...opts,
    method: method as Dispatcher.HttpMethod,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.body.text()
  let parsed: unknown = text
  try { parsed = text === '' ? undefined : JSON.parse(text) } catch {}
  return { status: res.statusCode, headers: res.headers as Record<string, string>, body: parsed }
}

/** An Admin API write that must succeed with `status`; resolves to the body. */
export async function write (t: Test, admin: string, method: string, path: string, body: unknown, status: number): Promise<any> {
  const r = await call(`${admin}${path}`, method, body)
  if (r.status !== status) t.fail(`${method} ${path}: expected ${status}, got ${r.status} ${JSON.stringify(r.body)}`)
  return r.body
}

/** pg_stat_activity's backend of the LISTEN connection of node `nodeId`, if connected and listening. */
export async function listenerPid (c: pg.Client, nodeId: string): Promise<number | undefined> {
  const { rows } = await c.query<{ pid: number }>(
    "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query = 'LISTEN tollgate_changes'", [`tollgate listener ${nodeId}`])
  return rows[0]?.pid
}

/** The p-th percentile (0..100) of `values`, nearest rank. */
export function percentile (values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] as number
}
