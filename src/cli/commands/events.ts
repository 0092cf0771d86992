import type { TaskEvent } from '../../events/types.js'
import { settle, withClientNode, type ClientOptions } from '../client.js'
import { shortId } from '../format.js'
import { clock, duration, palette, plain, useColor } from '../screen.js'

export interface EventsOptions extends ClientOptions {
  json: boolean
  /** Exit after this many events (scripts, tests). */
  count?: number
}

/** `mesh events`: every task event of the mesh, as it happens, one a line (JSON with --json), until SIGINT/SIGTERM. */
export async function eventsCommand (options: EventsOptions): Promise<void> {
  const { watchMesh } = await import('../../events/watch.js')
  await withClientNode(options, async (node) => {
    const view = watchMesh(node)
    const c = palette(useColor(process.stdout))
    const nameOf = (peer: string): string => {
      const record = peer === node.peerId ? undefined : node.registry.get(peer)
      return record !== undefined ? plain(record.name) : shortId(peer)
    }
    let seen = 0
    try {
      // Subscribed to every node found before saying so: a script can start calling at the 'watching' line.
      await settle(node, options.timeout)
      await view.whenSynced(Math.min(options.timeout, 2000))
      await new Promise<void>((resolve) => {
        const onEvent = (event: TaskEvent): void => {
          if (options.json) {
            process.stdout.write(JSON.stringify({ ...event, nodeName: nameOf(event.node), peerName: event.peer !== '' ? nameOf(event.peer) : undefined }) + '\n')
          } else {
            const paint = event.type === 'succeeded' ? c.green : event.type === 'failed' ? c.red : event.type === 'cancelled' || event.type === 'retried' ? c.yellow : c.blue
            const where = event.type === 'sent' || event.type === 'retried' ? `${nameOf(event.node)} → ${event.peer !== '' ? nameOf(event.peer) : '?'}` : `on ${nameOf(event.node)} for ${nameOf(event.from)}`
            const progress = event.total !== undefined ? ` ${event.done ?? 0}/${event.total} chunks` : ''
            const error = event.error !== undefined ? ` ${plain(event.error.code)}: ${plain(event.error.message)}` : ''
            process.stdout.write(`${c.dim(clock(event.time))} ${paint(event.type.padEnd(9))} ${plain(event.task)} ${c.dim(plain(event.id))} ${where}${progress} ${duration(event.ms)} ${plain(event.args ?? '')}${error}`.trimEnd() + '\n')
          }
          if (options.count !== undefined && ++seen >= options.count) finish()
        }
        const finish = (): void => {
          view.off('event', onEvent)
          process.off('SIGINT', finish)
          process.off('SIGTERM', finish)
          resolve()
        }
        view.on('event', onEvent)
        process.once('SIGINT', finish)
        process.once('SIGTERM', finish)
        if (options.json) process.stdout.write(JSON.stringify({ type: 'watching', node: node.peerId }) + '\n')
        else process.stderr.write('watching the mesh\'s task events (Ctrl-C stops)\n')
      })
    } finally {
      view.stop()
    }
  })
}
