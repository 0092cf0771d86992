import { parseArg } from '../args.js'
import { withClientNode, type ClientOptions } from '../client.js'
import { renderResult, toJson } from '../format.js'
import { ProgressBar, renderStats, statsOf } from '../progress.js'

export interface CallCommandOptions extends ClientOptions {
  json: boolean
  /** Print per-peer chunk counts, steals and time of a split job after the result. */
  stats?: boolean
  retries?: number
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
      bar.clear()
      const ms = performance.now() - started
      const envelope: Record<string, unknown> = { ok: true, task, result, ms: Math.round(ms * 1000) / 1000 }
      if (options.json && options.stats === true) envelope.stats = statsOf(bar.last, ms)
      const out = options.json ? toJson(envelope) : renderResult(result)
      process.stdout.write(out + '\n')
      if (!options.json && options.stats === true) process.stderr.write(renderStats(bar.last, ms) + '\n')
    } finally {
      bar.clear()
      process.off('SIGINT', onSigint)
    }
  })
}
