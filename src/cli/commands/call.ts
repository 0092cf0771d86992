import { parseArg } from '../args.js'
import { withClientNode, type ClientOptions } from '../client.js'
import { DECIMAL_SPLIT_BITS } from '../../constants.js'
import type { MeshNode } from '../../node/mesh-node.js'
import { renderResult, toJson } from '../format.js'
import { ProgressBar, renderStats, statsOf } from '../progress.js'

export interface CallCommandOptions extends ClientOptions {
  json: boolean
  /** Print per-peer chunk counts, steals and time of a split job after the result. */
  stats?: boolean
  retries?: number
}

/**
 * A huge integer result is printed by the mesh: the decimal task (served
 * with factorial) converts blocks of digits on different nodes, which for
 * 10^6! is most of the time the user waits. Small ones, or a mesh with
 * fewer than two nodes serving it, are converted here.
 */
async function digitsOf (node: MeshNode, value: bigint, options: CallCommandOptions, signal: AbortSignal, bar: ProgressBar): Promise<string> {
  const magnitude = value < 0n ? -value : value
  // With fewer than two nodes to share it, converting here saves sending x out and the digits back.
  if (magnitude < (1n << BigInt(DECIMAL_SPLIT_BITS)) || node.providers('decimal').length < 2) return value.toString()
  return await node.callWith<string>('decimal', [value], { timeout: options.timeout, retries: options.retries, signal, onProgress: (p) => { bar.update(p) } })
}

/** After peers are known, how long to wait for a provider of an unknown task before saying so. */
const UNKNOWN_TASK_GRACE_MS = 1000

export async function callCommand (task: string, words: string[], options: CallCommandOptions): Promise<void> {
  const args = words.map(parseArg)
  const started = performance.now()
  const bar = new ProgressBar(process.stderr, process.stderr.isTTY === true && !options.json)
  await withClientNode(options, async (node) => {
    const controller = new AbortController()
    const onSigint = (): void => { controller.abort() }
    process.once('SIGINT', onSigint)
    try {
      const result = await node.callWith(task, args, { timeout: options.timeout, retries: options.retries, signal: controller.signal, unknownAfter: UNKNOWN_TASK_GRACE_MS, onProgress: (p) => { bar.update(p) } })
      const callStats = bar.last
      bar.last = undefined
      const printed = typeof result === 'bigint' ? await digitsOf(node, result, options, controller.signal, bar) : result
      const printStats = bar.last
      bar.clear()
      const ms = performance.now() - started
      const envelope: Record<string, unknown> = { ok: true, task, result: printed, ms: Math.round(ms * 1000) / 1000 }
      if (options.json && options.stats === true) {
        envelope.stats = statsOf(callStats, ms)
        if (printStats !== undefined) envelope.decimalStats = statsOf(printStats, ms)
      }
      const out = options.json ? toJson(envelope) : renderResult(printed)
      process.stdout.write(out + '\n')
      if (!options.json && options.stats === true) {
        process.stderr.write(renderStats(callStats, ms) + '\n')
        if (printStats !== undefined) process.stderr.write('decimal conversion ' + renderStats(printStats, ms) + '\n')
      }
    } finally {
      bar.clear()
      process.off('SIGINT', onSigint)
    }
  })
}
