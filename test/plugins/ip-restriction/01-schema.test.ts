// Kong 3.2.2's spec/03-plugins/17-ip-restriction/01-schema_spec.lua, every case (13).
// Kong's validate_plugin_config_schema is a unit-level call; here the same configs go
// through the Admin API's POST /schemas/plugins/validate (the schema plus the plugin's
// checkConfig, nothing stored), whose `fields` are Kong's `err` table. Kong's Lua error
// arrays with holes (`{ [3] = msg }`) are JSON arrays with nulls.
import t, { type Test } from 'tap'
import { startAdmin } from '../../helpers/admin.js'
import { PluginRegistry } from '../../../core/runtime/registry.js'
import { ipRestriction } from '../../../plugins/ip-restriction/index.js'

const registry = new PluginRegistry()
registry.register(ipRestriction)

t.test('01-schema_spec.lua "Plugin: ip-restriction (schema)"', async (t) => {
  const api = await startAdmin(t, { plugins: registry })
  const validate = (config: Record<string, unknown>) => api.call('POST', '/schemas/plugins/validate', { json: { name: 'ip-restriction', config } })
  const valid = async (t: Test, config: Record<string, unknown>): Promise<void> => {
    const r = await validate(config)
    t.equal(r.status, 200, JSON.stringify(r.body))
  }
  const invalid = async (t: Test, config: Record<string, unknown>, fields: Record<string, unknown>): Promise<void> => {
    const r = await validate(config)
    t.equal(r.status, 400)
    t.same(r.body.fields, fields)
  }

  // it("should accept a valid allow")
  t.test('should accept a valid allow', (t) => valid(t, { allow: ['127.0.0.1', '127.0.0.2'] }))
  // it("should accept a valid allow and status/message")
  t.test('should accept a valid allow and status/message', (t) => valid(t, { allow: ['127.0.0.1', '127.0.0.2'], status: 403, message: 'Forbidden' }))
  // it("should accept a valid cidr range")
  t.test('should accept a valid cidr range', (t) => valid(t, { allow: ['127.0.0.1/8'] }))
  // it("should accept a valid deny")
  t.test('should accept a valid deny', (t) => valid(t, { deny: ['127.0.0.1', '127.0.0.2'] }))
  // it("should accept both non-empty allow and deny")
  t.test('should accept both non-empty allow and deny', (t) => valid(t, { deny: ['127.0.0.2'], allow: ['127.0.0.1'] }))

  // describe("errors")
  t.test('errors', async (t) => {
    // it("allow should not accept invalid types")
    t.test('allow should not accept invalid types', (t) => invalid(t, { allow: 12 }, { config: { allow: 'expected an array' } }))
    // it("allow should not accept invalid IPs")
    t.test('allow should not accept invalid IPs', async (t) => {
      await invalid(t, { allow: ['hello'] }, { config: { allow: ["invalid ip or cidr range: 'hello'"] } })
      await invalid(t, { allow: ['127.0.0.1', '127.0.0.2', 'hello'] }, { config: { allow: [null, null, "invalid ip or cidr range: 'hello'"] } })
    })
    // it("deny should not accept invalid types")
    t.test('deny should not accept invalid types', (t) => invalid(t, { deny: 12 }, { config: { deny: 'expected an array' } }))
    // it("deny should not accept invalid IPs")
    t.test('deny should not accept invalid IPs', async (t) => {
      await invalid(t, { deny: ['hello'] }, { config: { deny: ["invalid ip or cidr range: 'hello'"] } })
      await invalid(t, { deny: ['127.0.0.1', '127.0.0.2', 'hello'] }, { config: { deny: [null, null, "invalid ip or cidr range: 'hello'"] } })
    })
    // it("should not accept both empty allow and deny")
    t.test('should not accept both empty allow and deny', (t) =>
      invalid(t, { deny: [], allow: [] }, { '@entity': ["at least one of these fields must be non-empty: 'config.allow', 'config.deny'"] }))
    // it("should not accept invalid cidr ranges")
    t.test('should not accept invalid cidr ranges', (t) => invalid(t, { allow: ['0.0.0.0/a', '0.0.0.0/-1', '0.0.0.0/33'] }, {
      config: { allow: ['0.0.0.0/a', '0.0.0.0/-1', '0.0.0.0/33'].map((e) => `invalid ip or cidr range: '${e}'`) },
    }))
    // it("should not accept invalid ipv6 cidr ranges")
    t.test('should not accept invalid ipv6 cidr ranges', (t) => {
      const bad = ['::/a', '::/-1', '::/129', '::1/a', '::1/-1', '::1/129']
      return invalid(t, { allow: bad }, { config: { allow: bad.map((e) => `invalid ip or cidr range: '${e}'`) } })
    })
    // it("should accept valid ipv6 cidr ranges")
    t.test('should accept valid ipv6 cidr ranges', (t) => valid(t, { allow: ['::/0', '::/1', '::/128'] }))
  })

  // Not in Kong's spec: neither list given at all.
  t.test('neither allow nor deny', (t) =>
    invalid(t, {}, { '@entity': ["at least one of these fields must be non-empty: 'config.allow', 'config.deny'"] }))
})
