export { MeshMetrics, type MetricsHost } from './metrics.js'
export { libp2pMetrics } from './libp2p.js'
