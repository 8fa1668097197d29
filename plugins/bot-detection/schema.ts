import { Type, type FieldCheck, type Static } from '@tollgate/sdk'

// Kong 3.2's kong/plugins/bot-detection/schema.lua: allow and deny, arrays of regexes.
const regex = ((v: string): string | undefined => {
  try { new RegExp(v); return undefined } catch { return `not a valid regex: ${v}` }
}) as FieldCheck

export const BotDetectionSchema = Type.Object({
  allow: Type.Array(Type.String({ check: regex }), { default: [], description: 'User-Agent regexes let through, before deny and the built-in bot rules' }),
  deny: Type.Array(Type.String({ check: regex }), { default: [], description: 'User-Agent regexes refused with 403' }),
}, { additionalProperties: false })

export type BotDetectionConfig = Static<typeof BotDetectionSchema>
