import type { Static } from 'typebox'
import type { FieldErrors } from '../../errors.js'
import type { EntityDef } from '../entity.js'
import { checkPath, checkRouteHost, checkSni, normalizePath } from '../checks.js'
import {
  Type, autoId, checkUtf8Name, foreign, nullable, oneOf, set, tags, timestamp, type FieldCheck,
} from '../schema.js'
import { PROTOCOLS } from './services.js'

// Kong compiles route regexes with PCRE and quotes its complaint; the common ones in PCRE's
// words, so messages read the same as Kong's (its declarative spec checks one). Others keep
// the JavaScript engine's text.
const PCRE_WORDING: Array<[RegExp, string]> = [
  [/Unterminated group/, 'missing closing parenthesis'],
  [/Unmatched '\)'/, 'unmatched closing parenthesis'],
  [/Unterminated character class/, 'missing terminating ] for character class'],
  [/Nothing to repeat/, 'quantifier does not follow a repeatable item'],
  [/numbers out of order in \{\} quantifier/, 'numbers out of order in {} quantifier'],
  [/\\ at end of pattern/, '\\ at end of pattern'],
  [/Invalid group/, 'unrecognized character after (? or (?-'],
]

function pcreWording (jsMessage: string): string {
  for (const [re, words] of PCRE_WORDING) if (re.test(jsMessage)) return words
  return jsMessage.replace(/^Invalid regular expression: \/.*\/[a-z]*: /, '')
}

function checkRoutePath (path: string): string | undefined {
  if (path.startsWith('~')) {
    const re = path.slice(1)
    if (!re.startsWith('/')) return 'should start with: / (fixed path) or ~/ (regex path)'
    try { new RegExp(re) } catch (err) { return `invalid regex: '${re}' (PCRE returned: ${pcreWording((err as Error).message)})` } // eslint-disable-line no-new
    return undefined
  }
  if (!path.startsWith('/')) return 'should start with: / (fixed path) or ~/ (regex path)'
  const err = checkPath(path)
  if (err !== undefined) return err
  const normalized = normalizePath(path)
  if (normalized !== path) return `non-normalized path, consider use '${normalized}' instead`
  return undefined
}

function checkHeaders (headers: Record<string, string[]>): string | undefined {
  for (const name of Object.keys(headers)) {
    if (name.toLowerCase() === 'host') return "cannot contain 'host' header, which must be specified in the 'hosts' attribute"
  }
  return undefined
}

const endpoint = Type.Object({
  ip: nullable(Type.String()),
  port: nullable(Type.Integer({ minimum: 0, maximum: 65535 })),
}, { additionalProperties: false })

// Kong: kong/db/schema/entities/routes.lua (traditional_compatible flavour)
export const RouteSchema = Type.Object({
  id: autoId(),
  created_at: timestamp('Unix epoch when the route was created'),
  updated_at: timestamp('Unix epoch when the route was last updated'),
  name: nullable(Type.String({ check: checkUtf8Name as FieldCheck }), { unique: true, description: 'Unique route name' }),
  protocols: set(oneOf(PROTOCOLS), { minItems: 1, default: ['http', 'https'], description: 'Protocols this route accepts' }),
  methods: nullable(set(Type.String({ pattern: '^[A-Z]+$' })), { description: 'HTTP methods that match this route' }),
  hosts: nullable(Type.Array(Type.String({ check: checkRouteHost as FieldCheck })), { description: 'Host names that match; `*` wildcards allowed at either end' }),
  paths: nullable(Type.Array(Type.String({ check: checkRoutePath as FieldCheck })), { description: 'Path prefixes, or regexes starting with `~`' }),
  headers: nullable(Type.Record(Type.String(), Type.Array(Type.String()), { kind: 'map', check: checkHeaders as FieldCheck }), {
    description: 'Header values that match this route',
  }),
  https_redirect_status_code: Type.Union([426, 301, 302, 307, 308].map((n) => Type.Literal(n)), { default: 426 }),
  regex_priority: Type.Integer({ default: 0, description: 'Priority among regex paths' }),
  strip_path: Type.Boolean({ default: true, description: 'Strip the matched path prefix upstream' }),
  path_handling: oneOf(['v0', 'v1'], { default: 'v0', description: 'How the upstream path is joined' }),
  preserve_host: Type.Boolean({ default: false, description: 'Send the client Host header upstream' }),
  request_buffering: Type.Boolean({ default: true }),
  response_buffering: Type.Boolean({ default: true }),
  // Kong 3.2's `sni` typedef: a host name without port, no wildcard.
  snis: nullable(set(Type.String({ check: checkSni as FieldCheck })), { description: 'Server names (TLS SNI) that match this route' }),
  sources: nullable(set(endpoint)),
  destinations: nullable(set(endpoint)),
  tags: tags(),
  service: foreign('services', { description: 'The service this route sends traffic to' }),
}, { additionalProperties: false })

