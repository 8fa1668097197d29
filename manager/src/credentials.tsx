// A consumer's credentials, one panel per credential plugin enabled on the node, each with
// a form from its entity's schema (GET /schemas/keyauth_credentials, ...).
import { useMemo, useState } from 'preact/hooks'
import { api, type Page } from './api.js'
import { SchemaForm } from './form.js'
import { fieldList, type EntitySchema } from './schema.js'
import { confirmDialog, ErrorBox, fmtTime, notify, show, useLoad } from './ui.js'

interface CredentialKind { plugin: string, path: string, entity: string, columns: string[] }

/** Plugin name → its credential entity (Kong's schema names) and the Admin API path under a consumer. */
export const CREDENTIALS: CredentialKind[] = [
  { plugin: 'key-auth', path: 'key-auth', entity: 'keyauth_credentials', columns: ['key'] },
  { plugin: 'basic-auth', path: 'basic-auth', entity: 'basicauth_credentials', columns: ['username'] },
  { plugin: 'acl', path: 'acls', entity: 'acls', columns: ['group'] },
  { plugin: 'jwt', path: 'jwt', entity: 'jwt_secrets', columns: ['key', 'algorithm'] },
  { plugin: 'hmac-auth', path: 'hmac-auth', entity: 'hmacauth_credentials', columns: ['username'] },
]

export function ConsumerCredentials ({ consumer }: { consumer: Record<string, any> }): preact.JSX.Element {
  const enabled = useLoad(async () => (await api<{ enabled_plugins: string[] }>('GET', '/plugins/enabled')).enabled_plugins, [])
  const kinds = CREDENTIALS.filter((k) => enabled.data?.includes(k.plugin) === true)
  return (
    <section class="panel">
      <header class="panel-head"><h2>Credentials</h2></header>
      {enabled.error !== '' && <ErrorBox>{enabled.error}</ErrorBox>}
      {enabled.data !== undefined && kinds.length === 0 && <p class="empty">No credential plugin is enabled on this node.</p>}
      {kinds.map((k) => <CredentialList key={k.plugin} kind={k} consumerId={String(consumer.id)} />)}
    </section>
  )
}

function CredentialList ({ kind, consumerId }: { kind: CredentialKind, consumerId: string }): preact.JSX.Element {
  const base = `/consumers/${encodeURIComponent(consumerId)}/${kind.path}`
  const list = useLoad(async () => await api<Page>('GET', `${base}?size=100`), [base])
  const [adding, setAdding] = useState(false)
  const schema = useLoad(async () => adding ? await api<EntitySchema>('GET', `/schemas/${kind.entity}`) : undefined, [adding, kind.entity])
  const fields = useMemo(() => schema.data === undefined ? undefined : fieldList(schema.data.fields), [schema.data])
  async function remove (c: Record<string, any>): Promise<void> {
    if (!await confirmDialog(`Delete ${kind.plugin} credential?`, `Delete this ${kind.plugin} credential? Requests using it will be refused.`)) return
    try {
      await api('DELETE', `${base}/${encodeURIComponent(String(c.id))}`)
      notify(`Deleted ${kind.plugin} credential`)
      list.reload()
    } catch (err) { notify(`Could not delete: ${(err as Error).message}`) }
  }
  const headingId = `cred-${kind.plugin}`
  return (
    <div class="credentials" aria-labelledby={headingId}>
      <div class="panel-head">
        <h3 id={headingId}>{kind.plugin}</h3>
        {!adding && <button type="button" class="btn" onClick={() => setAdding(true)}>New {kind.plugin} credential</button>}
      </div>
      {list.error !== '' && <ErrorBox>{list.error}</ErrorBox>}
      {list.data !== undefined && (list.data.data.length === 0
        ? <p class="empty">None.</p>
        : (
          <table class="table">
            <thead><tr>{kind.columns.map((c) => <th key={c} scope="col">{c}</th>)}<th scope="col">Id</th><th scope="col">Created</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
            <tbody>
              {list.data.data.map((c) => (
                <tr key={c.id}>
                  {kind.columns.map((col) => <td key={col} class="mono">{show(c[col])}</td>)}
                  <td class="mono">{String(c.id).slice(0, 8)}</td>
                  <td>{fmtTime(c.created_at)}</td>
                  <td><button type="button" class="btn btn-small btn-danger" onClick={() => { void remove(c) }} aria-label={`Delete ${kind.plugin} credential ${String(c.id).slice(0, 8)}`}>Delete</button></td>
                </tr>
              ))}
            </tbody>
          </table>
          ))}
      {adding && schema.error !== '' && <ErrorBox>{schema.error}</ErrorBox>}
      {adding && fields !== undefined && (
        <SchemaForm title={`New ${kind.plugin} credential`} fields={fields} omit={['consumer']}
          submit={async (body) => {
            await api('POST', base, body)
            notify(`Added ${kind.plugin} credential`)
            setAdding(false)
            list.reload()
          }}
          cancel={() => setAdding(false)} />
      )}
    </div>
  )
}
