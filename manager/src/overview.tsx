// The overview: node facts (GET /), status (GET /status), entity counts, plugins.
import { api, listAll } from './api.js'
import { ErrorBox, Loading, useLoad } from './ui.js'

const COUNTED = ['services', 'routes', 'consumers', 'plugins', 'upstreams', 'certificates'] as const

function mb (bytes: unknown): string {
  return typeof bytes === 'number' ? `${(bytes / 1048576).toFixed(1)} MB` : String(bytes ?? '—')
}

export function Overview (): preact.JSX.Element {
  const node = useLoad(async () => await api<Record<string, any>>('GET', '/'), [])
  const status = useLoad(async () => await api<Record<string, any>>('GET', '/status'), [])
  const counts = useLoad(async () => {
    const out: Record<string, string> = {}
    // Tollgate's GET /status/entities counts every entity at once; a Kong without it is walked page by page.
    try {
      const { counts } = await api<{ counts: Record<string, number> }>('GET', '/status/entities')
      for (const kind of COUNTED) out[kind] = String(counts[kind] ?? 0)
      return out
    } catch { /* walk the lists below */ }
    for (const kind of COUNTED) {
      const { rows, more } = await listAll(`/${kind}`, 5000)
      out[kind] = `${rows.length}${more ? '+' : ''}`
    }
    return out
  }, [])
  const n = node.data
  const s = status.data
  const available = Object.keys(n?.plugins?.available_on_server ?? {}).sort()
  const inCluster = new Set<string>(n?.plugins?.enabled_in_cluster ?? [])
  const conns = s?.server ?? {}
  return (
    <section>
      <header class="page-head"><h1>Overview</h1></header>
      {(node.error || status.error) !== '' && <ErrorBox>{node.error || status.error}</ErrorBox>}
      {n === undefined && node.error === '' && <Loading />}
      <div class="cards">
        <div class="card">
          <h2>Node</h2>
          <dl class="props">
            <div><dt>version</dt><dd>{n?.version ?? '—'}</dd></div>
            <div><dt>hostname</dt><dd>{n?.hostname ?? '—'}</dd></div>
            <div><dt>node_id</dt><dd class="mono">{n?.node_id ?? '—'}</dd></div>
            <div><dt>database</dt><dd>{String(n?.configuration?.database ?? '—')}</dd></div>
          </dl>
        </div>
        <div class="card">
          <h2>Status</h2>
          <dl class="props">
            <div><dt>database reachable</dt><dd>{s === undefined ? '—' : s.database?.reachable === true ? 'yes' : 'no'}</dd></div>
            <div><dt>configuration version</dt><dd class="mono">{String(s?.configuration_version ?? s?.configuration_hash ?? '—')}</dd></div>
            <div><dt>total requests</dt><dd>{String(conns.total_requests ?? '—')}</dd></div>
            <div><dt>connections active</dt><dd>{String(conns.connections_active ?? '—')}</dd></div>
            <div><dt>connections accepted</dt><dd>{String(conns.connections_accepted ?? '—')}</dd></div>
            {s?.memory?.workers_lua_vms !== undefined || s?.memory === undefined
              ? null
              : <div><dt>memory</dt><dd>{mb(s.memory.rss ?? s.memory.heap_used)}</dd></div>}
          </dl>
        </div>
        <div class="card">
          <h2>Entities</h2>
          <dl class="props counts">
            {COUNTED.map((k) => <div key={k}><dt><a href={`/${k}`}>{k}</a></dt><dd>{counts.data?.[k] ?? '…'}</dd></div>)}
          </dl>
        </div>
      </div>
      <section class="panel">
        <header class="panel-head"><h2>Plugins</h2><span class="muted">{available.length} available on this node, {inCluster.size} in use</span></header>
        <ul class="plugin-grid">
          {available.map((p) => <li key={p} class={inCluster.has(p) ? 'in-use' : undefined}>{p}{inCluster.has(p) && <span class="badge health-healthy">in use</span>}</li>)}
        </ul>
      </section>
    </section>
  )
}
