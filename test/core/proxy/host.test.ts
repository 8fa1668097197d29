// The Host header as routing reads it: name lower-cased, port split off. parseHost has a
// fast path for `name` and `name:port`; its answers must equal the general form's.
import t from 'tap'
import { parseHost } from '../../../core/proxy/upstream-request.js'

// The general rule, as the regex in parseHost states it.
function general (header: string): { host: string, port: number | undefined } {
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(header)
  if (m === null) return { host: header.toLowerCase(), port: undefined }
  return { host: (m[1] as string).toLowerCase(), port: m[2] === undefined ? undefined : Number(m[2]) }
}

t.test('parseHost', async (t) => {
  t.same(parseHost(undefined), { host: '', port: undefined })
  t.same(parseHost(''), { host: '', port: undefined })
  t.same(parseHost('Example.COM'), { host: 'example.com', port: undefined })
  t.same(parseHost('example.com:8000'), { host: 'example.com', port: 8000 })
  t.same(parseHost('[::1]:8000'), { host: '[::1]', port: 8000 })
  t.same(parseHost('[::1]'), { host: '[::1]', port: undefined })
  for (const h of ['a', 'A:1', 'a:', ':80', 'a:b', 'a:1:2', 'a:0080', 'a:123456', 'a:1234567', '[::1]:x', '[::1', 'x[y]:1', 'h:65535', 'h: 80']) {
    t.same(parseHost(h), general(h), h)
  }
})
