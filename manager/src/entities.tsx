// The entity pages: a list (search, tags filter, pages of 20), a detail page, and a create or
// edit form generated from GET /schemas/{entity}.
import type { ComponentChildren } from 'preact'
import { useEffect, useMemo, useState } from 'preact/hooks'
import { api, type Page } from './api.js'
import { SchemaForm } from './form.js'
import { navigate } from './router.js'
import { fieldList, type EntitySchema, type Field, type FieldSchema, type Values } from './schema.js'
import { confirmDialog, ErrorBox, fmtTime, Loading, notify, show, useLoad } from './ui.js'
import { PluginExtras, PluginForm } from './plugins.js'
import { ConsumerCredentials } from './credentials.js'
import { UpstreamTargets } from './upstreams.js'

export interface Column { label: string, value: (e: Record<string, any>) => ComponentChildren }

export interface EntityDef {
  key: string
  title: string
  singular: string
  columns: Column[]
  /** Schema changes for the form (virtual fields, multi-line inputs). */
  formFields?: (fields: Field[]) => Field[]
  transform?: (body: Record<string, unknown>, values: Values) => Record<string, unknown>
  extra?: (e: Record<string, any>) => ComponentChildren
}

export const nameOf = (e: Record<string, any>): string => String(e.name ?? e.username ?? e.custom_id ?? e.id)
const tags = (e: Record<string, any>): string => show(e.tags)
const link = (def: string, e: Record<string, any>, text?: string): ComponentChildren => <a href={`/${def}/${encodeURIComponent(String(e.id))}`}>{text ?? nameOf(e)}</a>
const ref = (kind: string, v: unknown): ComponentChildren => v !== null && typeof v === 'object' && typeof (v as any).id === 'string'
  ? <a href={`/${kind}/${String((v as any).id)}`}><RefName kind={kind} id={String((v as any).id)} /></a>
  : '—'

const names = new Map<string, Promise<string>>()

/** A referenced entity's name (or username), looked up once per page load; its id's start until then. */
function RefName ({ kind, id }: { kind: string, id: string }): preact.JSX.Element {
  const key = `${kind}/${id}`
  const [name, setName] = useState<string | undefined>(undefined)
  useEffect(() => {
    let p = names.get(key)
    if (p === undefined) {
      p = api<Record<string, any>>('GET', `/${kind}/${encodeURIComponent(id)}`).then((e) => String(e.name ?? e.username ?? e.custom_id ?? id.slice(0, 8)), () => id.slice(0, 8))
      names.set(key, p)
      setTimeout(() => names.delete(key), 10_000)
    }
    let live = true
    void p.then((n) => { if (live) setName(n) })
    return () => { live = false }
  }, [key])
  return name === undefined ? <span class="mono">{id.slice(0, 8)}</span> : <>{name}</>
}

const multiline = (names: string[]) => (fields: Field[]): Field[] => fields.map(([n, s]): Field => [n, names.includes(n) ? { ...s, multiline: true } : s])

