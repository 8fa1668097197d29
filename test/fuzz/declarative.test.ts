// Generated declarative documents, built from the keys and shapes the parser walks (entity
// lists, nesting, references, ids, tags, `_comment`/`_ignore`, format versions) with odd
// values mixed in. Invariants: parseDeclarative either returns a config or throws a
// DeclarativeError (never a TypeError from an unexpected shape); its error bodies and CLI
// text are always made; a config it accepts loads into a store and parses again to the
// same ids where they derive from names; Object.prototype is never written.
import fc from 'fast-check'
import t from 'tap'
import { dump } from 'js-yaml'
import { DeclarativeError } from '../../core/declarative/errors.js'
import { parseDeclarative } from '../../core/declarative/parse.js'
import { loadPlugins } from '../../core/runtime/loader.js'
import { startAdmin, storeDump } from '../helpers/admin.js'
import { tempStore } from '../helpers/store.js'
import { params } from './settings.js'

const plugins = await loadPlugins(['bundled'])
const store = tempStore(t, { plugins, entities: plugins.entities() })

const odd = fc.constantFrom(null, '', ' ', 0, -1, 1e309, true, [], {}, '__proto__', 'constructor', '~/(', '/a//b', 'x'.repeat(300), '00000000-0000-0000-0000-000000000000')
/** Mostly the plausible values, now and then an odd one: enough valid documents to load. */
const or = <T>(valid: fc.Arbitrary<T>): fc.Arbitrary<T | unknown> => fc.oneof({ arbitrary: valid, weight: 40 }, { arbitrary: odd, weight: 1 })
const name = or(fc.oneof(fc.constantFrom('a', 'b', 'svc', 'r1', 'alice', 'ü', 'a b', 'a,b'), fc.string({ maxLength: 8 })))
const tags = or(fc.array(fc.oneof(fc.constantFrom('t1', 't2', 'a,b', 'a/b'), fc.string({ maxLength: 5 })), { maxLength: 3 }))
const meta = fc.record({ _comment: or(fc.string({ maxLength: 5 })), _ignore: or(fc.array(fc.anything(), { maxLength: 2 })) }, { requiredKeys: [] })
const ref = fc.oneof(name, fc.record({ id: or(fc.uuid()) }), fc.record({ name }))

const pluginFields = {
  name: or(fc.constantFrom('key-auth', 'rate-limiting', 'proxy-cache', 'nope')),
  config: or(fc.constantFrom({}, { minute: 5 }, { strategy: 'memory' }, { second: 'x' })),
  enabled: or(fc.boolean()),
  tags,
}
/** Nested plugins: their parent sets the reference (one naming something else is rare). */
const plugin = fc.record({ ...pluginFields, consumer: fc.constantFrom(undefined, undefined, undefined, 'alice') }, { requiredKeys: ['name'] })
  .map((p) => p.consumer === undefined ? (({ consumer: _, ...rest }) => rest)(p) : p)
  .chain((p) => meta.map((m) => ({ ...p, ...m })))
