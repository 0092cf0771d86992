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
export type { NodeRecord, TaskInfo, ObjectInfo, LoadInfo } from './registry/record.js'
export * from './errors.js'
export * as constants from './constants.js'
