export { StealService } from './service.js'
export type { StealOptions, PeerShare, JobProgress, StealHost } from './types.js'
export { byteSize, shareMemory } from './protocol.js'
export { PartsCollector, PART, PARTS, type PartsLayout } from './parts.js'