export type Route = Static<typeof RouteSchema>

const GROUPS = [['http', 'https'], ['tcp', 'tls', 'udp'], ['tls_passthrough'], ['grpc', 'grpcs']]

const empty = (v: unknown): boolean =>
  v == null || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && Object.keys(v as object).length === 0)

function routeChecks (r: Record<string, unknown>): FieldErrors | undefined {
  const protocols = (r.protocols ?? []) as string[]
  const used = GROUPS.filter((g) => g.some((p) => protocols.includes(p)))
  if (used.length > 1) {
    return { protocols: `these sets are mutually exclusive: ${GROUPS.map((g) => `('${g.join("', '")}')`).join(', ')}` }
  }
  const has = (f: string): boolean => !empty(r[f])
  const entity: string[] = []
  const fields: FieldErrors = {}
  const isHttp = protocols.includes('http') || protocols.includes('https')
  const isGrpc = protocols.includes('grpc') || protocols.includes('grpcs')
  if (has('snis') && !['https', 'grpcs', 'tls', 'tls_passthrough'].some((p) => protocols.includes(p))) {
    fields.snis = "'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'"
  }
  if (isHttp) {
    for (const f of ['sources', 'destinations']) if (has(f)) fields[f] = 'cannot set \'sources\' or \'destinations\' when \'protocols\' is \'http\' or \'https\''
    if (protocols.includes('https')) {
      if (!['methods', 'hosts', 'headers', 'paths', 'snis'].some(has)) {
        entity.push("must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https'")
      }
    } else if (!['methods', 'hosts', 'headers', 'paths'].some(has)) {
      entity.push("must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'http'")
    }
  } else if (isGrpc) {
    if (has('methods')) fields.methods = "cannot set 'methods' when 'protocols' is 'grpc' or 'grpcs'"
    if (r.strip_path === true) fields.strip_path = "cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs'"
    if (!['hosts', 'headers', 'paths', 'snis'].some(has)) {
      entity.push(`must set one of 'hosts', 'headers', 'paths', 'snis' when 'protocols' is '${protocols.includes('grpcs') ? 'grpcs' : 'grpc'}'`)
    }
  } else {
    for (const f of ['methods', 'hosts', 'paths', 'headers']) {
      if (has(f)) fields[f] = `cannot set '${f}' when 'protocols' is 'tcp', 'tls', 'tls_passthrough' or 'udp'`
    }
    if (!['sources', 'destinations', 'snis'].some(has)) {
      // Kong's routes.lua words this one alike for every stream protocol.
      entity.push("must set one of 'sources', 'destinations', 'snis' when 'protocols' is 'tcp', 'tls' or 'udp'")
    }
  }
  if (entity.length > 0) fields['@entity'] = entity
  return Object.keys(fields).length > 0 ? fields : undefined
}

export const routes: EntityDef = {
  name: 'routes',
  schema: RouteSchema,
  endpointKey: 'name',
  // Kong gives grpc routes strip_path=false by default; apply before checks see it.
  expand: (input) => {
    const protocols = input.protocols
    if (Array.isArray(protocols) && protocols.every((p) => p === 'grpc' || p === 'grpcs') && protocols.length > 0 && !('strip_path' in input)) {
      return { ...input, strip_path: false }
    }
    return input
  },
  checks: routeChecks,
}
