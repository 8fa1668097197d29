// @tollgate/sdk: everything a plugin author imports, bundled plugins included. Types are
// interfaces (core/pdk/types.ts), not the classes that implement them, so the gateway's
// insides can change without changing what plugins compile against.
export { Type } from 'typebox'
export type { Static, TObject, TSchema } from 'typebox'
export { definePlugin, SDK_VERSION, TOLLGATE_VERSION } from './define.js'
export { runPlugin } from './test-kit.js'
// Kong's set_consumer and anonymous fallback, for authentication plugins.
export { setConsumer, authenticateAnonymous } from './consumer.js'
// Kong fields that take Lua code, refused with one message.
export { refuseLuaFields, LUA_NOT_SUPPORTED } from './lua.js'
export type { RunOptions, RunResult, TestRequest, UpstreamAnswer, UpstreamRequestSeen } from './test-kit.js'
export type {
  PluginDescriptor, Handler, ConfiguredPlugin, AdminRoute, AdminRequest, AdminAnswer, AdminMethod, AdminContext, AdminNode, NodeStatistics, AddressHealthRow, PluginConfigRow, ConfigErrors, CheckEnv, BodyRequest,
} from '../../core/runtime/plugin.js'
// What the gateway publishes on node:diagnostics_channel, for metrics and logging plugins.
export { channels } from '../../core/events.js'
export type { RequestEnd, UpstreamError, ConfigChange, Named } from '../../core/events.js'
export type {
  Kong, KongRequest, KongResponse, KongClient, KongService, KongServiceRequest, KongServiceResponse, KongLog, KongDb, PdkHeaders, PdkQuery, SharedDict, SharedValue,
} from '../../core/pdk/types.js'
export type { Headers } from '../../core/runtime/context.js'
export type { Consumer, Route, Service, Entity } from '../../core/store/index.js'
// Entities a plugin owns (Kong's daos.lua): their schema builders, with Kong's field kinds.
export type { EntityDef } from '../../core/store/entity.js'
// Errors an entity's rewrite may throw, in Kong's shape (schema violation: 400 from the Admin API).
export { DbError, Errors } from '../../core/errors.js'
export { autoId, foreign, nullable, oneOf, set, tags, timestamp, uuid, type FieldCheck } from '../../core/store/schema.js'
