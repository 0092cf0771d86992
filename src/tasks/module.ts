import type { TaskDefinition } from './types.js'

/**
 * The task definitions a module exports: its default export, or else its
 * `tasks` export, as a `{ name: definition }` map or an array of named
 * definitions. Shared by the node (to validate and advertise) and by the
 * worker threads (to run), so both see the same tasks.
 */
export function tasksOfModule (mod: Record<string, unknown>): Map<string, TaskDefinition> {
  const exported = mod.default ?? mod.tasks
  const tasks = new Map<string, TaskDefinition>()
  if (Array.isArray(exported)) {
    for (const def of exported) {
      if (def != null && typeof def.name === 'string') tasks.set(def.name, def)
    }
  } else if (exported != null && typeof exported === 'object') {
    for (const [name, def] of Object.entries(exported)) {
      if (def != null && typeof def === 'object' && typeof (def as TaskDefinition).run === 'function') tasks.set(name, { ...(def as TaskDefinition), name })
    }
  }
  return tasks
}
