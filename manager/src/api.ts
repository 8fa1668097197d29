// The Admin API client: its base URL from window.K_CONFIG (served by the gateway as
// /kconfig.js), the admin token from sessionStorage, and Kong's error bodies as ApiError.

export interface KConfig {
  ADMIN_API_URL: string
  ADMIN_API_PORT: number
  ADMIN_API_SSL_PORT: number | null
  ADMIN_TOKEN_REQUIRED: boolean
  VERSION: string
}

declare global {
  interface Window { K_CONFIG?: Partial<KConfig> }
}

export function kconfig (): KConfig {
  const k = window.K_CONFIG ?? {}
  return {
    ADMIN_API_URL: k.ADMIN_API_URL ?? '',
    ADMIN_API_PORT: k.ADMIN_API_PORT ?? 8001,
    ADMIN_API_SSL_PORT: k.ADMIN_API_SSL_PORT ?? null,
    ADMIN_TOKEN_REQUIRED: k.ADMIN_TOKEN_REQUIRED ?? false,
    VERSION: k.VERSION ?? '',
  }
}

export function adminBase (): string {
  const k = kconfig()
  if (k.ADMIN_API_URL !== '') return k.ADMIN_API_URL.replace(/\/+$/, '')
  const port = location.protocol === 'https:' && k.ADMIN_API_SSL_PORT !== null ? k.ADMIN_API_SSL_PORT : k.ADMIN_API_PORT
  return `${location.protocol}//${location.hostname}:${port}`
}

const TOKEN_KEY = 'tollgate.admin-token'

export function getToken (): string | null {
  try { return sessionStorage.getItem(TOKEN_KEY) } catch { return null }
}

export function setToken (token: string | null): void {
  try {
    if (token === null) sessionStorage.removeItem(TOKEN_KEY)
    else sessionStorage.setItem(TOKEN_KEY, token)
  } catch { /* storage unavailable: the token lives for this page only */ }
}

/** Kong's error body: `fields` nests like the entity (config.minute) and may hold `@entity`. */
export interface KongError {
  code?: number
  name?: string
  message?: string
  fields?: Record<string, unknown>
}

export class ApiError extends Error {
  constructor (readonly status: number, readonly body: KongError) {
    super(body.message ?? `HTTP ${status}`)
  }
}

type Listener = () => void
const unauthorizedListeners = new Set<Listener>()
/** Called when any call is answered 401: the app then asks for a token. */
export function onUnauthorized (fn: Listener): () => void {
  unauthorizedListeners.add(fn)
  return () => { unauthorizedListeners.delete(fn) }
}

export async function api<T = any> (method: string, path: string, body?: unknown, token = getToken()): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' }
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (token !== null && token !== '') headers['Kong-Admin-Token'] = token
  let res: Response
  try {
    res = await fetch(adminBase() + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  } catch (err) {
    throw new ApiError(0, { message: `The Admin API at ${adminBase()} cannot be reached (${(err as Error).message})` })
  }
  const text = await res.text()
  let parsed: any
  try { parsed = text === '' ? undefined : JSON.parse(text) } catch { parsed = { message: text } }
  if (res.status === 401) unauthorizedListeners.forEach((fn) => fn())
  if (!res.ok) throw new ApiError(res.status, (parsed as KongError) ?? { message: `HTTP ${res.status}` })
  return parsed as T
}

export interface Page<T = Record<string, any>> { data: T[], next: string | null, offset?: string }

/** Every row of a list endpoint, page after page (size 1000). */
export async function listAll<T = Record<string, any>> (path: string, max = 10_000): Promise<{ rows: T[], more: boolean }> {
  const rows: T[] = []
  let offset: string | undefined
  const sep = path.includes('?') ? '&' : '?'
  do {
    const page = await api<Page<T>>('GET', `${path}${sep}size=1000${offset !== undefined ? `&offset=${encodeURIComponent(offset)}` : ''}`)
    rows.push(...page.data)
    offset = page.next !== null && page.next !== undefined ? page.offset : undefined
  } while (offset !== undefined && rows.length < max)
  return { rows, more: offset !== undefined }
}

export function errorMessage (err: unknown): string {
  if (err instanceof ApiError) return err.message
  return err instanceof Error ? err.message : String(err)
}
