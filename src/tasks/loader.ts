import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ConfigError } from '../errors.js'
import { srcModule } from '../paths.js'
import { builtinTasks, companionTasks } from './builtins.js'
import { tasksOfModule } from './module.js'
import { parseRate } from '../workflows/gate.js'
import type { LoadedTask, TaskDefinition } from './types.js'

const BUILTINS_MODULE = srcModule('tasks/builtins.js').href

/**
 * What a node serves: built-in task names and module paths (as a list or a
 * comma-separated string, the CLI's `--serve add,./my-tasks.js`), or a map
 * of task definitions or plain functions given by an embedding app.
 */
export type ServeSpec = string | string[] | Record<string, TaskDefinition | ((...args: any[]) => unknown)>

const looksLikePath = (s: string): boolean => /^[./]/.test(s) || /\.[cm]?js$/.test(s)

export async function loadTasks (spec: ServeSpec | undefined): Promise<Map<string, LoadedTask>> {
  const tasks = new Map<string, LoadedTask>()
  const add = (task: LoadedTask): void => {
    if (tasks.has(task.name)) throw new ConfigError(`task "${task.name}" is served twice`)
    if (!/^[A-Za-z_][\w-]*$/.test(task.name)) throw new ConfigError(`task name "${task.name}" must be letters, digits, _ or -`)
    if (task.rateLimit !== undefined) parseRate(task.rateLimit, task.name)
    tasks.set(task.name, task)
  }
  if (spec === undefined) return tasks
  if (typeof spec === 'string' || Array.isArray(spec)) {
    const items = (Array.isArray(spec) ? spec : [spec]).flatMap(s => s.split(',')).map(s => s.trim()).filter(s => s !== '')
    for (const item of items) {
      if (looksLikePath(item)) {
        for (const task of await loadModule(item)) add(task)
      } else {
        const def = builtinTasks[item]
        if (def === undefined) {
          throw new ConfigError(`unknown task "${item}": the built-ins are ${Object.keys(builtinTasks).join(', ')}; a module of your own is given by path, e.g. ./my-tasks.js`)
        }
        add(fromBuiltin(item, def))
      }
    }
    for (const [name, companions] of Object.entries(companionTasks)) {
      if (tasks.get(name)?.module !== BUILTINS_MODULE) continue
      for (const c of companions) if (!tasks.has(c)) add(fromBuiltin(c, builtinTasks[c]))
    }
    return tasks
  }
  for (const [name, value] of Object.entries(spec)) {
    if (typeof value === 'function') {
      add({ name, run: value, mode: 'inline' })
      continue
    }
    if (value == null || typeof value.run !== 'function') throw new ConfigError(`task "${name}" has no run function`)
    const builtin = Object.entries(builtinTasks).find(([, def]) => def === value)
    if (builtin !== undefined) add(fromBuiltin(name, value))
    // An in-memory definition has no module a worker thread could import.
    else add({ ...value, name, mode: 'inline' })
  }
  return tasks
}

function fromBuiltin (name: string, def: TaskDefinition): LoadedTask {
  return { ...def, name, module: BUILTINS_MODULE, mode: def.mode ?? 'pool' }
}

async function loadModule (path: string): Promise<LoadedTask[]> {
  const url = pathToFileURL(resolve(path)).href
  let mod: Record<string, unknown>
  try {
    mod = await import(url)
  } catch (err: any) {
    throw new ConfigError(`cannot load task module ${path}: ${err.message}`)
  }
  const defs = tasksOfModule(mod)
  if (defs.size === 0) throw new ConfigError(`task module ${path} exports no tasks: export default { name: { run, params } }`)
  return [...defs.values()].map(def => ({ ...def, name: def.name as string, module: url, mode: def.mode ?? 'pool' }))
}
