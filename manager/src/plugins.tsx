// Plugins: the list of those scoped to an entity, and the plugin form, whose fields come
// from GET /schemas/plugins/{name}, so custom plugins get a form without UI code.
import { useMemo, useState } from 'preact/hooks'
import { api, type Page } from './api.js'
import { DEFS, EntityTable, type EntityDef } from './entities.js'
import { SchemaForm } from './form.js'
import { navigate } from './router.js'
import { fieldList, type EntitySchema, type Field } from './schema.js'
import { ErrorBox, Loading, notify, useLoad } from './ui.js'

/** The plugins of a service, route or consumer, with a link to add one there. */
export function PluginExtras ({ scope, id }: { scope: 'services' | 'routes' | 'consumers', id: string }): preact.JSX.Element {
  const list = useLoad(async () => await api<Page>('GET', `/${scope}/${encodeURIComponent(id)}/plugins?size=100`), [scope, id])
  const key = scope.slice(0, -1)
  return (
    <section class="panel">
      <header class="panel-head">
        <h2>Plugins</h2>
        <a class="btn" href={`/plugins/new?${key}=${encodeURIComponent(id)}`} role="button">New plugin</a>
      </header>
      {list.error !== '' && <ErrorBox>{list.error}</ErrorBox>}
      {list.data !== undefined && (list.data.data.length === 0 ? <p class="empty">None.</p> : <EntityTable def={DEFS.plugins as EntityDef} rows={list.data.data} />)}
    </section>
  )
}

/** Fields every plugin has, beyond what its schema lists (Kong's plugin entity). */
function pluginFields (schema: EntitySchema): Field[] {
  const fields = fieldList(schema.fields)
  const has = (n: string): boolean => fields.some(([x]) => x === n)
  const scope: Field[] = []
  if (!has('service')) scope.push(['service', { type: 'foreign', reference: 'services', description: 'Only run for this service' }])
  if (!has('route')) scope.push(['route', { type: 'foreign', reference: 'routes', description: 'Only run for this route' }])
  const rest: Field[] = []
  if (!has('enabled')) rest.push(['enabled', { type: 'boolean', default: true, description: 'Whether the plugin runs' }])
  if (!has('tags')) rest.push(['tags', { type: 'set', elements: { type: 'string' }, description: 'An optional set of strings for grouping and filtering' }])
  // The plugin's own config first, then where it runs.
  const config = fields.filter(([n]) => n === 'config')
  return [...config, ...scope, ...fields.filter(([n]) => n !== 'name' && n !== 'config'), ...rest]
}

export function PluginForm ({ id, query }: { id?: string, query: URLSearchParams }): preact.JSX.Element {
  const plugin = useLoad(async () => id === undefined ? undefined : await api<Record<string, any>>('GET', `/plugins/${encodeURIComponent(id)}`), [id])
  const enabled = useLoad(async () => (await api<{ enabled_plugins: string[] }>('GET', '/plugins/enabled')).enabled_plugins.slice().sort(), [])
  const [chosen, setChosen] = useState(query.get('name') ?? '')
  const name = id !== undefined ? String(plugin.data?.name ?? '') : chosen
  const schema = useLoad(async () => name === '' ? undefined : await api<EntitySchema>('GET', `/schemas/plugins/${encodeURIComponent(name)}`), [name])
  const fields = useMemo(() => schema.data === undefined ? undefined : pluginFields(schema.data), [schema.data])
  const defaults = useMemo(() => {
    const d: Record<string, any> = {}
    for (const k of ['service', 'route', 'consumer']) {
      const v = query.get(k)
      if (v !== null) d[k] = { id: v }
    }
    return d
  }, [query.toString()])
  const title = id === undefined ? 'New plugin' : `Edit plugin ${name}`
  const nameInput = (
    <div class="field field-select">
      <label for="f-plugin-name">name</label>
      <select id="f-plugin-name" value={name} disabled={id !== undefined} onChange={(e) => setChosen((e.currentTarget as HTMLSelectElement).value)}>
        <option value="">Choose a plugin…</option>
        {(enabled.data ?? (name !== '' ? [name] : [])).map((n) => <option key={n} value={n}>{n}</option>)}
      </select>
      <small class="hint">The plugins enabled on this node (GET /plugins/enabled)</small>
    </div>
  )
  const error = plugin.error || enabled.error || schema.error
  return (
    <section>
      <p class="crumbs"><a href="/plugins">Plugins</a> /</p>
      <h1>{title}</h1>
      {error !== '' && <ErrorBox>{error}</ErrorBox>}
      {name === '' && <form class="schema-form" onSubmit={(e) => e.preventDefault()}>{nameInput}</form>}
      {name !== '' && fields === undefined && error === '' && <>{nameInput}<Loading /></>}
      {fields !== undefined && (id === undefined || plugin.data !== undefined) && (
        <SchemaForm key={name} title={title} fields={fields} before={nameInput}
          entity={id === undefined ? undefined : plugin.data} defaults={id === undefined ? defaults : undefined}
          submit={async (body) => {
            const saved = id === undefined
              ? await api<Record<string, any>>('POST', '/plugins', { name, ...body })
              : await api<Record<string, any>>('PATCH', `/plugins/${encodeURIComponent(id)}`, body)
            notify(`Saved plugin ${name}`)
            navigate(`/plugins/${encodeURIComponent(String(saved.id))}`)
          }}
          cancel={() => history.length > 1 ? history.back() : navigate('/plugins')} />
      )}
    </section>
  )
}
