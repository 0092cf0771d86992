import { parseArg } from '../args.js'
import { withClientNode, type ClientOptions } from '../client.js'
import { renderResult, toJson } from '../format.js'

export interface CallCommandOptions extends ClientOptions {
  json: boolean
  retries?: number
}

/** After peers are known, how long to wait for a provider of an unknown task before saying so. */
const UNKNOWN_TASK_GRACE_MS = 1000

export async function callCommand (task: string, words: string[], options: CallCommandOptions): Promise<void> {
  const args = words.map(parseArg)
  const started = performance.now()
  await withClientNode(options, async (node) => {
    const controller = new AbortController()
    const onSigint = (): void => { controller.abort() }
    process.once('SIGINT', onSigint)
    try {
      const result = await node.callWith(task, args, { timeout: options.timeout, retries: options.retries, signal: controller.signal, unknownAfter: UNKNOWN_TASK_GRACE_MS })
      const out = options.json
        ? toJson({ ok: true, task, result, ms: Math.round((performance.now() - started) * 1000) / 1000 })
        : renderResult(result)
      process.stdout.write(out + '\n')
    } finally {
      process.off('SIGINT', onSigint)
    }
  })
}
