import { parseArg } from '../args.js'
import { withClientNode, type ClientOptions } from '../client.js'
import { renderResult, toJson } from '../format.js'

export interface MapCommandOptions extends ClientOptions {
  json: boolean
  concurrency?: number
  retries?: number
}

/** `mesh map factorial 10 20 30`: the task over each argument, results one per line in order (a JSON array item is an argument list). */
export async function mapCommand (task: string, words: string[], options: MapCommandOptions): Promise<void> {
  const items = words.map(parseArg)
  const spread = items.length > 0 && items.every(Array.isArray)
  const started = performance.now()
  await withClientNode(options, async (node) => {
    const controller = new AbortController()
    const onSigint = (): void => { controller.abort() }
    process.once('SIGINT', onSigint)
    try {
      const results = await node.map(task, items, { concurrency: options.concurrency, spread, timeout: options.timeout, retries: options.retries, signal: controller.signal })
      const ms = Math.round((performance.now() - started) * 1000) / 1000
      process.stdout.write(options.json ? toJson({ ok: true, task, results, ms }) + '\n' : results.map(renderResult).join('\n') + '\n')
    } finally {
      process.off('SIGINT', onSigint)
    }
  })
}
