import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createNetServer, type AddressInfo } from 'node:net'
import type { Test } from 'tap'
import { Agent, request, setGlobalDispatcher } from 'undici'
import { loadConfig, type Config, type LogLevel } from '../../core/config/index.js'
import { startGateway, type Gateway, type StartOptions } from '../../core/gateway.js'
import { createLogger, type Logger } from '../../core/log.js'
import { tempDir } from './store.js'

// A gateway stops gracefully: its proxy waits for idle keep-alive connections to be closed
// by their client (listen.ts drain), which undici does 3 s after a connection's last answer
// (node's `Keep-Alive: timeout=5` less undici's 2 s margin). Every test gateway waited those
// 3 s at teardown; the tests' client now lets an idle connection go after 100 ms. Requests
// sent one after another still share a connection; tests about connections use raw sockets.
setGlobalDispatcher(new Agent({ keepAliveTimeout: 100, keepAliveMaxTimeout: 100 }))

export interface TestGateway {
  gateway: Gateway
  proxy: string
  admin: string
  /** Admin API call with a JSON body; throws on a non-2xx answer. */
  admin$ (method: string, path: string, body?: unknown): Promise<any>
}

/** The whole gateway in this process, on 127.0.0.1 ports of its choosing, with a temp prefix. */
export async function startTestGateway (t: Test, opts: StartOptions & { config?: Partial<Record<keyof Config, string>>, log?: Logger } = {}): Promise<TestGateway> {
  const config = loadConfig({ env: {}, overrides: { prefix: tempDir(t), proxy_listen: '127.0.0.1:0', admin_listen: '127.0.0.1:0', admin_gui_listen: 'off', ...opts.config } })
  const gateway = await startGateway(config, opts.log ?? createLogger('error'), opts)
  t.teardown(() => gateway.stop())
  const admin = `http://127.0.0.1:${(gateway.admin[0] as AddressInfo).port}`
  return {
    gateway,
    proxy: `http://127.0.0.1:${(gateway.proxy[0] as AddressInfo).port}`,
    admin,
    async admin$ (method, path, body) {
      const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' }
      // A gateway started with an admin token: the helper's calls carry it.
      if (config.admin_token !== '') headers.authorization = `Bearer ${config.admin_token}`
      const res = await request(`${admin}${path}`, {
        method: method as 'GET',
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      })
      const text = await res.body.text()
      if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${text}`)
      return text === '' ? undefined : JSON.parse(text)
    },
  }
}

export interface Upstream {
  server: Server
  port: number
  url: string
}

/** A real upstream on 127.0.0.1; the handler sees every request. Closed at test end. */
export async function startUpstream (t: Test, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Upstream> {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  const port = (server.address() as AddressInfo).port
  return { server, port, url: `http://127.0.0.1:${port}` }
}

/** An upstream that answers with what it received, as JSON. */
export function echo (req: IncomingMessage, res: ServerResponse): void {
  let bytes = 0
  req.on('data', (c: Buffer) => { bytes += c.length })
  req.on('end', () => {
    const body = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, rawHeaders: req.rawHeaders, bytes })
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-upstream': 'yes', server: 'echo-upstream' })
    res.end(body)
  })
}

/**
 * Resolves once `cond` holds, checking every few ms; fails after `timeoutMs` with `what`.
 * `cond` may be async (an HTTP call, say): each check then waits for the previous one.
 * The deadline is generous on purpose: it only bounds a failure, and a loaded machine is slow.
 */
export async function until (cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** A logger whose JSON lines (at `level` and above) are kept in `lines`, for tests that check what was logged. */
export function memoryLogger (level: LogLevel = 'error'): { log: Logger, lines: Array<Record<string, any>> } {
  const lines: Array<Record<string, any>> = []
  const log = createLogger(level, { write (chunk: string) { lines.push(JSON.parse(chunk)) } })
  return { log, lines }
}

/** A port on 127.0.0.1 nothing listens on (bound, then closed): connections are refused. */
export async function closedPort (): Promise<number> {
  const s = createNetServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const port = (s.address() as AddressInfo).port
  await new Promise<void>((resolve) => s.close(() => resolve()))
  return port
}
