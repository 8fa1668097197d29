// Kong's spec/03-plugins/15-response-transformer/02-body_transformer_spec.lua (3.2.2): the
// transform_json_body() cases, against the plugin's transformJsonBody. Kong's two handler
// cases ("leave body alone", "handle unexpected body type") run through a gateway in
// 04-filter.test.ts.
import t from 'tap'
import type { ResponseTransformerConfig } from '../../../plugins/response-transformer/schema.js'
import { transformJsonBody } from '../../../plugins/response-transformer/transform.js'

type Part = { json?: string[], json_types?: ('boolean' | 'number' | 'string')[] }

function conf (c: { remove?: Part, replace?: Part, add?: Part, append?: Part }): ResponseTransformerConfig {
  const full = (p: Part = {}) => ({ json: p.json ?? [], json_types: p.json_types ?? [], headers: [] })
  return { remove: { json: c.remove?.json ?? [], headers: [] }, rename: { headers: [] }, replace: full(c.replace), add: full(c.add), append: full(c.append) }
}

const run = (c: ResponseTransformerConfig, body: string): unknown => JSON.parse(transformJsonBody(c, body).body as string)

t.test('add', async (t) => {
  const c = conf({ add: { json: ['p1:v1', 'p3:value:3', 'p4:"v1"', 'p5:-1', 'p6:false', 'p7:true'], json_types: ['string', 'string', 'string', 'number', 'boolean', 'boolean'] } })
  const added = { p1: 'v1', p3: 'value:3', p4: '"v1"', p5: -1, p6: false, p7: true }
  t.same(run(c, '{"p2":"v1"}'), { ...added, p2: 'v1' }, 'it("parameter") / it("add value in double quotes")')
  t.same(run(c, '{"p2":-1}'), { ...added, p2: -1 }, 'it("number")')
  t.same(run(c, '{"p2":false}'), { ...added, p2: false }, 'it("boolean")')
  const r = transformJsonBody(c, '{"p2":"v1", "a":[]}').body as string
  t.same(JSON.parse(r), { ...added, p2: 'v1', a: [] }, 'it("preserves empty arrays")')
  t.ok(r.includes('"a":[]'))
})

t.test('append', async (t) => {
  const c = conf({ append: { json: ['p1:v1', 'p3:"v1"', 'p4:-1', 'p5:false', 'p6:true'], json_types: ['string', 'string', 'number', 'boolean', 'boolean'] } })
  t.same(run(c, '{"p2":"v1"}'), { p2: 'v1', p1: ['v1'], p3: ['"v1"'], p4: [-1], p5: [false], p6: [true] }, 'it("new key:value if key does not exists")')
  t.same(run(c, '{"p1":"v2"}'), { p1: ['v2', 'v1'], p3: ['"v1"'], p4: [-1], p5: [false], p6: [true] }, 'it("value if key exists")')
  t.same(run(c, '{"p3":"v2"}'), { p1: ['v1'], p3: ['v2', '"v1"'], p4: [-1], p5: [false], p6: [true] }, 'it("value in double quotes")')
  t.same(run(c, '{"p4":"v2"}'), { p1: ['v1'], p3: ['"v1"'], p4: ['v2', -1], p5: [false], p6: [true] }, 'it("number")')
  t.same(run(c, '{"p5":"v5", "p6":"v6"}'), { p1: ['v1'], p3: ['"v1"'], p4: [-1], p5: ['v5', false], p6: ['v6', true] }, 'it("boolean")')
  t.same(run(c, '{"p2":"v1", "a":[]}'), { p2: 'v1', a: [], p1: ['v1'], p3: ['"v1"'], p4: [-1], p5: [false], p6: [true] }, 'it("preserves empty arrays")')
})

t.test('remove', async (t) => {
  const c = conf({ remove: { json: ['p1', 'p2'] } })
  t.equal(transformJsonBody(c, '{"p1" : "v1", "p2" : "v1"}').body, '{}', 'it("parameter")')
  t.equal(transformJsonBody(c, '{"p1" : "v1", "p2" : "v1", "a": []}').body, '{"a":[]}', 'it("preserves empty arrays")')
})

t.test('replace', async (t) => {
  const c = conf({ replace: { json: ['p1:v2', 'p2:"v2"', 'p3:-1', 'p4:false', 'p5:true'], json_types: ['string', 'string', 'number', 'boolean', 'boolean'] } })
  t.same(run(c, '{"p1" : "v1", "p2" : "v1"}'), { p1: 'v2', p2: '"v2"' }, 'it("parameter if it exists")')
  t.same(run(c, '{"p1" : "v1"}'), { p1: 'v2' }, 'it("does not add value to parameter if parameter does not exists")')
  t.same(run(c, '{"p2" : "v1"}'), { p2: '"v2"' }, 'it("double quoted value")')
  t.same(run(c, '{"p1" : "v1", "p2" : "v1", "a": []}'), { p1: 'v2', p2: '"v2"', a: [] }, 'it("preserves empty arrays")')
  t.same(run(c, '{"p3" : "v1"}'), { p3: -1 }, 'it("number")')
  t.same(run(c, '{"p4" : "v4", "p5" : "v5"}'), { p4: false, p5: true }, 'it("boolean")')
})

t.test('remove, replace, add, append', async (t) => {
  const c = conf({ remove: { json: ['p1'] }, replace: { json: ['p2:v2'] }, add: { json: ['p3:v1'] }, append: { json: ['p3:v2'] } })
  t.same(run(c, '{"p1" : "v1", "p2" : "v1"}'), { p2: 'v2', p3: ['v1', 'v2'] }, 'it("combination")')
  t.same(run(c, '{"p1" : "v1", "p2" : "v1", "a" : []}'), { p2: 'v2', p3: ['v1', 'v2'], a: [] }, 'it("preserves empty array")')
})

t.test('a body that is not a JSON object is an error (the handler then leaves it alone)', async (t) => {
  const c = conf({ remove: { json: ['foo'] } })
  t.same(transformJsonBody(c, 'not a json value'), { error: 'failed parsing json body' })
  t.same(transformJsonBody(c, '[1]'), { error: 'failed parsing json body' })
})
