// An upstream's targets with their health (GET /upstreams/{id}/health), and a target form.
import { useMemo, useState } from 'preact/hooks'
import { api } from './api.js'
import { SchemaForm } from './form.js'
import { fieldList, type EntitySchema } from './schema.js'
import { confirmDialog, ErrorBox, notify, useLoad } from './ui.js'

export function UpstreamTargets ({ upstream }: { upstream: Record<string, any> }): preact.JSX.Element {
  const base = `/upstreams/${encodeURIComponent(String(upstream.id))}`
  const health = useLoad(async () => await api<{ data: Array<Record<string, any>> }>('GET', `${base}/health?size=1000`), [base])
  const [adding, setAdding] = useState(false)
  const schema = useLoad(async () => adding ? await api<EntitySchema>('GET', '/schemas/targets') : undefined, [adding])
  const fields = useMemo(() => schema.data === undefined ? undefined : fieldList(schema.data.fields), [schema.data])
  async function remove (t: Record<string, any>): Promise<void> {
    if (!await confirmDialog('Delete target?', `Delete target ${String(t.target)}?`)) return
    try {
      await api('DELETE', `${base}/targets/${encodeURIComponent(String(t.id))}`)
      notify(`Deleted target ${String(t.target)}`)
      health.reload()
    } catch (err) { notify(`Could not delete: ${(err as Error).message}`) }
  }
  return (
    <section class="panel">
      <header class="panel-head">
        <h2>Targets</h2>
        <div class="actions">
          <button type="button" class="btn" onClick={health.reload}>Refresh health</button>
          {!adding && <button type="button" class="btn" onClick={() => setAdding(true)}>New target</button>}
        </div>
      </header>
      {health.error !== '' && <ErrorBox>{health.error}</ErrorBox>}
      {health.data !== undefined && (health.data.data.length === 0
        ? <p class="empty">No targets.</p>
        : (
          <table class="table">
            <thead><tr><th scope="col">Target</th><th scope="col">Weight</th><th scope="col">Health</th><th scope="col">Tags</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
            <tbody>
              {health.data.data.map((t) => (
                <tr key={t.id}>
                  <td class="mono">{String(t.target)}</td>
                  <td>{String(t.weight)}</td>
                  <td><span class={`badge health-${String(t.health).toLowerCase()}`}>{String(t.health)}</span></td>
                  <td>{Array.isArray(t.tags) ? t.tags.join(', ') : '—'}</td>
                  <td><button type="button" class="btn btn-small btn-danger" onClick={() => { void remove(t) }} aria-label={`Delete target ${String(t.target)}`}>Delete</button></td>
                </tr>
              ))}
            </tbody>
          </table>
          ))}
      {adding && schema.error !== '' && <ErrorBox>{schema.error}</ErrorBox>}
      {adding && fields !== undefined && (
        <SchemaForm title="New target" fields={fields} omit={['upstream']}
          submit={async (body) => {
            await api('POST', `${base}/targets`, body)
            notify('Added target')
            setAdding(false)
            health.reload()
          }}
          cancel={() => setAdding(false)} />
      )}
    </section>
  )
}
