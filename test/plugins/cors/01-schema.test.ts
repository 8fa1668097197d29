// Kong 3.2.2's spec/03-plugins/13-cors/02-schema_spec.lua, every case (14: the 9 generated
// "should allow <method>" included). Kong's validate_plugin_config_schema is a unit-level
// call; here the same configs go through the Admin API's POST /schemas/plugins/validate,
// whose `fields` are Kong's `err` table.
import t from 'tap'
import { startAdmin } from '../../helpers/admin.js'
import { PluginRegistry } from '../../../core/runtime/registry.js'
import { cors } from '../../../plugins/cors/index.js'

const registry = new PluginRegistry()
registry.register(cors)

t.test('02-schema_spec.lua', async (t) => {
  const api = await startAdmin(t, { plugins: registry })
  const validate = (config: Record<string, unknown>) => api.call('POST', '/schemas/plugins/validate', { json: { name: 'cors', config } })

  // describe("origins in cors schema")
  t.test('origins in cors schema', async (t) => {
    // it("validates '*'")
    t.equal((await validate({ origins: ['*'] })).status, 200, "validates '*'")
    // it("validates what looks like a domain")
    t.equal((await validate({ origins: ['example.com'] })).status, 200, 'validates what looks like a domain')
    // it("validates what looks like a regex")
    t.equal((await validate({ origins: ['.*\\.example(?:-foo)?\\.com'] })).status, 200, 'validates what looks like a regex')
    // describe("errors") it("with invalid regex in origins")
    const r = await validate({ origins: ['.*.example.com', 'invalid_**regex'] })
    t.equal(r.status, 400)
    t.equal(r.body.fields.config.origins[1], "'invalid_**regex' is not a valid regex", 'with invalid regex in origins')
  })

  // describe("methods in cors schema")
  t.test('methods in cors schema', async (t) => {
    for (const method of ['HEAD', 'GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']) {
      // it("should allow " .. method)
      t.equal((await validate({ methods: [method] })).status, 200, `should allow ${method}`)
    }
    // describe("errors") it("with invalid method")
    const r = await validate({ methods: ['FAKE'] })
    t.equal(r.status, 400)
    t.equal(r.body.fields.config.methods[0], 'expected one of: GET, HEAD, PUT, PATCH, POST, DELETE, OPTIONS, TRACE, CONNECT', 'with invalid method')
  })

  // Not in Kong's spec: the defaults, and cors may not be scoped to a consumer.
  t.test('defaults', async (t) => {
    const r = await api.call('POST', '/plugins', { json: { name: 'cors' } })
    t.equal(r.status, 201)
    t.same(r.body.config, {
      origins: null, headers: null, exposed_headers: null, methods: ['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'],
      max_age: null, credentials: false, private_network: false, preflight_continue: false,
    })
  })
})
