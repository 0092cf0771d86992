/**
 * mesh: a zero-broker, peer-to-peer compute mesh. This module is the whole
 * public API; anything not exported here is internal.
 */
import './polyfill.js'

export { MeshNode, createMeshNode, DEFAULT_LIMITS } from './node/mesh-node.js'
export type { MeshNodeOptions, MeshCallOptions, MeshLimits, MeshNodeEvents, PeerInfo } from './node/mesh-node.js'
export { Job } from './jobs/job.js'
export type { JobStatus, SubmitOptions, JobEvents } from './jobs/job.js'
export type { LeaseOptions } from './rpc/lease.js'
export { add, factorial, matmul, builtinTasks } from './tasks/builtins.js'
export { matrixToRows, toMatrix } from './tasks/params.js'
export type { TaskDefinition, ParamSpec, ParamType, Matrix, TaskLimits } from './tasks/types.js'
export type { ServeSpec } from './tasks/loader.js'
export type { SplitSpec, ChunkSpec } from './tasks/types.js'
export type { JobProgress, PeerShare, StealOptions } from './stealing/index.js'
export type { NodeRecord, TaskInfo, ObjectInfo, LoadInfo } from './registry/record.js'
export { handle, callback } from './objects/marker.js'
export type { MarkOptions } from './objects/marker.js'
export { release } from './objects/types.js'
export { releaseProxy } from './objects/proxy.js'
export { exposeModules } from './objects/module.js'
export type { ExposeSpec, ExposeMap, ExposeModuleExport } from './objects/module.js'
export type { Remote, RemoteFunction, Handle, InstanceMode, ExposeOptions, LookupOptions, ObjectEntry, ObjectStats } from './objects/types.js'
export * from './errors.js'
export * as constants from './constants.js'
export { generatePsk } from './security/psk.js'
