import { withClientNode, settle, type ClientOptions } from '../client.js'
import { shortId, table, toJson } from '../format.js'

export interface ListOptions extends ClientOptions {
  json: boolean
}

/** `mesh ls`: every task and object in the mesh, with its providers, like a name server's listing. */
export async function lsCommand (options: ListOptions): Promise<void> {
  await withClientNode(options, async (node) => {
    await settle(node, options.timeout)
    const records = node.records()
    if (options.json) {
      process.stdout.write(toJson(records) + '\n')
      return
    }
    const rows: string[][] = []
    const tasks = new Map<string, { args: string, providers: string[] }>()
    for (const r of records) {
      for (const t of r.tasks) {
        const entry = tasks.get(t.name) ?? { args: t.args, providers: [] }
        entry.providers.push(`${r.name} (${shortId(r.peerId)}, load ${r.load.running + r.load.queued}/${r.load.workers}${t.rateLimit !== undefined ? `, rate ≤ ${t.rateLimit}` : ''})`)
        tasks.set(t.name, entry)
      }
    }
    for (const [name, t] of [...tasks].sort(([a], [b]) => a.localeCompare(b))) rows.push(['task', name, t.args, t.providers.join(', ')])
    for (const r of records) {
      for (const o of r.objects) rows.push(['object', o.name, o.metadata.join(','), `${r.name} (${shortId(r.peerId)})`])
    }
    if (rows.length === 0) {
      process.stderr.write(records.length === 0 ? 'no peers found: is a node running on this network?\n' : 'peers found, but none serves anything\n')
      return
    }
    process.stdout.write(table(['KIND', 'NAME', 'ARGS / METADATA', 'PROVIDERS'], rows) + '\n')
  })
}

/** `mesh peers`: the peers this node can see, with addresses and load. */
export async function peersCommand (options: ListOptions): Promise<void> {
  await withClientNode(options, async (node) => {
    await settle(node, options.timeout)
    const peers = node.peers()
    if (options.json) {
      process.stdout.write(toJson(peers) + '\n')
      return
    }
    if (peers.length === 0) {
      process.stderr.write('no peers found: is a node running on this network?\n')
      return
    }
    const rows = peers.map(p => [
      p.name ?? '?',
      p.peerId,
      p.addrs.join(' '),
      p.tasks.join(',') || '-',
      p.load === undefined ? '?' : `${p.load.running} running, ${p.load.queued} queued, ${p.load.workers} workers`
    ])
    process.stdout.write(table(['NAME', 'PEER ID', 'ADDRESSES', 'TASKS', 'LOAD'], rows) + '\n')
  })
}