export const DEFS: Record<string, EntityDef> = {
  services: {
    key: 'services',
    title: 'Services',
    singular: 'service',
    columns: [
      { label: 'Name', value: (e) => link('services', e) },
      { label: 'Protocol', value: (e) => e.protocol },
      { label: 'Host', value: (e) => e.host },
      { label: 'Port', value: (e) => e.port },
      { label: 'Path', value: (e) => show(e.path) },
      { label: 'Tags', value: tags },
    ],
    // Kong's `url` shorthand, which the Admin API takes in place of protocol, host, port and path.
    formFields: (fields) => [['url', { type: 'string', description: 'Shorthand for protocol, host, port and path, e.g. http://127.0.0.1:8080/api' } as FieldSchema], ...fields],
    transform: (body) => {
      if (typeof body.url === 'string') { delete body.protocol; delete body.host; delete body.port; delete body.path }
      return body
    },
    extra: (e) => <>
      <Related title="Routes" path={`/services/${String(e.id)}/routes`} kind="routes" newHref={`/routes/new?service=${String(e.id)}`} newLabel="New route" />
      <PluginExtras scope="services" id={String(e.id)} />
    </>,
  },
  routes: {
    key: 'routes',
    title: 'Routes',
    singular: 'route',
    columns: [
      { label: 'Name', value: (e) => link('routes', e) },
      { label: 'Paths', value: (e) => show(e.paths) },
      { label: 'Hosts', value: (e) => show(e.hosts) },
      { label: 'Methods', value: (e) => show(e.methods) },
      { label: 'Service', value: (e) => ref('services', e.service) },
      { label: 'Tags', value: tags },
    ],
    extra: (e) => <PluginExtras scope="routes" id={String(e.id)} />,
  },
  consumers: {
    key: 'consumers',
    title: 'Consumers',
    singular: 'consumer',
    columns: [
      { label: 'Username', value: (e) => link('consumers', e, String(e.username ?? e.id)) },
      { label: 'Custom id', value: (e) => show(e.custom_id) },
      { label: 'Created', value: (e) => fmtTime(e.created_at) },
      { label: 'Tags', value: tags },
    ],
    extra: (e) => <>
      <ConsumerCredentials consumer={e} />
      <PluginExtras scope="consumers" id={String(e.id)} />
    </>,
  },
  plugins: {
    key: 'plugins',
    title: 'Plugins',
    singular: 'plugin',
    columns: [
      { label: 'Name', value: (e) => link('plugins', e, String(e.instance_name ?? e.name)) },
      { label: 'Scope', value: (e) => scopeOf(e) },
      { label: 'Enabled', value: (e) => e.enabled === false ? 'no' : 'yes' },
      { label: 'Protocols', value: (e) => show(e.protocols) },
      { label: 'Tags', value: tags },
    ],
  },
  upstreams: {
    key: 'upstreams',
    title: 'Upstreams',
    singular: 'upstream',
    columns: [
      { label: 'Name', value: (e) => link('upstreams', e) },
      { label: 'Algorithm', value: (e) => e.algorithm },
      { label: 'Slots', value: (e) => e.slots },
      { label: 'Tags', value: tags },
    ],
    extra: (e) => <UpstreamTargets upstream={e} />,
  },
  certificates: {
    key: 'certificates',
    title: 'Certificates',
    singular: 'certificate',
    columns: [
      { label: 'Id', value: (e) => link('certificates', e, String(e.id)) },
      { label: 'SNIs', value: (e) => show(e.snis) },
      { label: 'Created', value: (e) => fmtTime(e.created_at) },
      { label: 'Tags', value: tags },
    ],
    // Kong's `snis` shorthand: the certificate's SNI entities, made or replaced with it.
    formFields: (fields) => [...multiline(['cert', 'key', 'cert_alt', 'key_alt'])(fields), ['snis', { type: 'array', elements: { type: 'string' }, description: 'Host names this certificate is served for (SNIs)' }]],
  },
}

export function scopeOf (e: Record<string, any>): ComponentChildren {
  const parts: ComponentChildren[] = []
  if (e.service?.id !== undefined) parts.push(<span key="s">service {ref('services', e.service)}</span>)
  if (e.route?.id !== undefined) parts.push(<span key="r">route {ref('routes', e.route)}</span>)
  if (e.consumer?.id !== undefined) parts.push(<span key="c">consumer {ref('consumers', e.consumer)}</span>)
  return parts.length === 0 ? 'global' : <>{parts.map((p, i) => <>{i > 0 && ', '}{p}</>)}</>
}

const PAGE_SIZE = 20

