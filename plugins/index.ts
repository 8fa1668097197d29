import type { AnyPlugin } from '../core/runtime/plugin.js'
import { botDetection } from './bot-detection/index.js'
import { correlationId } from './correlation-id/index.js'
import { cors } from './cors/index.js'
import { httpLog } from './http-log/index.js'
import { ipRestriction } from './ip-restriction/index.js'
import { fileLog } from './file-log/index.js'
import { jwt } from './jwt/index.js'
import { keyAuth } from './key-auth/index.js'
import { proxyCache } from './proxy-cache/index.js'
import { requestTransformer } from './request-transformer/index.js'
import { responseTransformer } from './response-transformer/index.js'
import { rateLimiting } from './rate-limiting/index.js'
import { requestSizeLimiting } from './request-size-limiting/index.js'
import { requestTermination } from './request-termination/index.js'

/** The plugins `plugins = bundled` stands for. */
export const bundledPlugins: AnyPlugin[] = [keyAuth, rateLimiting, proxyCache, correlationId, requestTransformer, responseTransformer, ipRestriction, requestTermination, cors, requestSizeLimiting, jwt, fileLog, httpLog, botDetection]
