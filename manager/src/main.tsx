// Tollgate Manager: the shell (sidebar, sign-in) and the routes.
import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import 'uplot/dist/uPlot.min.css'
import './style.css'
import { api, ApiError, errorMessage, getToken, kconfig, onUnauthorized, setToken } from './api.js'
import { DEFS, DetailPage, FormPage, ListPage, type EntityDef } from './entities.js'
import { Live } from './live.js'
import { Overview } from './overview.js'
import { linkClick, match, navigate, useLocation } from './router.js'
import { StatusLine } from './ui.js'

const NAV: Array<[string, string]> = [
  ['/overview', 'Overview'],
  ['/services', 'Services'],
  ['/routes', 'Routes'],
  ['/consumers', 'Consumers'],
  ['/plugins', 'Plugins'],
  ['/upstreams', 'Upstreams'],
  ['/certificates', 'Certificates'],
  ['/live', 'Live traffic'],
]

function Page ({ path, query }: { path: string, query: URLSearchParams }): preact.JSX.Element {
  if (path === '/' || path === '/overview') return <Overview />
  if (path === '/live') return <Live />
  for (const def of Object.values(DEFS) as EntityDef[]) {
    if (match(`/${def.key}`, path) !== null) return <ListPage key={def.key} def={def} />
    if (match(`/${def.key}/new`, path) !== null) return <FormPage key={`${def.key}-new`} def={def} query={query} />
    const edit = match(`/${def.key}/:id/edit`, path)
    if (edit !== null) return <FormPage key={`${def.key}-edit-${edit.id}`} def={def} id={edit.id} query={query} />
    const detail = match(`/${def.key}/:id`, path)
    if (detail !== null) return <DetailPage key={`${def.key}-${detail.id}`} def={def} id={detail.id as string} />
  }
  return <section><h1>Not found</h1><p>No page at {path}. <a href="/overview">Go to the overview</a>.</p></section>
}

function SignIn ({ message, done }: { message: string, done: () => void }): preact.JSX.Element {
  const [token, setValue] = useState('')
  const [error, setError] = useState(message)
  const [busy, setBusy] = useState(false)
  async function submit (e: Event): Promise<void> {
    e.preventDefault()
    setBusy(true)
    setError('')
    try {
      await api('GET', '/', undefined, token.trim())
      setToken(token.trim())
      done()
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? `Sign-in refused: ${err.message}` : errorMessage(err))
    } finally {
      setBusy(false)
    }
  }
  return (
    <main class="signin">
      <form class="card signin-card" onSubmit={submit} aria-labelledby="signin-title">
        <div class="brand brand-dark"><span class="logo" aria-hidden="true">T</span> Tollgate Manager</div>
        <h1 id="signin-title">Sign in</h1>
        <p class="muted">This gateway's Admin API needs its admin token.</p>
        <div class="field">
          <label for="admin-token">Admin token</label>
          <input id="admin-token" type="password" autocomplete="current-password" value={token} required
            aria-describedby={error !== '' ? 'signin-error' : undefined} aria-invalid={error !== '' ? 'true' : undefined}
            onInput={(e) => setValue((e.currentTarget as HTMLInputElement).value)} />
          <div id="signin-error" role="alert" aria-live="assertive">{error !== '' && <p class="field-error">{error}</p>}</div>
        </div>
        <button type="submit" class="btn btn-primary" disabled={busy || token.trim() === ''}>Sign in</button>
      </form>
    </main>
  )
}

/** Links styled and announced as buttons (role="button") also answer the Space key. */
function buttonLinkKey (e: KeyboardEvent): void {
  const a = e.target as HTMLElement
  if (e.key === ' ' && a.tagName === 'A' && a.getAttribute('role') === 'button') {
    e.preventDefault()
    a.click()
  }
}

function App (): preact.JSX.Element {
  const { path, query } = useLocation()
  const k = kconfig()
  const [signIn, setSignIn] = useState<{ needed: boolean, message: string }>({ needed: k.ADMIN_TOKEN_REQUIRED && getToken() === null, message: '' })
  useEffect(() => onUnauthorized(() => {
    setToken(null)
    setSignIn((s) => s.needed ? s : { needed: true, message: 'Your session has ended or the token is no longer valid: sign in again.' })
  }), [])
  useEffect(() => { if (path === '/') navigate('/overview', true) }, [path])
  // After a route change: the page's title, and focus on the main region for keyboard and
  // screen-reader users (not on the first load).
  const [first, setFirst] = useState(true)
  useEffect(() => {
    const section = NAV.find(([href]) => path === href || path.startsWith(`${href}/`))
    document.title = `${section?.[1] ?? 'Overview'} · Tollgate Manager`
    if (first) { setFirst(false); return }
    const main = document.getElementById('main')
    if (main !== null && !main.contains(document.activeElement)) main.focus({ preventScroll: true })
    window.scrollTo(0, 0)
  }, [path])
  if (signIn.needed) return <SignIn message={signIn.message} done={() => setSignIn({ needed: false, message: '' })} />
  const signedIn = getToken() !== null
  return (
    <div class="layout" onClick={linkClick} onKeyDown={buttonLinkKey}>
      <a class="skip" href="#main">Skip to content</a>
      <aside class="sidebar">
        <div class="brand"><span class="logo" aria-hidden="true">T</span> Tollgate <span class="brand-sub">Manager</span></div>
        <nav aria-label="Main">
          <ul>
            {NAV.map(([href, label]) => {
              const current = path === href || path.startsWith(`${href}/`) || (href === '/overview' && path === '/')
              return <li key={href}><a href={href} aria-current={current ? 'page' : undefined}>{label}</a></li>
            })}
          </ul>
        </nav>
        <div class="sidebar-foot">
          {k.VERSION !== '' && <span class="muted">v{k.VERSION}</span>}
          {signedIn && <button type="button" class="btn btn-ghost" onClick={() => { setToken(null); setSignIn({ needed: true, message: '' }) }}>Sign out</button>}
        </div>
      </aside>
      <main id="main" class="content" tabIndex={-1}>
        <StatusLine />
        <Page key={path} path={path} query={query} />
      </main>
    </div>
  )
}

render(<App />, document.getElementById('app') as HTMLElement)