/** The list page: search box, tags filter, pages of 20 with Previous and Next. */
export function ListPage ({ def }: { def: EntityDef }): preact.JSX.Element {
  const [search, setSearch] = useState('')
  const [tagFilter, setTagFilter] = useState('')
  const [applied, setApplied] = useState({ search: '', tags: '' })
  // offsets[i] is the offset that opens page i (undefined for the first).
  const [offsets, setOffsets] = useState<Array<string | undefined>>([undefined])
  const pageNo = offsets.length - 1
  // Which request an answer belongs to: until the current one's is in, the table is stale (aria-busy).
  const current = JSON.stringify([def.key, applied, offsets])
  const list = useLoad(async () => {
    const q = new URLSearchParams({ size: String(PAGE_SIZE) })
    if (applied.search !== '') q.set('search', applied.search)
    if (applied.tags !== '') q.set('tags', applied.tags)
    const offset = offsets[pageNo]
    if (offset !== undefined) q.set('offset', offset)
    return { key: current, page: await api<Page>('GET', `/${def.key}?${q.toString()}`) }
  }, [current])
  const fresh = list.data?.key === current
  const page = list.data?.page

  const apply = (e: Event): void => {
    e.preventDefault()
    setApplied({ search: search.trim(), tags: tagFilter.trim() })
    setOffsets([undefined])
  }
  const next = page?.next !== null && page?.next !== undefined ? page.offset : undefined
  return (
    <section>
      <header class="page-head">
        <h1>{def.title}</h1>
        <a class="btn btn-primary" href={`/${def.key}/new`} role="button">New {def.singular}</a>
      </header>
      <form class="filters" role="search" onSubmit={apply}>
        <div class="field">
          <label for="list-search">Search</label>
          <input id="list-search" type="search" value={search} placeholder={`Name or id`} onInput={(e) => setSearch((e.currentTarget as HTMLInputElement).value)} />
        </div>
        <div class="field">
          <label for="list-tags">Tags</label>
          <input id="list-tags" type="text" value={tagFilter} placeholder="a,b (all) or a/b (any)" onInput={(e) => setTagFilter((e.currentTarget as HTMLInputElement).value)} />
        </div>
        <button type="submit" class="btn">Filter</button>
      </form>
      {list.error !== '' && <ErrorBox>{list.error}</ErrorBox>}
      {page === undefined && list.error === '' && <Loading />}
      {page !== undefined && (page.data.length === 0
        ? <p class="empty">{applied.search !== '' || applied.tags !== '' ? `No ${def.title.toLowerCase()} match.` : `No ${def.title.toLowerCase()} yet.`}</p>
        : <EntityTable def={def} rows={page.data} busy={!fresh} />)}
      <nav class="pager" aria-label="Pagination">
        <button type="button" class="btn" disabled={pageNo === 0 || !fresh} onClick={() => setOffsets((o) => o.slice(0, -1))}>Previous</button>
        <span aria-live="polite">Page {pageNo + 1}</span>
        <button type="button" class="btn" disabled={next === undefined || !fresh} onClick={() => setOffsets((o) => [...o, next])}>Next</button>
      </nav>
    </section>
  )
}

export function EntityTable ({ def, rows, busy }: { def: EntityDef, rows: Array<Record<string, any>>, busy?: boolean }): preact.JSX.Element {
  return (
    <table class="table" aria-busy={busy === true ? 'true' : 'false'}>
      <thead><tr>{def.columns.map((c) => <th key={c.label} scope="col">{c.label}</th>)}</tr></thead>
      <tbody>
        {rows.map((e) => <tr key={e.id}>{def.columns.map((c) => <td key={c.label}>{c.value(e)}</td>)}</tr>)}
      </tbody>
    </table>
  )
}

/** A list of entities under a parent (a service's routes). */
export function Related ({ title, path, kind, newHref, newLabel }: { title: string, path: string, kind: string, newHref?: string, newLabel?: string }): preact.JSX.Element {
  const list = useLoad(async () => await api<Page>('GET', `${path}?size=100`), [path])
  const def = DEFS[kind] as EntityDef
  return (
    <section class="panel">
      <header class="panel-head">
        <h2>{title}</h2>
        {newHref !== undefined && <a class="btn" href={newHref} role="button">{newLabel}</a>}
      </header>
      {list.error !== '' && <ErrorBox>{list.error}</ErrorBox>}
      {list.data !== undefined && (list.data.data.length === 0 ? <p class="empty">None.</p> : <EntityTable def={def} rows={list.data.data} />)}
    </section>
  )
}

export function DetailPage ({ def, id }: { def: EntityDef, id: string }): preact.JSX.Element {
  const entity = useLoad(async () => await api<Record<string, any>>('GET', `/${def.key}/${encodeURIComponent(id)}`), [def.key, id])
  const e = entity.data
  async function remove (): Promise<void> {
    if (e === undefined) return
    if (!await confirmDialog(`Delete ${def.singular}?`, `Delete ${def.singular} ${nameOf(e)}? This cannot be undone.`)) return
    try {
      await api('DELETE', `/${def.key}/${encodeURIComponent(String(e.id))}`)
      notify(`Deleted ${def.singular} ${nameOf(e)}`)
      navigate(`/${def.key}`)
    } catch (err) {
      notify(`Could not delete: ${(err as Error).message}`)
    }
  }
  return (
    <section>
      <p class="crumbs"><a href={`/${def.key}`}>{def.title}</a> /</p>
      {entity.error !== '' && <ErrorBox>{entity.error}</ErrorBox>}
      {e === undefined && entity.error === '' && <Loading />}
      {e !== undefined && <>
        <header class="page-head">
          <h1>{def.singular[0]?.toUpperCase()}{def.singular.slice(1)} {nameOf(e)}</h1>
          <div class="actions">
            <a class="btn" href={`/${def.key}/${encodeURIComponent(String(e.id))}/edit`} role="button">Edit</a>
            <button type="button" class="btn btn-danger" onClick={() => { void remove() }}>Delete</button>
          </div>
        </header>
        <Props entity={e} />
        {def.extra?.(e)}
      </>}
    </section>
  )
}

