// Tollgate Manager's server (admin_gui_listen), as Kong serves Kong Manager on 8002: the
// built single-page app from dist/manager, and /kconfig.js, which tells the page where the
// Admin API is. The page calls the Admin API from the browser (CORS), so this server holds
// no credentials and proxies nothing: what a browser may do is what the Admin API allows.

import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer, type ServerOptions as HttpsOptions } from 'node:https'
import { basename, extname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import type { Config } from '../config/index.js'
import type { Logger } from '../log.js'
import { SERVER_TOKEN, VERSION } from '../meta.js'

/**
 * dist/manager, from this module's place: dist/core/admin/gui.js when built, or
 * core/admin/gui.ts when run from source (tests), whose built app is still in dist/.
 */
export function managerDir (): string {
  const root = fileURLToPath(new URL('../../', import.meta.url))
  return basename(root) === 'dist' ? join(root, 'manager') : join(root, 'dist', 'manager')
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
}

interface Asset {
  type: string
  body: Buffer
  /** Present when compressing saves bytes. */
  gzip?: Buffer
  etag: string
  /** A content-hashed name never changes content: browsers may keep it for good. */
  immutable: boolean
}

/** Every file of the built app, read once: a few small files, served from memory. */
function loadAssets (dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>()
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const file = join(d, name)
      if (statSync(file).isDirectory()) { walk(file); continue }
      const body = readFileSync(file)
      const type = TYPES[extname(name)] ?? 'application/octet-stream'
      const compressible = !/^(image\/png|font\/)/.test(type)
      const gz = compressible && body.length > 256 ? gzipSync(body, { level: 9 }) : undefined
      assets.set('/' + relative(dir, file).split(sep).join('/'), {
        type,
        body,
        gzip: gz !== undefined && gz.length < body.length ? gz : undefined,
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
        immutable: /[.-][A-Za-z0-9_]{8,}\.\w+$/.test(name) && name !== 'index.html',
      })
    }
  }
  if (existsSync(dir)) walk(dir)
  return assets
}

export interface AdminApiAddress {
  port: number
  ssl: boolean
}

export interface GuiDeps {
  config: Config
  log: Logger
  /** The Admin API's bound listeners, for /kconfig.js. */
  admin: AdminApiAddress[]
  https?: HttpsOptions
  /** Where the built app is; dist/manager by default. */
  dir?: string
}

/**
 * What the page reads before anything else: where the Admin API is (admin_gui_api_url, or
 * the page's own host with admin_listen's ports) and whether it wants a token. Kong Manager
 * reads the same from its kconfig.js.
 */
function kconfig (config: Config, admin: AdminApiAddress[]): string {
  const plain = admin.find((a) => !a.ssl)
  const ssl = admin.find((a) => a.ssl)
  const k = {
    ADMIN_API_URL: config.admin_gui_api_url,
    ADMIN_API_PORT: plain?.port ?? ssl?.port ?? null,
    ADMIN_API_SSL_PORT: ssl?.port ?? null,
    ADMIN_TOKEN_REQUIRED: config.admin_token !== '',
    VERSION,
  }
  return `window.K_CONFIG = ${JSON.stringify(k)}\n`
}

/**
 * The page may talk to its own origin and the Admin API, nothing else: no other scripts, no
 * framing. Without admin_gui_api_url the Admin API's host is the page's, which only the
 * browser knows: any host on the Admin API's ports.
 */
function contentSecurityPolicy (config: Config, admin: AdminApiAddress[]): string {
  const api = config.admin_gui_api_url !== ''
    ? new URL(config.admin_gui_api_url).origin
    : admin.map((a) => `${a.ssl ? 'https' : 'http'}://*:${a.port}`).join(' ')
  return [
    "default-src 'self'",
    "script-src 'self'",
    // uPlot and the app size elements through style attributes.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    `connect-src 'self' ${api}`,
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "form-action 'self'",
  ].join('; ')
}

const NOT_BUILT = '<!doctype html><meta charset="utf-8"><title>Tollgate Manager</title>' +
  '<h1>Tollgate Manager is not built</h1><p>Run <code>npm run build</code> in the Tollgate folder, then restart the gateway.</p>\n'

export function createGuiServer (deps: GuiDeps): Server {
  const dir = deps.dir ?? managerDir()
  const assets = loadAssets(dir)
  const index = assets.get('/index.html')
  if (index === undefined) deps.log.warn({ dir }, 'Tollgate Manager is not built (run npm run build): admin_gui_listen answers 503')
  const config = kconfig(deps.config, deps.admin)
  const csp = contentSecurityPolicy(deps.config, deps.admin)

  const common = (res: ServerResponse): void => {
    res.setHeader('Server', SERVER_TOKEN)
    res.setHeader('Content-Security-Policy', csp)
    res.setHeader('X-Content-Type-Options', 'nosniff')
    res.setHeader('X-Frame-Options', 'DENY')
    res.setHeader('Referrer-Policy', 'no-referrer')
  }

  const send = (req: IncomingMessage, res: ServerResponse, asset: Asset): void => {
    res.setHeader('Content-Type', asset.type)
    res.setHeader('ETag', asset.etag)
    res.setHeader('Cache-Control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
    if (asset.gzip !== undefined) res.setHeader('Vary', 'Accept-Encoding')
    if (req.headers['if-none-match'] === asset.etag) { res.writeHead(304).end(); return }
    const gzip = asset.gzip !== undefined && /\bgzip\b/.test(req.headers['accept-encoding'] ?? '')
    const body = gzip ? asset.gzip as Buffer : asset.body
    if (gzip) res.setHeader('Content-Encoding', 'gzip')
    res.setHeader('Content-Length', body.length)
    res.writeHead(200).end(req.method === 'HEAD' ? undefined : body)
  }

  const text = (req: IncomingMessage, res: ServerResponse, status: number, type: string, body: string): void => {
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' })
    res.end(req.method === 'HEAD' ? undefined : body)
  }

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    common(res)
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD')
      text(req, res, 405, 'text/plain; charset=utf-8', 'Method not allowed\n')
      return
    }
    let path: string
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://gui').pathname)
    } catch {
      text(req, res, 400, 'text/plain; charset=utf-8', 'Bad request\n')
      return
    }
    if (path === '/kconfig.js') { text(req, res, 200, 'text/javascript; charset=utf-8', config); return }
    const asset = assets.get(path)
    if (asset !== undefined) { send(req, res, asset); return }
    // A file name that is not there is a missing asset; anything else is one of the app's
    // own pages (/services/…), which the app routes itself.
    if (extname(path) !== '') { text(req, res, 404, 'text/plain; charset=utf-8', 'Not found\n'); return }
    if (index === undefined) { text(req, res, 503, 'text/html; charset=utf-8', NOT_BUILT); return }
    send(req, res, index)
  }

  const server = deps.https === undefined ? createServer(handle) : createHttpsServer(deps.https, handle)
  // A failed handshake is the client's business.
  server.on('tlsClientError', (_err: Error, socket: { destroy(): void }) => { socket.destroy() })
  return server
}
