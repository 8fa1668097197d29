// Kong's schema unit specs for upstreams and targets, ported:
// spec/01-unit/01-db/01-schema/09-upstreams_spec.lua and 08-targets_spec.lua (Kong 3.2.2).
// Kong's `validate(x)` there is process_auto_fields (defaults, shorthands) then validate:
// here that is the store's dry-run `validate`, which throws Kong's schema violation.

import t from 'tap'
import { DbError, type FieldErrors } from '../../../core/errors.js'
import { tempStore } from '../../helpers/store.js'

const A_VALID_UUID = 'cbb297c0-a956-486d-ad1d-f9b42df9465a'

t.test('upstreams schema (09-upstreams_spec.lua)', async (t) => {
  const store = tempStore(t)
  /** The field errors of a dry-run validation, or undefined when the value is valid. */
  const errorsOf = (input: Record<string, unknown>): FieldErrors | undefined => {
    try {
      store.validate('upstreams', input)
      return undefined
    } catch (err) {
      if (!DbError.is(err)) throw err
      return err.fields
    }
  }
  const at = (errs: FieldErrors | undefined, ...path: string[]): unknown =>
    path.reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], errs)

  t.test('validates a valid load upstream', async (t) => {
    t.equal(errorsOf({ id: A_VALID_UUID, name: 'my_service', hash_on: 'header', hash_on_header: 'X-Balance', hash_fallback: 'cookie', hash_on_cookie: 'a_cookie' }), undefined, 'hash on header, fall back to cookie')
  })

  t.test('invalid name produces error', async (t) => {
    for (const name of ['1234', 'fafa fafa', '192.168.0.1', 'myserver:8000']) t.ok(errorsOf({ name })?.name, name)
  })

  t.test('invalid fields produce errors', async (t) => {
    t.ok(errorsOf({ hash_on_cookie: 'a cookie' })?.hash_on_cookie)
    t.ok(at(errorsOf({ healthchecks: { active: { timeout: -1 } } }), 'healthchecks', 'active', 'timeout'))
    t.ok(at(errorsOf({ healthchecks: { active: { concurrency: -1 } } }), 'healthchecks', 'active', 'concurrency'))
    t.ok(at(errorsOf({ healthchecks: { active: { headers: [114514] } } }), 'healthchecks', 'active', 'headers'))
    t.ok(at(errorsOf({ healthchecks: { active: { http_path: 'potato' } } }), 'healthchecks', 'active', 'http_path'))
    t.ok(at(errorsOf({ healthchecks: { active: { healthy: { interval: -1 } } } }), 'healthchecks', 'active', 'healthy', 'interval'))
    t.ok(at(errorsOf({ healthchecks: { active: { healthy: { successes: -1 } } } }), 'healthchecks', 'active', 'healthy', 'successes'))
    t.ok(at(errorsOf({ healthchecks: { active: { healthy: { http_statuses: 'potato' } } } }), 'healthchecks', 'active', 'healthy', 'http_statuses'))
  })

  t.test('conditional fields', async (t) => {
    t.ok(errorsOf({ hash_on: 'header' })?.hash_on_header, "hash_on = 'header' makes hash_on_header required")
    t.ok(errorsOf({ hash_fallback: 'header' })?.hash_fallback_header, "hash_fallback = 'header' makes hash_fallback_header required")
    t.ok(errorsOf({ hash_on: 'cookie' })?.hash_on_cookie, "hash_on = 'cookie' makes hash_on_cookie required")
    t.ok(errorsOf({ hash_fallback: 'cookie' })?.hash_on_cookie, "hash_fallback = 'cookie' makes hash_on_cookie required")
    t.ok(errorsOf({ hash_on: 'none', hash_fallback: 'header' })?.hash_fallback, "hash_on = 'none' requires that hash_fallback is also none")
    t.ok(errorsOf({ hash_on: 'cookie', hash_fallback: 'header' })?.hash_fallback, "hash_on = 'cookie' requires that hash_fallback is also none")
    for (const h of ['consumer', 'ip', 'path']) t.ok(errorsOf({ hash_on: h, hash_fallback: h })?.hash_fallback, `hash_on ${h} must differ from hash_fallback`)
    t.ok(errorsOf({ hash_on: 'query_arg' })?.hash_on_query_arg, "hash_on = 'query_arg' makes hash_on_query_arg required")
    t.ok(errorsOf({ hash_on: 'ip', hash_fallback: 'query_arg' })?.hash_fallback_query_arg, "hash_fallback = 'query_arg' makes hash_fallback_query_arg required")
    t.same(errorsOf({ hash_on: 'query_arg', hash_on_query_arg: 'same', hash_fallback: 'query_arg', hash_fallback_query_arg: 'same' })?.['@entity'],
      ["values of these fields must be distinct: 'hash_on_query_arg', 'hash_fallback_query_arg'"])
    t.ok(errorsOf({ name: 'test', hash_on: 'query_arg', hash_on_query_arg: '' })?.hash_on_query_arg, 'no empty query arg')
    t.ok(errorsOf({ name: 'test', hash_on: 'query_arg', hash_on_query_arg: 'ok', hash_fallback: 'query_arg', hash_fallback_query_arg: '' })?.hash_fallback_query_arg, 'no empty fallback query arg')
    t.same(errorsOf({ hash_on: 'uri_capture', hash_on_uri_capture: 'same', hash_fallback: 'uri_capture', hash_fallback_uri_capture: 'same' })?.['@entity'],
      ["values of these fields must be distinct: 'hash_on_uri_capture', 'hash_fallback_uri_capture'"])
    t.ok(errorsOf({ name: 'test', hash_on: 'uri_capture', hash_on_uri_capture: '' })?.hash_on_uri_capture, 'no empty uri capture')
    t.ok(errorsOf({ name: 'test', hash_on: 'uri_capture', hash_on_uri_capture: 'ok', hash_fallback: 'uri_capture', hash_fallback_uri_capture: '' })?.hash_fallback_uri_capture, 'no empty fallback uri capture')
  })

  t.test('produces defaults', async (t) => {
    const u = await store.insert('upstreams', { name: 'www.example.com', use_srv_name: true })
    t.match(u.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    t.match(u, { name: 'www.example.com', use_srv_name: true, hash_on: 'none', hash_fallback: 'none', hash_on_cookie_path: '/', slots: 10000 })
    t.equal((await store.insert('upstreams', { name: 'other.example.com' })).use_srv_name, false)
    // As Kong's Admin API shows them: the two optional fields of active checks are null.
    t.same(u.healthchecks, {
      active: {
        type: 'http',
        timeout: 1,
        concurrency: 10,
        http_path: '/',
        https_sni: null,
        https_verify_certificate: true,
        headers: null,
        healthy: { interval: 0, http_statuses: [200, 302], successes: 0 },
        unhealthy: { interval: 0, http_statuses: [429, 404, 500, 501, 502, 503, 504, 505], tcp_failures: 0, timeouts: 0, http_failures: 0 },
      },
      passive: {
        type: 'http',
        healthy: { http_statuses: [200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308], successes: 0 },
        unhealthy: { http_statuses: [429, 500, 503], tcp_failures: 0, timeouts: 0, http_failures: 0 },
      },
      threshold: 0,
    })
  })

  t.test('name attribute', async (t) => {
    t.same(errorsOf({}), { name: 'required field missing' })
    t.same(errorsOf({ name: '123.123.123.123' }), { name: "Invalid name ('123.123.123.123'); no ip addresses allowed" })
    t.same(errorsOf({ name: '\\\\bad\\\\////name////' }), { name: "Invalid name ('\\\\bad\\\\////name////'); must be a valid hostname" })
    t.same(errorsOf({ name: 'name:80' }), { name: "Invalid name ('name:80'); no port allowed" })
    t.equal(errorsOf({ name: 'valid.host.name' }), undefined, 'accepts valid names')
  })

  t.test('host_header attribute', async (t) => {
    t.same(errorsOf({ name: 'host.test', host_header: 'http://ahostname.test' }), { host_header: 'invalid hostname: http://ahostname.test' })
    t.same(errorsOf({ name: 'host.test', host_header: 'ahostname-' }), { host_header: 'invalid hostname: ahostname-' })
    t.same(errorsOf({ name: 'host.test', host_header: 'a hostname' }), { host_header: 'invalid hostname: a hostname' })
    t.equal(errorsOf({ name: 'host.test', host_header: 'ahostname' }), undefined, 'a single label')
    t.equal(errorsOf({ name: 'host.test', host_header: 'a.hostname.test' }), undefined, 'a name')
    t.equal(errorsOf({ name: 'host.test', host_header: 'a.hostname.test:8080' }), undefined, 'with a port')
  })

  t.test('healthchecks attribute: refusals', async (t) => {
    const seconds = 'value should be between 0 and 65535'
    const posInteger = 'value should be between 1 and 2147483648'
    const zeroInteger = 'value should be between 0 and 255'
    const statusCode = 'value should be between 100 and 999'
    const integer = 'expected an integer'
    const threshold = 'value should be between 0 and 100'
    const invalidHost = 'invalid value: '
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ active: { timeout: -1 } }, seconds],
      [{ active: { timeout: 1e+42 } }, seconds],
      [{ active: { concurrency: 0.5 } }, integer],
      [{ active: { concurrency: 0 } }, posInteger],
      [{ active: { concurrency: -10 } }, posInteger],
      [{ active: { http_path: '' } }, 'length must be at least 1'],
      [{ active: { http_path: 'ovo' } }, 'should start with: /'],
      [{ active: { https_sni: '127.0.0.1' } }, 'must not be an IP'],
      [{ active: { https_sni: '127.0.0.1:8080' } }, 'must not be an IP'],
      ...['/example', '.example', 'example:', 'mock;bin', 'example.com/org', 'example-.org', 'example.org-', 'hello..example.com', 'hello-.example.com']
        .map((sni): [Record<string, unknown>, string] => [{ active: { https_sni: sni } }, invalidHost]),
      [{ active: { https_sni: 'example.com:1234' } }, 'must not have a port'],
      [{ active: { https_verify_certificate: 'ovo' } }, 'expected a boolean'],
      [{ active: { headers: 0 } }, 'expected a map'],
      // Kong's specs send Lua arrays ({ 0 }, { "" }), which are maps with integer keys to
      // it ("expected a string", for the key); a JSON array is no map here.
      [{ active: { headers: [0] } }, 'expected a map'],
      [{ active: { headers: [''] } }, 'expected a map'],
      [{ active: { headers: { 'x-header': 123 } } }, 'expected an array'],
      [{ active: { headers: { 'bad header': ['v'] } } }, "bad header name 'bad header', allowed characters are A-Z, a-z, 0-9, '_', and '-'"],
      [{ active: { healthy: { interval: -1 } } }, seconds],
      [{ active: { healthy: { interval: 1e+42 } } }, seconds],
      [{ active: { healthy: { http_statuses: 404 } } }, 'expected an array'],
      [{ active: { healthy: { http_statuses: ['ovo'] } } }, integer],
      [{ active: { healthy: { http_statuses: [-1] } } }, statusCode],
      [{ active: { healthy: { http_statuses: [99] } } }, statusCode],
      [{ active: { healthy: { http_statuses: [1000] } } }, statusCode],
      [{ active: { healthy: { http_statuses: [111.314] } } }, integer],
      [{ active: { healthy: { successes: 0.5 } } }, integer],
      [{ active: { unhealthy: { timeouts: 1 } }, threshold: -1 }, threshold],
      [{ active: { unhealthy: { timeouts: 1 } }, threshold: 101 }, threshold],
      [{ active: { unhealthy: { timeouts: 1 } }, threshold: '50' }, 'expected a number'],
      [{ active: { unhealthy: { timeouts: 1 } }, threshold: true }, 'expected a number'],
      [{ active: { healthy: { successes: -1 } } }, zeroInteger],
      [{ active: { healthy: { successes: 256 } } }, zeroInteger],
      [{ active: { unhealthy: { interval: -1 } } }, seconds],
      [{ active: { unhealthy: { interval: 1e+42 } } }, seconds],
      [{ active: { unhealthy: { http_statuses: 404 } } }, 'expected an array'],
      [{ active: { unhealthy: { http_statuses: ['ovo'] } } }, integer],
      [{ active: { unhealthy: { http_statuses: [-1] } } }, statusCode],
      [{ active: { unhealthy: { http_statuses: [99] } } }, statusCode],
      [{ active: { unhealthy: { http_statuses: [1000] } } }, statusCode],
      [{ active: { unhealthy: { tcp_failures: 0.5 } } }, integer],
      [{ active: { unhealthy: { tcp_failures: 256 } } }, zeroInteger],
      [{ active: { unhealthy: { tcp_failures: -1 } } }, zeroInteger],
      [{ active: { unhealthy: { timeouts: 0.5 } } }, integer],
      [{ active: { unhealthy: { timeouts: 256 } } }, zeroInteger],
      [{ active: { unhealthy: { timeouts: -1 } } }, zeroInteger],
      [{ active: { unhealthy: { http_failures: 0.5 } } }, integer],
      [{ active: { unhealthy: { http_failures: -1 } } }, zeroInteger],
      [{ active: { unhealthy: { http_failures: 256 } } }, zeroInteger],
      [{ passive: { healthy: { http_statuses: 404 } } }, 'expected an array'],
      [{ passive: { healthy: { http_statuses: ['ovo'] } } }, integer],
      [{ passive: { healthy: { http_statuses: [-1] } } }, statusCode],
      [{ passive: { healthy: { http_statuses: [99] } } }, statusCode],
      [{ passive: { healthy: { http_statuses: [1000] } } }, statusCode],
      [{ passive: { healthy: { successes: 0.5 } } }, integer],
      [{ passive: { healthy: { successes: -1 } } }, zeroInteger],
      [{ passive: { unhealthy: { http_statuses: 404 } } }, 'expected an array'],
      [{ passive: { unhealthy: { http_statuses: ['ovo'] } } }, integer],
      [{ passive: { unhealthy: { http_statuses: [-1] } } }, statusCode],
      [{ passive: { unhealthy: { http_statuses: [99] } } }, statusCode],
      [{ passive: { unhealthy: { http_statuses: [1000] } } }, statusCode],
      [{ passive: { unhealthy: { tcp_failures: 0.5 } } }, integer],
      [{ passive: { unhealthy: { tcp_failures: -1 } } }, zeroInteger],
      [{ passive: { unhealthy: { tcp_failures: 256 } } }, zeroInteger],
      [{ passive: { unhealthy: { timeouts: 0.5 } } }, integer],
      [{ passive: { unhealthy: { timeouts: 256 } } }, zeroInteger],
      [{ passive: { unhealthy: { timeouts: -1 } } }, zeroInteger],
      [{ passive: { unhealthy: { http_failures: 0.5 } } }, integer],
      [{ passive: { unhealthy: { http_failures: -1 } } }, zeroInteger],
      [{ passive: { unhealthy: { http_failures: 256 } } }, zeroInteger],
      [{ passive: { unhealthy: { timeouts: 1 } }, threshold: -1 }, threshold],
      [{ passive: { unhealthy: { timeouts: 1 } }, threshold: 101 }, threshold],
      [{ passive: { unhealthy: { timeouts: 1 } }, threshold: '50' }, 'expected a number'],
      [{ passive: { unhealthy: { timeouts: 1 } }, threshold: true }, 'expected a number'],
    ]
    for (const [healthchecks, message] of cases) {
      const errs = errorsOf({ name: 'x', healthchecks })
      // Kong's spec follows the error table down to its first leaf.
      const leaves = JSON.stringify(errs)
      t.ok(errs !== undefined && Object.keys(errs).length === 1 && leaves.includes(JSON.stringify(message).slice(1, -1)), `${JSON.stringify(healthchecks)}: ${leaves}`)
    }
  })

  t.test('healthchecks attribute: acceptance', async (t) => {
    const cases: Record<string, unknown>[] = [
      { active: { timeout: 0.5 } },
      { active: { timeout: 1 } },
      { active: { concurrency: 2 } },
      { active: { http_path: '/' } },
      { active: { http_path: '/test' } },
      { active: { https_sni: 'example.com' } },
      { active: { https_sni: 'example.test.' } },
      { active: { https_verify_certificate: false } },
      { active: { headers: { 'x-header': ['a', 'b'] } } },
      { active: { healthy: { interval: 0 } } },
      { active: { healthy: { http_statuses: [200, 300] } } },
      { active: { healthy: { successes: 2 } } },
      { active: { healthy: { successes: 255 } } },
      { active: { unhealthy: { interval: 0 } } },
      { active: { unhealthy: { http_statuses: [404] } } },
      { active: { unhealthy: { tcp_failures: 3 } } },
      { active: { unhealthy: { tcp_failures: 255 } } },
      { active: { unhealthy: { timeouts: 9 } } },
      { active: { unhealthy: { timeouts: 255 } } },
      { active: { unhealthy: { http_failures: 2 } } },
      { active: { unhealthy: { http_failures: 2 } }, threshold: 0 },
      { active: { unhealthy: { http_failures: 2 } }, threshold: 50.50 },
      { active: { unhealthy: { http_failures: 2 } }, threshold: 100 },
      { passive: { healthy: { http_statuses: [200, 201] } } },
      { passive: { healthy: { successes: 2 } } },
      { passive: { healthy: { successes: 255 } } },
      { passive: { unhealthy: { http_statuses: [400, 500] } } },
      { passive: { unhealthy: { tcp_failures: 8 } } },
      { passive: { unhealthy: { tcp_failures: 255 } } },
      { passive: { unhealthy: { timeouts: 1 } } },
      { passive: { unhealthy: { timeouts: 255 } } },
      { passive: { unhealthy: { http_failures: 2 } } },
      { passive: { unhealthy: { http_failures: 255 } } },
      { passive: { unhealthy: { http_failures: 2 } }, threshold: 0 },
      { passive: { unhealthy: { http_failures: 2 } }, threshold: 50.50 },
      { passive: { unhealthy: { http_failures: 2 } }, threshold: 100 },
    ]
    for (const healthchecks of cases) t.equal(errorsOf({ name: 'x', healthchecks }), undefined, JSON.stringify(healthchecks))
  })
})

t.test('targets schema (08-targets_spec.lua)', async (t) => {
  const store = tempStore(t)
  const upstream = { id: A_VALID_UUID }
  for (const target of ['valid.name', 'valid.name:8080', '12.34.56.78', '1.2.3.4:123']) {
    t.doesNotThrow(() => store.validate('targets', { target, upstream }), target)
  }
  // The schema's own message names the value; the DAO's (on insert) does not: see the Admin API tests.
  const err = (() => { try { store.validate('targets', { target: '\\\\bad\\\\////name////', upstream }) } catch (e) { return e } })()
  t.ok(DbError.is(err))
  t.same((err as DbError).fields, { target: "Invalid target ('\\\\bad\\\\////name////'); not a valid hostname or ip address" })
})