/** Top-level plugins name what they apply to. */
const topPlugin = fc.record({ ...pluginFields, service: ref, route: ref, consumer: ref }, { requiredKeys: ['name'] })
const route = fc.record({
  name,
  paths: or(fc.array(fc.constantFrom('/a', '/b', '~/c/\\d+$', 'nope', '/a//b', '~/('), { maxLength: 2 })),
  methods: or(fc.constantFrom(['GET'], ['NOPE'])),
  protocols: or(fc.constantFrom(['http'], ['https'], ['tcp'], ['ftp'])),
  service: ref,
  plugins: or(fc.array(plugin, { maxLength: 2 })),
  id: or(fc.uuid()),
  tags,
}, { requiredKeys: [] })
const service = fc.record({
  name,
  host: or(fc.constantFrom('h.test', '127.0.0.1', '')),
  url: or(fc.constantFrom('http://a.test:81/p', 'nope://', 'http://')),
  port: or(fc.integer({ min: -5, max: 70000 })),
  routes: or(fc.array(route, { maxLength: 3 })),
  plugins: or(fc.array(plugin, { maxLength: 2 })),
  id: or(fc.uuid()),
  tags,
}, { requiredKeys: [] }).chain((s) => meta.map((m) => ({ ...s, ...m })))
const consumer = fc.record({
  username: name,
  custom_id: name,
  keyauth_credentials: or(fc.array(fc.record({ key: name, consumer: ref, ttl: or(fc.integer()), tags }, { requiredKeys: [] }), { maxLength: 2 })),
  plugins: or(fc.array(plugin, { maxLength: 1 })),
  tags,
}, { requiredKeys: [] })
const upstream = fc.record({
  name: fc.oneof(fc.constantFrom('up.test', 'up'), name),
  targets: or(fc.array(fc.record({ target: or(fc.constantFrom('10.0.0.1', '10.0.0.1:80', 'h.test:8000', '[::1]:1')), weight: or(fc.integer({ min: -1, max: 70000 })), upstream: ref }, { requiredKeys: ['target'] }), { maxLength: 3 })),
  algorithm: or(fc.constantFrom('round-robin', 'consistent-hashing', 'nope')),
}, { requiredKeys: [] })
const doc = fc.record({
  _format_version: or(fc.constantFrom('3.0', '3.0', '3.0', '1.1', '2.1', '4.0')),
  _transform: or(fc.boolean()),
  services: or(fc.array(service, { maxLength: 3 })),
  routes: or(fc.array(route, { maxLength: 2 })),
  consumers: or(fc.array(consumer, { maxLength: 3 })),
  plugins: or(fc.array(topPlugin, { maxLength: 2 })),
  upstreams: or(fc.array(upstream, { maxLength: 2 })),
  certificates: fc.constantFrom([], [{}]),
}, { requiredKeys: ['_format_version'] })

// Documents valid by construction (unique names, plausible values), so the properties about
// accepted documents see many: generated as one of a few shapes for each entity.
const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,7}$/)
const validDoc = fc.record({
  services: fc.uniqueArray(label, { maxLength: 4 }),
  routesPer: fc.integer({ min: 0, max: 2 }),
  consumers: fc.uniqueArray(label, { maxLength: 4 }),
  upstreams: fc.uniqueArray(label, { maxLength: 2 }),
  targets: fc.uniqueArray(fc.integer({ min: 1, max: 254 }), { maxLength: 3 }),
  pluginOn: fc.constantFrom('none', 'service', 'route', 'consumer', 'global'),
  version: fc.constantFrom('3.0', '1.1'),
  tags: fc.array(fc.constantFrom('t1', 't2', 'team-a'), { maxLength: 2 }),
}).map((v) => ({
  _format_version: v.version,
  services: v.services.map((name, i) => ({
    name,
    url: `http://10.0.0.${i + 1}:80${i}/p`,
    tags: v.tags,
    routes: Array.from({ length: v.routesPer }, (_, j) => ({ name: `${name}-r${j}`, paths: [`/${name}/${j}`], methods: j === 0 ? null : ['GET'] })),
    plugins: v.pluginOn === 'service' ? [{ name: 'rate-limiting', config: { minute: 5 } }] : [],
  })),
  consumers: v.consumers.map((username) => ({
    username,
    keyauth_credentials: [{ key: `key-${username}` }],
    plugins: v.pluginOn === 'consumer' ? [{ name: 'rate-limiting', config: { hour: 10 } }] : [],
  })),
  upstreams: v.upstreams.map((name) => ({ name: `${name}.internal`, targets: v.targets.map((n) => ({ target: `10.1.0.${n}:8000`, weight: n })) })),
  plugins: v.pluginOn === 'global' ? [{ name: 'key-auth' }] : v.pluginOn === 'route' && v.services.length > 0 && v.routesPer > 0 ? [{ name: 'key-auth', route: `${v.services[0]!}-r0` }] : [],
}))
const anyDoc = fc.oneof(validDoc, doc)

function polluted (): string | undefined {
  for (const k of Object.keys(Object.prototype)) return k
  return undefined
}

