// Kong's spec/03-plugins/15-response-transformer/01-header_transformer_spec.lua (3.2.2):
// is_json_body() and transform_headers(), against the plugin's isJsonBody and
// transformHeaders with kong.response's clear/set/add played on a plain header table.
import t from 'tap'
import type { ResponseTransformerConfig } from '../../../plugins/response-transformer/schema.js'
import { isJsonBody, transformHeaders } from '../../../plugins/response-transformer/transform.js'

const JSON_CT = 'application/json'
type H = Record<string, string | string[]>

function conf (c: { remove?: { json?: string[], headers?: string[] }, rename?: string[], replace?: string[], add?: string[], addJson?: string[], append?: string[], removeJson?: string[], replaceJson?: string[], appendJson?: string[] }): ResponseTransformerConfig {
  const v = (headers: string[] = [], json: string[] = []) => ({ json, json_types: [], headers })
  return {
    remove: { json: c.remove?.json ?? [], headers: c.remove?.headers ?? [] },
    rename: { headers: c.rename ?? [] },
    replace: v(c.replace, c.replaceJson),
    add: v(c.add, c.addJson),
    append: v(c.append, c.appendJson),
  }
}

/** Runs transform_headers over `headers` as kong.response would change them. */
function run (c: ResponseTransformerConfig, headers: H): H {
  const out: H = { ...headers }
  transformHeaders(c, { ...headers }, {
    clear: (n) => { delete out[n.toLowerCase()] },
    set: (n, value) => { out[n.toLowerCase()] = value },
    add: (n, value) => { const p = out[n.toLowerCase()]; out[n.toLowerCase()] = p === undefined ? [value] : [...(Array.isArray(p) ? p : [p]), value] },
  })
  return out
}

t.test('is_json_body()', async (t) => {
  t.ok(isJsonBody('application/json'), 'it("is truthy when content-type application/json passed")')
  t.ok(isJsonBody('application/json; charset=utf-8'))
  t.ok(isJsonBody('application/x-www-form-urlencoded, application/json'), 'it("is truthy when content-type is multiple values along with application/json passed")')
  t.notOk(isJsonBody('application/x-www-form-urlencoded'), 'it("is falsy when content-type not application/json")')
})

t.test('remove', async (t) => {
  const c = conf({ remove: { headers: ['h1', 'h2', 'h3'] }, addJson: ['p1:v1'] })
  t.same(run(c, { h1: 'value1', h2: ['value2a', 'value2b'] }), {}, 'it("all the headers")')
  t.equal(run(c, { h1: 'value1', 'content-length': '100', 'content-type': JSON_CT })['content-length'], undefined, 'it("sets content-length nil")')
})

t.test('rename', async (t) => {
  const c = conf({ rename: ['h1:h2', 'h3:h4'] })
  t.same(run(c, { h1: 'v1', h3: 'v3' }), { h2: 'v1', h4: 'v3' }, 'it("header if the header exists")')
  // Kong's nginx sends an empty header as " "; Tollgate keeps it empty.
  t.same(run(c, { h1: '' }), { h2: '' }, 'it("header if the header exists and is empty")')
  t.same(run(c, {}), {}, 'it("does not add as new header if header is nil") / it("does not add as new header if header is not present")')
})

t.test('replace', async (t) => {
  const c = conf({ replace: ['h1:v1', 'h2:value:2'], addJson: ['p1:v1'] })
  t.same(run(c, { h1: 'value1', h2: ['value2a', 'value2b'] }), { h1: 'v1', h2: 'value:2' }, 'it("header if the header only exists")')
  t.same(run(c, { h2: ['value2a', 'value2b'] }), { h2: 'value:2' }, 'it("does not add a new header if the header does not already exist")')
  t.equal(run(c, { h1: 'value1', 'content-length': '100', 'content-type': JSON_CT })['content-length'], undefined, 'it("sets content-length nil")')
})

t.test('add', async (t) => {
  const c = conf({ add: ['h2:v2'], addJson: ['p1:v1'] })
  t.same(run(c, { h1: 'v1' }), { h1: 'v1', h2: 'v2' }, 'it("header if the header does not exists")')
  t.same(run(c, { h1: 'v1', h2: 'v3' }), { h1: 'v1', h2: 'v3' }, 'it("does not add a new header if the header already exist")')
  t.equal(run(c, { h1: 'v1', 'content-length': '100', 'content-type': JSON_CT })['content-length'], undefined, 'it("sets content-length nil")')
})

t.test('append', async (t) => {
  const c = conf({ append: ['h1:v2'], addJson: ['p1:v1'] })
  t.same(run(c, {}).h1, ['v2'], 'it("header if the header does not exists")')
  t.same(run(c, { h1: 'v1' }), { h1: ['v1', 'v2'] }, 'it("header if the header already exist")')
  t.equal(run(c, { h1: 'v1', 'content-length': '100', 'content-type': JSON_CT })['content-length'], undefined, 'it("sets content-length nil")')
})

t.test('performing remove, replace, add, append together', async (t) => {
  const c = conf({ remove: { headers: ['h1:v1'] }, replace: ['h2:v3'], add: ['h3:v3'], addJson: ['p1:v1'], append: ['h3:v4'] })
  t.same(run(c, { h1: 'v1', h2: 'v2' }), { h2: 'v3', h3: ['v3', 'v4'] }, 'it("transforms all headers")')
  t.equal(run(c, { h1: 'v1', 'content-length': '100', 'content-type': JSON_CT })['content-length'], undefined, 'it("sets content-length nil")')
})

t.test('content-type json: remove / replace / add / append', async (t) => {
  const cases: [string, ResponseTransformerConfig][] = [
    ['remove', conf({ remove: { json: ['p1'], headers: ['h1', 'h2'] } })],
    ['replace', conf({ replaceJson: ['p1:v1'], replace: ['h1:v1'] })],
    ['add', conf({ addJson: ['p1:v1'], add: ['h1:v1'] })],
    ['append', conf({ appendJson: ['p1:v1'], append: ['h1:v1'] })],
  ]
  for (const [verb, c] of cases) {
    t.equal(run(c, { 'content-length': '100', 'content-type': JSON_CT })['content-length'], undefined, `${verb}: it("sets content-length nil if application/json passed")`)
    t.equal(run(c, { 'content-length': '100', 'content-type': 'application/json; charset=utf-8' })['content-length'], undefined, `${verb}: it("sets content-length nil if application/json and charset passed")`)
    t.equal(run(c, { 'content-length': '100', 'content-type': 'application/x-www-form-urlencoded' })['content-length'], '100', `${verb}: it("does not set content-length nil if content-type not json")`)
  }
  const none = conf({ remove: { headers: ['h1'] } })
  t.equal(run(none, { 'content-length': '100', 'content-type': JSON_CT })['content-length'], '100', 'it("does not set content-length nil if any of json not set")')
})
