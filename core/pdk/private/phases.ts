// Where each PDK function may be called, in one table. Kong's functions each hand their
// phases to the checker of kong/pdk/private/phases.lua; gathered here, the same table is
// what the functions check, what their @phases tags say (test/core/pdk/phase-docs.test.ts
// keeps the two in step) and what test/core/pdk/phase-matrix.test.ts compares with the
// phase tables of Kong's own tests.

import { AFTER_ACCESS, ALL, BEFORE_HEADERS, Phase, RESPONSE, REWRITE_ACCESS } from '../../runtime/phases.js'

/** One function's entry: its name as errors give it, and the phases it may run in. */
export interface PhaseRule {
  readonly fn: string
  readonly mask: number
}

// Built once at load: a function hands its rule to check(), which reads two fields, so
// checking costs what passing a mask and a name did.
function rules<K extends string> (namespace: string, masks: Record<K, number>): { readonly [k in K]: PhaseRule } {
  const out = {} as Record<K, PhaseRule>
  for (const name of Object.keys(masks) as K[]) {
    // '' stands for the namespace itself when it is a function (kong.log(...)).
    out[name] = { fn: name === '' ? namespace : `${namespace}.${name}`, mask: masks[name] }
  }
  return out
}

export const PHASES = {
  request: rules('kong.request', {
    getScheme: ALL,
    getHost: ALL,
    getPort: ALL,
    getForwardedScheme: ALL,
    getForwardedHost: ALL,
    getForwardedPort: ALL,
    getForwardedPath: ALL,
    getForwardedPrefix: ALL,
    getHttpVersion: ALL,
    getMethod: ALL,
    getPath: ALL,
    getRawPath: ALL,
    getPathWithQuery: ALL,
    getRawQuery: ALL,
    getQueryArg: ALL,
    getQuery: ALL,
    getHeader: ALL,
    getHeaders: ALL,
    getRawBody: REWRITE_ACCESS,
    getBody: REWRITE_ACCESS,
    getStartTime: ALL,
    getUriCaptures: ALL,
  }),
  response: rules('kong.response', {
    getStatus: RESPONSE,
    getHeader: RESPONSE,
    getHeaders: RESPONSE,
    getSource: RESPONSE,
    setStatus: BEFORE_HEADERS,
    setHeader: BEFORE_HEADERS,
    addHeader: BEFORE_HEADERS,
    clearHeader: BEFORE_HEADERS,
    setHeaders: BEFORE_HEADERS,
    // Not in log, as in Kong: the body is the body_filter phase's to see and change.
    getRawBody: Phase.body_filter,
    setRawBody: Phase.body_filter,
    // In header_filter only without a body (the function checks that itself).
    exit: BEFORE_HEADERS,
    error: BEFORE_HEADERS,
  }),
  client: rules('kong.client', {
    getIp: ALL,
    getForwardedIp: ALL,
    getPort: ALL,
    getForwardedPort: ALL,
    getProtocol: AFTER_ACCESS,
    getConsumer: AFTER_ACCESS,
    getCredential: AFTER_ACCESS,
    authenticate: Phase.access,
    loadConsumer: AFTER_ACCESS,
  }),
  serviceRequest: rules('kong.service.request', {
    setScheme: REWRITE_ACCESS,
    setPath: REWRITE_ACCESS,
    setRawQuery: REWRITE_ACCESS,
    setQuery: REWRITE_ACCESS,
    clearQueryArg: REWRITE_ACCESS,
    setMethod: REWRITE_ACCESS,
    setHeader: REWRITE_ACCESS,
    addHeader: REWRITE_ACCESS,
    clearHeader: REWRITE_ACCESS,
    setHeaders: REWRITE_ACCESS,
    setRawBody: REWRITE_ACCESS,
    setBody: REWRITE_ACCESS,
  }),
  // Kong: rewrite, access, balancer, preread; Tollgate runs plugins in neither of the last two.
  service: rules('kong.service', {
    setTlsVerify: REWRITE_ACCESS,
    setTlsVerifyDepth: REWRITE_ACCESS,
    setTlsVerifyStore: REWRITE_ACCESS,
    setTlsCertKey: REWRITE_ACCESS,
  }),
  serviceResponse: rules('kong.service.response', {
    getStatus: RESPONSE,
    getHeaders: RESPONSE,
    getHeader: RESPONSE,
    // Kong's docs give header_filter too, though no body has arrived by then.
    getRawBody: RESPONSE,
  }),
  // The log lines are not checked at all: Kong allows them in every phase, init_worker
  // included, and a log line must never be what fails a request.
  log: rules('kong.log', {
    '': ALL,
    debug: ALL,
    info: ALL,
    notice: ALL,
    warn: ALL,
    err: ALL,
    crit: ALL,
    alert: ALL,
    emerg: ALL,
    setSerializeValue: ALL,
    serialize: Phase.log,
    latencies: Phase.log,
    sizes: Phase.log,
  }),
  router: rules('kong.router', {
    getRoute: AFTER_ACCESS,
    getService: AFTER_ACCESS,
  }),
  // Tollgate's own: Kong's plugins read through kong.cache, in any phase.
  db: rules('kong.db', {
    get: ALL,
    find: ALL,
    listFor: ALL,
    incrCounter: ALL,
  }),
  // Not checked either: the node's id is known before any request is.
  node: rules('kong.node', {
    getId: ALL,
  }),
  // Kong's docs: rewrite, access, header_filter, response, body_filter, log. Not checked:
  // the instance is known before the handler runs.
  plugin: rules('kong.plugin', {
    getId: ALL,
    // Tollgate's: before the response is under way, so the pipeline can still stream it.
    skipBodyFilter: BEFORE_HEADERS,
  }),
}
