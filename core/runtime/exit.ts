import { errorBody, negotiate } from '../http/errors.js'
import { copyHeaders, type Headers, type RequestContext } from './context.js'

/**
 * Answers the request with Kong's error body for `message`, negotiated from Accept (Kong's
 * nginx-level errors also look at Content-Type: `nginxLevel`). A response Tollgate makes
 * itself: its source is 'exit' unless an error already set it.
 */
export function errorExit (ctx: RequestContext, status: number, message: string, nginxLevel: boolean, headers: Headers = {}): void {
  const { body, contentType } = errorBody(negotiate(ctx.req, nginxLevel), message, ctx.id)
  const out = copyHeaders(ctx.responseHeaders)
  out['content-type'] = contentType
  ctx.exit = { status, body, headers: copyHeaders(headers, out) }
  ctx.status = status
  if (ctx.source === 'service') ctx.source = 'exit'
}

/**
 * A short-circuit becomes the response: its status and headers are what header_filter
 * sees and changes (Kong: kong.response.exit sets them before header_filter runs).
 * Returns its body.
 */
export function exitAsResponse (ctx: RequestContext): Buffer | undefined {
  const exit = ctx.exit as NonNullable<RequestContext['exit']>
  ctx.status = exit.status
  ctx.responseHeaders = exit.headers
  return exit.body === undefined ? undefined : Buffer.from(exit.body)
}
