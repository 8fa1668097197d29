// Client-side routing over the History API: the gateway answers index.html for every path.
import { useEffect, useState } from 'preact/hooks'

const listeners = new Set<() => void>()

export function navigate (path: string, replace = false): void {
  if (path === location.pathname + location.search) return
  if (replace) history.replaceState(null, '', path)
  else history.pushState(null, '', path)
  listeners.forEach((fn) => fn())
}

window.addEventListener('popstate', () => listeners.forEach((fn) => fn()))

export function useLocation (): { path: string, query: URLSearchParams } {
  const [, setTick] = useState(0)
  useEffect(() => {
    const fn = (): void => setTick((n) => n + 1)
    listeners.add(fn)
    return () => { listeners.delete(fn) }
  }, [])
  return { path: location.pathname, query: new URLSearchParams(location.search) }
}

/** `/services/:id` against `/services/abc` → { id: 'abc' }; null when it does not match. */
export function match (pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split('/').filter(Boolean)
  const s = path.split('/').filter(Boolean)
  if (p.length !== s.length) return null
  const params: Record<string, string> = {}
  for (let i = 0; i < p.length; i++) {
    const seg = p[i] as string
    if (seg.startsWith(':')) params[seg.slice(1)] = decodeURIComponent(s[i] as string)
    else if (seg !== s[i]) return null
  }
  return params
}

/** A click on an in-app link changes the route without a page load (modified clicks still open tabs). */
export function linkClick (e: MouseEvent): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return
  const a = (e.target as Element).closest('a')
  if (a === null || a.target !== '' || a.origin !== location.origin || a.hasAttribute('download')) return
  e.preventDefault()
  navigate(a.pathname + a.search)
}
