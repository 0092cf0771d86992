import type { ComponentLogger, Metrics } from '@libp2p/interface'
import type { Registry } from 'prom-client'

/**
 * libp2p's own metrics (connections, streams, bytes per protocol, process
 * CPU and memory) in mesh's registry. `preserveExistingMetrics`: without it
 * @libp2p/prometheus-metrics clears prom-client's global registry, which
 * belongs to the app embedding mesh. It keeps one set of metrics per
 * process, so with several nodes in one process only the first node's
 * registry carries libp2p's metrics (mesh's own are per node).
 */
export async function libp2pMetrics (registry: Registry): Promise<(components: { logger: ComponentLogger }) => Metrics> {
  const { prometheusMetrics } = await import('@libp2p/prometheus-metrics')
  return prometheusMetrics({ registry, preserveExistingMetrics: true })
}
