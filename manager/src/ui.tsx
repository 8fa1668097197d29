// Small shared pieces: the confirmation dialog, the status line, loading of async data.
import { render, type ComponentChildren } from 'preact'
import { useCallback, useEffect, useRef, useState } from 'preact/hooks'
import { errorMessage } from './api.js'

/**
 * Asks before a destructive action, in a modal <dialog>: focus stays inside it (the page
 * behind is inert), Escape or Cancel answers false, the Delete button true.
 */
export function confirmDialog (title: string, text: string, action = 'Delete'): Promise<boolean> {
  const opener = document.activeElement as HTMLElement | null
  return new Promise((resolve) => {
    const host = document.createElement('div')
    document.body.appendChild(host)
    const done = (ok: boolean): void => {
      render(null, host)
      host.remove()
      opener?.focus()
      resolve(ok)
    }
    render(<Confirm title={title} text={text} action={action} done={done} />, host)
  })
}

function Confirm ({ title, text, action, done }: { title: string, text: string, action: string, done: (ok: boolean) => void }): preact.JSX.Element {
  const ref = useRef<HTMLDialogElement>(null)
  const cancelRef = useRef<HTMLButtonElement>(null)
  useEffect(() => {
    ref.current?.showModal()
    cancelRef.current?.focus()
  }, [])
  const onKey = (e: KeyboardEvent): void => {
    // Tab and Shift+Tab go round the dialog's own buttons.
    if (e.key !== 'Tab') return
    const items = Array.from(ref.current?.querySelectorAll<HTMLElement>('button') ?? [])
    const first = items[0]
    const last = items[items.length - 1]
    if (e.shiftKey && document.activeElement === first) { e.preventDefault(); last?.focus() } else if (!e.shiftKey && document.activeElement === last) { e.preventDefault(); first?.focus() }
  }
  return (
    <dialog ref={ref} class="dialog" aria-labelledby="dialog-title" aria-describedby="dialog-text"
      onCancel={(e) => { e.preventDefault(); done(false) }} onKeyDown={onKey}>
      <h2 id="dialog-title">{title}</h2>
      <p id="dialog-text">{text}</p>
      <div class="form-actions">
        <button type="button" class="btn" ref={cancelRef} onClick={() => done(false)}>Cancel</button>
        <button type="button" class="btn btn-danger" onClick={() => done(true)}>{action}</button>
      </div>
    </dialog>
  )
}

let announce: (msg: string) => void = () => {}
/** A short status message read out by screen readers (aria-live) and shown at the top. */
export function notify (msg: string): void { announce(msg) }

export function StatusLine (): preact.JSX.Element {
  const [msg, setMsg] = useState('')
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined
    announce = (m) => { setMsg(m); clearTimeout(timer); timer = setTimeout(() => setMsg(''), 4000) }
    return () => { announce = () => {} }
  }, [])
  return <div class={`status-line${msg !== '' ? ' shown' : ''}`} role="status" aria-live="polite">{msg}</div>
}

export interface Loaded<T> { data: T | undefined, error: string, loading: boolean, reload: () => void }

/** Runs `load` when `deps` change; `reload()` runs it again. */
export function useLoad<T> (load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined, error: string, loading: boolean }>({ data: undefined, error: '', loading: true })
  const [tick, setTick] = useState(0)
  useEffect(() => {
    let live = true
    setState((s) => ({ ...s, loading: true, error: '' }))
    load().then(
      (data) => { if (live) setState({ data, error: '', loading: false }) },
      (err) => { if (live) setState({ data: undefined, error: errorMessage(err), loading: false }) },
    )
    return () => { live = false }
  }, [...deps, tick])
  const reload = useCallback(() => setTick((n) => n + 1), [])
  return { ...state, reload }
}

export function ErrorBox ({ children }: { children: ComponentChildren }): preact.JSX.Element {
  return <div class="alert alert-error" role="alert">{children}</div>
}

export function Loading (): preact.JSX.Element {
  return <p class="muted" aria-live="polite">Loading…</p>
}

export function fmtTime (unix: unknown): string {
  if (typeof unix !== 'number') return ''
  return new Date(unix * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')
}

export function show (v: unknown): string {
  if (v === null || v === undefined) return '—'
  if (Array.isArray(v)) return v.length === 0 ? '—' : v.map((x) => typeof x === 'object' ? JSON.stringify(x) : String(x)).join(', ')
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>
    if (Object.keys(o).length === 1 && typeof o.id === 'string') return o.id
    return JSON.stringify(v)
  }
  return String(v)
}
