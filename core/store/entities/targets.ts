import type { Static } from 'typebox'
import { Errors } from '../../errors.js'
import { checkTarget, formatAddress, parseAddress } from '../address.js'
import type { EntityDef } from '../entity.js'
import { Type, autoId, foreign, tags, timestampMs, type FieldCheck } from '../schema.js'

/** Kong: kong/db/dao/targets.lua DEFAULT_PORT, the port of a target given without one. */
export const DEFAULT_TARGET_PORT = 8000

// Kong: kong/db/schema/entities/targets.lua (3.2).
export const TargetSchema = Type.Object({
  id: autoId(),
  created_at: timestampMs('Unix epoch (seconds, with milliseconds) when the target was created'),
  upstream: foreign('upstreams', { required: true, onDelete: 'cascade', description: 'The upstream this target belongs to' }),
  target: Type.String({ check: checkTarget as FieldCheck, description: 'host:port (IPv6 in brackets); the port defaults to 8000' }),
  weight: Type.Integer({ minimum: 0, maximum: 65535, default: 100, description: 'Share of the traffic (0: none)' }),
  tags: tags(),
}, { additionalProperties: false })

// `foreign()` is typed for optional references too; a target's upstream is required.
export type Target = Omit<Static<typeof TargetSchema>, 'upstream'> & { upstream: { id: string } }

/** `host[:port]` as Kong stores it (format_host of normalize_ip), or undefined when it is no address. */
export function normalizeTarget (target: string): string | undefined {
  const a = parseAddress(target)
  return typeof a === 'string' ? undefined : formatAddress(a, DEFAULT_TARGET_PORT)
}

export const targets: EntityDef = {
  name: 'targets',
  schema: TargetSchema,
  // Kong's targets DAO formats `target` before anything else on insert and upsert, and
  // refuses one it cannot read with a shorter message than the schema's, alone
  // (kong/db/dao/targets.lua format_target). An update goes through the schema only.
  rewrite: (input, op) => {
    if ((op !== 'insert' && op !== 'upsert') || typeof input.target !== 'string') return input
    const target = normalizeTarget(input.target)
    if (target === undefined) throw Errors.schemaViolation({ target: 'Invalid target; not a valid hostname or ip address' })
    return { ...input, target }
  },
  // An updated target is stored formatted too: Kong stores it as given and formats it on
  // every read, which shows the same thing.
  normalize: (value) => {
    if (typeof value.target === 'string') value.target = normalizeTarget(value.target) ?? value.target
  },
  // Kong 3.x: one target per host:port per upstream (the unique `cache_key` of upstream and
  // target, kong/db/migrations/core/016_280_to_300.lua), so a second POST of the same
  // target is a 409 unique violation, no longer a new entry in a history.
  uniqueTogether: [['upstream', 'target']],
  cacheKey: ['upstream', 'target'],
  // Kong disables /targets, /targets/{t} and /targets/{t}/upstream (kong/api/routes/targets.lua)
  // and serves targets under their upstream with endpoints of its own (upstreams.lua).
  customAdmin: true,
}
