// Kong 3.2.2's rate-limiting schema and Admin API specs, ported (issue #17):
//   spec/03-plugins/23-rate-limiting/01-schema_spec.lua: every case (9).
//   spec/03-plugins/23-rate-limiting/03-api_spec.lua: every case for a database (4, with
//     "does allow setting policy to cluster on non-dbless").
// Kong's validate_plugin_config_schema is a unit-level call; here the same configs go through
// the Admin API's POST /schemas/plugins/validate (the schema plus the plugin's checkConfig,
// nothing stored), whose `fields` are Kong's `err` table.
//
// Not ported, and why:
//   - 03-api_spec.lua `strategy == "off"` cases, "sets policy to local by default on dbless"
//     and "does not allow setting policy to cluster on dbless": Tollgate has no DB-less mode
//     (no declarative POST /config); it always has its LMDB store, Kong's `#db` case.
import t from 'tap'
import { startAdmin, type AdminClient } from '../../helpers/admin.js'
import { PluginRegistry } from '../../../core/runtime/registry.js'
import { rateLimiting } from '../../../plugins/rate-limiting/index.js'

const registry = new PluginRegistry()
registry.register(rateLimiting)

const PERIODS_MESSAGE = "at least one of these fields must be non-empty: 'config.second', 'config.minute', 'config.hour', 'config.day', 'config.month', 'config.year'"

t.test('01-schema_spec.lua "Plugin: rate-limiting (schema)"', async (t) => {
  const api = await startAdmin(t, { plugins: registry })
  const validate = (config: Record<string, unknown>) => api.call('POST', '/schemas/plugins/validate', { json: { name: 'rate-limiting', config } })

  // it("proper config validates")
  t.test('proper config validates', async (t) => {
    const r = await validate({ second: 10 })
    t.equal(r.status, 200, 'valid')
  })

  // it("proper config validates (bis)")
  t.test('proper config validates (bis)', async (t) => {
    const r = await validate({ second: 10, minute: 20, hour: 30, day: 40, month: 50, year: 60 })
    t.equal(r.status, 200, 'valid')
  })

  // it("proper config validates (header)")
  t.test('proper config validates (header)', async (t) => {
    const r = await validate({ second: 10, limit_by: 'header', header_name: 'X-App-Version' })
    t.equal(r.status, 200, 'valid')
  })

  // it("proper config validates (path)")
  t.test('proper config validates (path)', async (t) => {
    const r = await validate({ second: 10, limit_by: 'path', path: '/request' })
    t.equal(r.status, 200, 'valid')
  })

  // describe("errors")
  t.test('errors', async (t) => {
    // it("limits: smaller unit is less than bigger unit")
    t.test('limits: smaller unit is less than bigger unit', async (t) => {
      const r = await validate({ second: 20, hour: 10 })
      t.equal(r.status, 400)
      t.equal(r.body.fields.config, 'The limit for hour(10.0) cannot be lower than the limit for second(20.0)')
    })

    // it("limits: smaller unit is less than bigger unit (bis)")
    t.test('limits: smaller unit is less than bigger unit (bis)', async (t) => {
      const r = await validate({ second: 10, minute: 20, hour: 30, day: 40, month: 60, year: 50 })
      t.equal(r.status, 400)
      t.equal(r.body.fields.config, 'The limit for year(50.0) cannot be lower than the limit for month(60.0)')
    })

    // it("invalid limit")
    t.test('invalid limit', async (t) => {
      const r = await validate({})
      t.equal(r.status, 400)
      t.same(r.body.fields['@entity'], [PERIODS_MESSAGE])
    })

    // it("is limited by header but the header_name field is missing")
    t.test('is limited by header but the header_name field is missing', async (t) => {
      const r = await validate({ second: 10, limit_by: 'header', header_name: null })
      t.equal(r.status, 400)
      t.equal(r.body.fields.config?.header_name, 'required field missing')
    })

    // it("is limited by path but the path field is missing")
    t.test('is limited by path but the path field is missing', async (t) => {
      const r = await validate({ second: 10, limit_by: 'path', path: null })
      t.equal(r.status, 400)
      t.equal(r.body.fields.config?.path, 'required field missing')
    })
  })
})

t.test('03-api_spec.lua "Plugin: rate-limiting (API) [#db]" describe("POST")', async (t) => {
  const api: AdminClient = await startAdmin(t, { plugins: registry })
  const service = (await api.call('POST', '/services', { json: { name: 'svc', url: 'http://127.0.0.1:15555' } })).body
  const route = (await api.call('POST', '/routes', { json: { hosts: ['test1.com'], protocols: ['http', 'https'], service: { id: service.id } } })).body
  const route2 = (await api.call('POST', '/routes', { json: { hosts: ['test2.com'], protocols: ['http', 'https'], service: { id: service.id } } })).body
  t.ok(route.id && route2.id, 'routes created')

  // it("should not save with empty config")
  t.test('should not save with empty config', async (t) => {
    const r = await api.call('POST', '/plugins', { json: { name: 'rate-limiting', route: { id: route.id } } })
    t.equal(r.status, 400)
    t.same(r.body, {
      code: 2, // Errors.codes.SCHEMA_VIOLATION
      fields: { '@entity': [PERIODS_MESSAGE] },
      message: `schema violation (${PERIODS_MESSAGE})`,
      name: 'schema violation',
    })
  })

  // it("should save with proper config")
  t.test('should save with proper config', async (t) => {
    const r = await api.call('POST', '/plugins', { json: { name: 'rate-limiting', route: { id: route.id }, config: { second: 10 } } })
    t.equal(r.status, 201, 'created')
    t.equal(r.body.config.second, 10)
  })

  // it("sets policy to local by default")
  t.test('sets policy to local by default', async (t) => {
    const r = await api.call('POST', '/plugins', { json: { name: 'rate-limiting', config: { second: 10 } } })
    t.equal(r.status, 201, 'created')
    t.equal(r.body.config.policy, 'local')
  })

  // it("does allow setting policy to cluster on non-dbless")
  t.test('does allow setting policy to cluster on non-dbless', async (t) => {
    const r = await api.call('POST', '/plugins', { json: { name: 'rate-limiting', route: { id: route2.id }, config: { policy: 'cluster', second: 10 } } })
    t.equal(r.status, 201, 'created')
    t.equal(r.body.config?.policy, 'cluster')
  })
})
