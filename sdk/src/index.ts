// @tollgate/sdk: everything a plugin author imports.
export { Type } from 'typebox'
export type { Static, TObject, TSchema } from 'typebox'
export { definePlugin, SDK_VERSION } from './define.js'
export { runPlugin } from './test-kit.js'
export type { RunOptions, RunResult, TestRequest, UpstreamAnswer, UpstreamRequestSeen } from './test-kit.js'
export type { PluginDescriptor, Handler } from '../../core/runtime/plugin.js'
export type {
  Kong, KongRequest, KongResponse, KongClient, KongServiceRequest, KongServiceResponse, KongLog, KongDb,
} from '../../core/pdk/index.js'
export type { Headers } from '../../core/runtime/context.js'
export type { Consumer, Route, Service } from '../../core/store/index.js'