/** Parses; a DeclarativeError is an answer, with all three of its renderings made. */
function attempt (input: string | Record<string, unknown>): ReturnType<typeof parseDeclarative> | undefined {
  try {
    return parseDeclarative(input, store)
  } catch (err) {
    if (!DeclarativeError.is(err)) throw err
    JSON.stringify(err.body(false))
    JSON.stringify(err.body(true))
    if (typeof err.pretty() !== 'string') throw new Error('no CLI text')
    return undefined
  }
}

t.test('generated documents: a config or a DeclarativeError, never a crash', async (t) => {
  let accepted = 0
  fc.assert(fc.property(anyDoc, (d) => {
    const parsed = attempt(d)
    if (parsed !== undefined) accepted++
    if (polluted() !== undefined) throw new Error('Object.prototype was written')
  }), params(1500))
  t.equal(polluted(), undefined)
  t.ok(accepted > 0, `some documents were valid (${accepted})`)
})

t.test('generated documents as YAML and JSON text: the same answer as the object', async (t) => {
  fc.assert(fc.property(anyDoc, (d) => {
    let yaml: string
    try {
      yaml = dump(d, { skipInvalid: true })
    } catch {
      return
    }
    const fromObject = attempt(JSON.parse(JSON.stringify(d)) as Record<string, unknown>)
    const fromJson = attempt(JSON.stringify(d))
    attempt(yaml)
    if ((fromObject === undefined) !== (fromJson === undefined)) throw new Error('JSON text and object disagree')
  }), params(500))
  t.pass('every text parsed or was refused')
})

t.test('accepted documents load, and parse again to the same derived ids', async (t) => {
  let loaded = 0
  await fc.assert(fc.asyncProperty(anyDoc, async (d) => {
    const parsed = attempt(d)
    if (parsed === undefined) return
    await store.replaceAll(parsed.entities, { hash: parsed.hash, validated: true })
    loaded++
    const again = attempt(d)
    if (again === undefined) throw new Error('accepted once, refused the second time')
    // Named services and upstreams: their ids derive from the name (others may be random).
    const named = (e: Record<string, unknown>): boolean => typeof e.name === 'string' && e.name !== ''
    for (const entity of ['services', 'upstreams']) {
      const a = (parsed.entities.get(entity) ?? []).filter(named).map((e) => e.id)
      const b = (again.entities.get(entity) ?? []).filter(named).map((e) => e.id)
      if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`${entity} ids changed between two parses`)
    }
  }), params(300))
  t.ok(loaded > 0, `loaded ${loaded} accepted documents`)
})

t.test('POST /config in DB-less mode: 201 or 400 for every document and form, never a 5xx; a 400 changes nothing', async (t) => {
  const api = await startAdmin(t, { plugins, entities: plugins.entities(), config: { database: 'off' } })
  const statuses = new Set<number>()
  await fc.assert(fc.asyncProperty(anyDoc, fc.constantFrom('json', 'yaml', 'form', 'config-json'), async (d, form) => {
    const before = storeDump(api.store)
    const r = form === 'json'
      ? await api.call('POST', '/config', { json: d })
      : form === 'yaml'
        ? await api.call('POST', '/config', { body: dump(d, { skipInvalid: true }), headers: { 'content-type': 'application/yaml' } })
        : form === 'form'
          ? await api.call('POST', '/config', { form: { config: dump(d, { skipInvalid: true }) } })
          : await api.call('POST', '/config', { json: { config: JSON.stringify(d) } })
    statuses.add(r.status)
    if (r.status !== 201 && r.status !== 400) throw new Error(`POST /config answered ${r.status}: ${r.text.slice(0, 300)}`)
    if (r.status === 400 && storeDump(api.store) !== before) throw new Error('a refused configuration changed the store')
  }), params(200))
  t.ok(statuses.has(201) && statuses.has(400), `both answers seen (${[...statuses].join(', ')})`)
  t.equal((await api.call('GET', '/config')).status, 200, 'still exporting')
})
