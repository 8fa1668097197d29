import { TOLLGATE_VERSION, type PluginDescriptor } from '@tollgate/sdk'
import { access } from './handler.js'
import { BotDetectionSchema } from './schema.js'

/** bot-detection: refuses requests whose User-Agent is denied or a known bot. */
export const botDetection: PluginDescriptor<typeof BotDetectionSchema> = {
  name: 'bot-detection',
  version: TOLLGATE_VERSION,
  // Kong 3.2's priority table.
  priority: 2500,
  schema: BotDetectionSchema,
  access,
  // Kong's consumer = typedefs.no_consumer.
  noConsumer: true,
}

export default botDetection
