// bot-detection (Kong's kong/plugins/bot-detection/handler.lua): the User-Agent, trimmed, is
// let through when an allow regex finds it, refused (403 Forbidden) when a deny regex or
// one of Kong's bot rules does. No User-Agent passes; more than one is a 400. Decisions are
// cached per plugin config, up to 10^4 User-Agents each (least recently used forgotten).
import type { Kong } from '@tollgate/sdk'
import { BOTS } from './rules.js'
import type { BotDetectionConfig } from './schema.js'

const CACHE_SIZE = 10_000

interface Compiled { allow: RegExp[], deny: RegExp[], cache: Map<string, boolean> }
// Keyed by the config object: a changed config is a new object, and the old one's entry
// goes with it.
const compiled = new WeakMap<BotDetectionConfig, Compiled>()

function compiledOf (conf: BotDetectionConfig): Compiled {
  let c = compiled.get(conf)
  if (c === undefined) {
    c = { allow: conf.allow.map((r) => new RegExp(r)), deny: conf.deny.map((r) => new RegExp(r)), cache: new Map() }
    compiled.set(conf, c)
  }
  return c
}

/** Whether the agent is refused. */
function refused (c: Compiled, agent: string): boolean {
  const ua = agent.trim()
  if (c.allow.some((r) => r.test(ua))) return false
  if (c.deny.some((r) => r.test(ua))) return true
  return BOTS.some((r) => r.test(ua))
}

export function access (kong: Kong, conf: BotDetectionConfig): void {
  const agent = kong.request.getHeaders()['user-agent']
  if (Array.isArray(agent)) return kong.response.error(400, 'Only one User-Agent header allowed')
  if (agent === undefined) return
  const c = compiledOf(conf)
  let deny = c.cache.get(agent)
  if (deny === undefined) {
    deny = refused(c, agent)
    if (c.cache.size >= CACHE_SIZE) c.cache.delete(c.cache.keys().next().value as string)
  } else {
    c.cache.delete(agent)
  }
  c.cache.set(agent, deny)
  if (deny) return kong.response.error(403)
}
