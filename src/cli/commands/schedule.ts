import { BadArgumentError } from '../../errors.js'
import { parseArg } from '../args.js'
import { settle, withClientNode, type ClientOptions } from '../client.js'
import { table, toJson } from '../format.js'

export interface ScheduleAddOptions extends ClientOptions {
  every?: string
  at?: string
  cron?: string
  passTick: boolean
  json: boolean
}

/** `mesh schedule add nightly --every 24h --at 04:00 factorial 1000`: kept on every node of the mesh. */
export async function scheduleAddCommand (name: string, task: string, args: string[], options: ScheduleAddOptions): Promise<void> {
  if (options.every === undefined && options.cron === undefined) throw new BadArgumentError('mesh schedule add needs --every <interval> (with --at HH:MM) or --cron "<expression>"')
  await withClientNode(options, async (node) => {
    await settle(node, options.timeout)
    const record = await node.addSchedule(name, task, args.map(parseArg), { every: options.every, at: options.at, cron: options.cron }, { passTick: options.passTick })
    process.stdout.write(options.json ? toJson({ ok: true, schedule: record }) + '\n' : `schedule ${name} added on ${node.records().length} nodes: ${describe(record.spec)} → ${task} ${args.join(' ')}\n`)
  })
}

export async function scheduleLsCommand (options: ClientOptions & { json: boolean }): Promise<void> {
  await withClientNode(options, async (node) => {
    await settle(node, options.timeout)
    await node.syncSchedules()
    const list = node.listSchedules()
    if (options.json) { process.stdout.write(toJson(list) + '\n'); return }
    if (list.length === 0) { process.stderr.write('no schedules in the mesh\n'); return }
    process.stdout.write(table(['NAME', 'WHEN (UTC)', 'TASK', 'ARGS'], list.map(r => [r.name, describe(r.spec), r.task, toJson(r.args)])) + '\n')
  })
}

export async function scheduleRmCommand (name: string, options: ClientOptions & { json: boolean }): Promise<void> {
  await withClientNode(options, async (node) => {
    await settle(node, options.timeout)
    await node.syncSchedules()
    const removed = await node.removeSchedule(name)
    if (!removed) throw new BadArgumentError(`no schedule named ${JSON.stringify(name)} in the mesh`)
    process.stdout.write(options.json ? toJson({ ok: true, removed: name }) + '\n' : `schedule ${name} removed\n`)
  })
}

function describe (spec: { every?: string, at?: string, cron?: string }): string {
  return spec.cron !== undefined ? `cron ${spec.cron}` : `every ${spec.every}${spec.at !== undefined ? ` at ${spec.at}` : ''}`
}
