import type { MeshLimits } from '../../node/mesh-node.js'

export interface NodeCommandOptions {
  serve?: string
  expose?: string
  name?: string
  listen?: string[]
  workers?: number
  key?: string
  mdns: boolean
  dht?: boolean
  bootstrap?: string[]
  maxFactorial?: number
  maxMatrix?: number
  psk?: string
  allow?: string[]
  allowFile?: string
  rateLimit?: number
  json: boolean
  throttle?: number
  splitChunks?: number
  splitThreshold?: number
  splitAlone?: boolean
  stealSilence?: number
  taskTimeLimit?: number
  maxQueue?: number
  drainTimeout?: number
  dataDir?: string
  resultTtl?: number
  resultStoreMax?: number
  journalMaxPages?: number
  dashboard?: string
  dashboardToken?: string
  dashboardHistory?: string
  metrics?: boolean
  admin?: string[]
}

/** `mesh node`: run a node until SIGINT or SIGTERM. */
export async function nodeCommand (options: NodeCommandOptions): Promise<void> {
  const { createMeshNode } = await import('../../node/mesh-node.js')
  const limits: Partial<MeshLimits> = {}
  if (options.maxFactorial !== undefined) limits.maxFactorialN = options.maxFactorial
  if (options.maxMatrix !== undefined) limits.maxMatrixDim = options.maxMatrix
  if (options.rateLimit !== undefined) { limits.rateLimitPerSecond = options.rateLimit; limits.rateLimitBurst = options.rateLimit }
  const { pskFile, allowList } = await import('../security-options.js')
  const node = await createMeshNode({
    serve: options.serve,
    name: options.name,
    listen: options.listen,
    workers: options.workers,
    keyFile: options.key,
    mdns: options.mdns,
    bootstrap: options.bootstrap,
    dht: options.dht === true,
    limits,
    steal: { throttle: options.throttle, chunks: options.splitChunks, threshold: options.splitThreshold, splitAlone: options.splitAlone, silenceMs: options.stealSilence },
    taskTimeLimit: options.taskTimeLimit,
    maxQueue: options.maxQueue,
    drainTimeout: options.drainTimeout,
    dataDir: options.dataDir,
    resultTtl: options.resultTtl,
    resultStoreMax: options.resultStoreMax,
    journalMaxPages: options.journalMaxPages,
    psk: pskFile(options.psk),
    allow: await allowList(options.allow, options.allowFile),
    metrics: options.metrics === true || options.dashboard !== undefined,
    admins: options.admin?.flatMap(a => a.split(',')).filter(a => a !== '')
  })
  if (options.expose !== undefined) {
    const { exposeModules } = await import('../../objects/module.js')
    try {
      await exposeModules(node, options.expose)
    } catch (err) {
      await node.stop()
      throw err
    }
  }
  const objects = node.findObjects().filter(o => o.peerId === node.peerId)
  const say = (line: string): void => { if (!options.json) process.stderr.write(line + '\n') }
  let dashboard: Awaited<ReturnType<typeof import('../../dashboard/index.js').startDashboard>> | undefined
  if (options.dashboard !== undefined) {
    const { startDashboard } = await import('../../dashboard/index.js')
    try {
      dashboard = await startDashboard(node, { address: options.dashboard, token: options.dashboardToken, history: options.dashboardHistory, warn: (m) => { process.stderr.write(`warning: ${m}\n`) } })
    } catch (err) {
      await node.stop()
      throw err
    }
  }
  // Handlers go in before the ready line: a signal sent the moment a
  // supervisor reads it must stop the node cleanly, not kill it.
  const stopped = new Promise<void>((resolve) => {
    let stopping = false
    const stop = (signal: string): void => {
      if (stopping) { process.exit(130) } // a second Ctrl-C: leave now
      stopping = true
      say(`${signal}: draining ${node.holding} calls, taking no new work`)
      // Graceful: withdraw from the registry, finish what we hold (bounded by
      // --drain-timeout), then stop; calls still held are handed back to
      // their callers, which re-dispatch them.
      node.drain()
        .then((finished) => { if (!finished) say(`drain timeout: handing back ${node.holding} calls`) })
        .then(async () => { await dashboard?.dashboard.stop(); await node.stop() })
        .then(resolve, (err) => { process.stderr.write(`stop failed: ${err.message}\n`); resolve() })
    }
    process.on('SIGINT', () => { stop('SIGINT') })
    process.on('SIGTERM', () => { stop('SIGTERM') })
  })
  node.on('peer:join', (r) => { say(`peer joined: ${r.name} ${r.peerId} serving ${r.tasks.map(t => t.name).join(',') || 'nothing'}`) })
  node.on('peer:leave', (id) => { say(`peer left: ${id}`) })

  if (options.json) {
    process.stdout.write(JSON.stringify({ event: 'ready', name: node.name, peerId: node.peerId, addresses: node.addresses, serving: node.served, objects: objects.map(o => o.name), workers: node.workers, ...(dashboard !== undefined ? { dashboard: dashboard.url } : {}) }) + '\n')
  } else {
    process.stdout.write([
      `mesh node ${node.name}`,
      `peer id:   ${node.peerId}`,
      ...node.addresses.map(a => `listening: ${a}`),
      `serving:   ${node.served.join(', ') || (objects.length > 0 ? 'no tasks' : 'nothing (a client node)')}`,
      ...(objects.length > 0 ? [`exposing:  ${objects.map(o => o.metadata.length > 0 ? `${o.name} (${o.metadata.join(', ')})` : o.name).join(', ')}`] : []),
      `workers:   ${node.workers}`,
      ...(dashboard !== undefined ? [`dashboard: ${dashboard.url}`] : []),
      'ready'
    ].join('\n') + '\n')
  }

  await stopped
}
