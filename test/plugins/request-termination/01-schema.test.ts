// Kong 3.2.2's spec/03-plugins/14-request-termination/01-schema_spec.lua, every case (14).
// Kong's validate_plugin_config_schema is a unit-level call; here the same configs go
// through the Admin API's POST /schemas/plugins/validate (the schema plus the plugin's
// checkConfig, nothing stored), whose `fields` are Kong's `err` table.
import t, { type Test } from 'tap'
import { startAdmin } from '../../helpers/admin.js'
import { PluginRegistry } from '../../../core/runtime/registry.js'
import { requestTermination } from '../../../plugins/request-termination/index.js'

const registry = new PluginRegistry()
registry.register(requestTermination)

t.test('01-schema_spec.lua "Plugin: request-termination (schema)"', async (t) => {
  const api = await startAdmin(t, { plugins: registry })
  const validate = (config: Record<string, unknown>) => api.call('POST', '/schemas/plugins/validate', { json: { name: 'request-termination', config } })
  const valid = async (t: Test, config: Record<string, unknown>): Promise<void> => {
    const r = await validate(config)
    t.equal(r.status, 200, JSON.stringify(r.body))
  }
  const invalid = async (t: Test, config: Record<string, unknown>, errConfig: unknown): Promise<void> => {
    const r = await validate(config)
    t.equal(r.status, 400)
    t.same(r.body.fields, { config: errConfig })
  }

  // it("should accept a valid status_code")
  t.test('should accept a valid status_code', (t) => valid(t, { status_code: 404 }))
  // it("should accept a valid message")
  t.test('should accept a valid message', (t) => valid(t, { message: 'Not found' }))
  // it("should accept a valid content_type")
  t.test('should accept a valid content_type', (t) => valid(t, { content_type: 'text/html', body: '<body><h1>Not found</h1>' }))
  // it("should accept a valid body")
  t.test('should accept a valid body', (t) => valid(t, { body: '<body><h1>Not found</h1>' }))
  // it("should accept trigger")
  t.test('should accept trigger', (t) => valid(t, { echo: true, trigger: 'header_name' }))

  // describe("errors")
  t.test('errors', async (t) => {
    // it("status_code should only accept numbers")
    t.test('status_code should only accept numbers', (t) => invalid(t, { status_code: 'abcd' }, { status_code: 'expected an integer' }))
    // it("status_code can not be set as null")
    t.test('status_code can not be set as null', (t) => invalid(t, { status_code: null }, { status_code: 'required field missing' }))
    // it("status_code < 100")
    t.test('status_code < 100', (t) => invalid(t, { status_code: 99 }, { status_code: 'value should be between 100 and 599' }))
    // it("status_code > 599")
    t.test('status_code > 599', (t) => invalid(t, { status_code: 600 }, { status_code: 'value should be between 100 and 599' }))
    // it("#message with body")
    t.test('message with body', (t) => invalid(t, { message: 'error', body: 'test' }, 'message cannot be used with content_type or body'))
    // it("message with body and content_type")
    t.test('message with body and content_type', (t) =>
      invalid(t, { message: 'error', content_type: 'text/html', body: 'test' }, 'message cannot be used with content_type or body'))
    // it("message with content_type")
    t.test('message with content_type', (t) => invalid(t, { message: 'error', content_type: 'text/html' }, 'message cannot be used with content_type or body'))
    // it("content_type without body")
    t.test('content_type without body', (t) => invalid(t, { content_type: 'text/html' }, 'content_type requires a body'))
    // it("echo with body & content_type")
    t.test('echo with body & content_type', (t) =>
      invalid(t, { echo: true, content_type: 'text/html', body: '<body><h1>Not found</h1>' }, 'echo cannot be used with content_type and body'))
  })

  // Not in Kong's spec: the defaults, and trigger is a header name.
  t.test('defaults and trigger', async (t) => {
    const r = await api.call('POST', '/plugins', { json: { name: 'request-termination' } })
    t.equal(r.status, 201)
    t.same(r.body.config, { status_code: 503, message: null, content_type: null, body: null, echo: false, trigger: null })
    await invalid(t, { trigger: 'a b' }, { trigger: "bad header name 'a b', allowed characters are A-Z, a-z, 0-9, '_', and '-'" })
  })
})
