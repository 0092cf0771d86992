import assert from 'node:assert/strict'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { Registry } from 'prom-client'
import { meshService, watchMesh } from '../../src/index.js'
import { parsePrometheus } from '../prometheus.js'

describe('embedding with metrics: mesh hangs its metrics and events off an app\'s own libp2p node', function () {
  it('an app whose libp2p has Prometheus metrics gets mesh_* in the same registry, and a view of its calls', async function () {
    const registry = new Registry()
    const app = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      metrics: prometheusMetrics({ registry, preserveExistingMetrics: true }),
      services: { identify: identify(), mesh: meshService({ name: 'app', serve: { triple: (x: number) => 3 * x } }) }
    })
    try {
      const mesh = app.services.mesh
      const view = watchMesh(mesh)
      assert.equal(await mesh.call('triple', 5), 15)
      assert.equal(await mesh.call('triple', 7), 21)
      const samples = parsePrometheus(await registry.metrics())
      assert.equal(samples.get('mesh_calls_total{outcome="succeeded",task="triple"}'), 2)
      // libp2p's own metrics are one set per process (the first node's registry has them): checked in e2e/dashboard, a process of its own.
      assert.deepEqual(view.jobViews({ task: 'triple' }).map(j => j.args), ['7', '5'])
      view.stop()
    } finally {
      await app.stop()
    }
  })
})