/** Foreign keys shown as links to their entity. */
const REFS: Record<string, string> = { service: 'services', route: 'routes', consumer: 'consumers', upstream: 'upstreams', client_certificate: 'certificates' }

const isNested = (v: unknown): boolean => (typeof v === 'string' && v.includes('\n')) || v !== null && typeof v === 'object' && !Array.isArray(v) && !(Object.keys(v).length === 1 && typeof (v as any).id === 'string')

export function Props ({ entity }: { entity: Record<string, any> }): preact.JSX.Element {
  const rows = Object.entries(entity).filter(([, v]) => !isNested(v))
  const nested = Object.entries(entity).filter(([, v]) => isNested(v))
  return (
    <div class="panel">
      <dl class="props">
        {rows.map(([k, v]) => <div key={k}><dt>{k}</dt><dd class={k === 'id' ? 'mono' : undefined}>{k === 'created_at' || k === 'updated_at' ? fmtTime(v) : REFS[k] !== undefined && v !== null && typeof v === 'object' ? ref(REFS[k] as string, v) : show(v)}</dd></div>)}
      </dl>
      {nested.map(([k, v]) => (
        <details key={k} class="nested" open={k === 'config'}>
          <summary>{k}</summary>
          <pre class="json">{typeof v === 'string' ? v : JSON.stringify(v, null, 2)}</pre>
        </details>
      ))}
    </div>
  )
}

export function useSchema (path: string): { fields: Field[] | undefined, error: string } {
  const s = useLoad(async () => await api<EntitySchema>('GET', path), [path])
  const fields = useMemo(() => s.data === undefined ? undefined : fieldList(s.data.fields), [s.data])
  return { fields, error: s.error }
}

/** Create (no id) or edit form for an entity. */
export function FormPage ({ def, id, query }: { def: EntityDef, id?: string, query: URLSearchParams }): preact.JSX.Element {
  if (def.key === 'plugins') return <PluginForm id={id} query={query} />
  return <EntityForm def={def} id={id} query={query} />
}

function EntityForm ({ def, id, query }: { def: EntityDef, id?: string, query: URLSearchParams }): preact.JSX.Element {
  const schema = useSchema(`/schemas/${def.key}`)
  const entity = useLoad(async () => id === undefined ? undefined : await api<Record<string, any>>('GET', `/${def.key}/${encodeURIComponent(id)}`), [def.key, id])
  const fields = useMemo(() => schema.fields === undefined ? undefined : (def.formFields ?? ((f) => f))(schema.fields), [schema.fields, def])
  // A route made from its service's page starts with that service.
  const start = useMemo(() => {
    if (id !== undefined) return entity.data
    const service = query.get('service')
    return service !== null ? { service: { id: service } } : undefined
  }, [id, entity.data, query.toString()])
  const title = id === undefined ? `New ${def.singular}` : `Edit ${def.singular}`
  return (
    <section>
      <p class="crumbs"><a href={`/${def.key}`}>{def.title}</a> /</p>
      <h1>{title}</h1>
      {(schema.error !== '' || entity.error !== '') && <ErrorBox>{schema.error || entity.error}</ErrorBox>}
      {fields !== undefined && (id === undefined || entity.data !== undefined) && (
        <SchemaForm title={title} fields={fields} entity={id === undefined ? undefined : start} defaults={id === undefined ? start : undefined}
          transform={def.transform}
          submit={async (body) => {
            const saved = id === undefined
              ? await api<Record<string, any>>('POST', `/${def.key}`, body)
              : await api<Record<string, any>>('PATCH', `/${def.key}/${encodeURIComponent(id)}`, body)
            notify(`Saved ${def.singular} ${nameOf(saved)}`)
            navigate(`/${def.key}/${encodeURIComponent(String(saved.id))}`)
          }}
          cancel={() => history.length > 1 ? history.back() : navigate(`/${def.key}`)} />
      )}
    </section>
  )
}
