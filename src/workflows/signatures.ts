import { BadArgumentError, LimitExceededError } from '../errors.js'

/**
 * The canvas: plain data describing work, built with `sig`, `chain`, `group`
 * and `chord` and run with `node.run(...)`. The same objects travel on the
 * wire (MessagePack), so a node that holds a chord or runs a chain step reads
 * exactly what the submitter built, after `parseWorkflow` checked its shape.
 */

/** One call: `sig('add', 4, 6)`. In a chain or a chord body the previous result is prepended to `args` (Celery's rule). */
export interface Signature {
  kind: 'sig'
  task: string
  args: unknown[]
}

/** Steps run one after another, each result handed straight to the node that runs the next step. */
export interface Chain {
  kind: 'chain'
  steps: Signature[]
}

/** Members run in parallel; the result is their results, in order. */
export interface Group {
  kind: 'group'
  members: Workflow[]
}

/** A group whose results, as one array, are prepended to the arguments of `body`; fires exactly once. */
export interface Chord {
  kind: 'chord'
  header: Group
  body: Signature | Chain
}

export type Workflow = Signature | Chain | Group | Chord

/** `sig('factorial', 1000n)`: a call to run later, in a chain, group or chord. */
export function sig (task: string, ...args: unknown[]): Signature {
  return { kind: 'sig', task, args }
}

/** `chain(sig('add', 4, 6), sig('factorial'))`: nested chains are flattened. */
export function chain (...steps: Array<Signature | Chain>): Chain {
  return { kind: 'chain', steps: steps.flatMap(s => s?.kind === 'chain' ? s.steps : [s]) }
}

/** `group(sig('factorial', 1000n), sig('factorial', 2000n))`, or `group([...])`. */
export function group (...members: Array<Workflow | Workflow[]>): Group {
  return { kind: 'group', members: members.flat() }
}

/** `chord(group(...), sig('sum'))`: the header may also be given as an array. */
export function chord (header: Group | Workflow[], body: Signature | Chain): Chord {
  return { kind: 'chord', header: Array.isArray(header) ? group(header) : header, body }
}

export interface WorkflowLimits {
  /** Longest chain accepted (steps). */
  maxChainSteps: number
  /** Most signatures in one workflow, counted over every group, chord and chain in it. */
  maxWorkflowSignatures: number
}

/** Every task a workflow names, with where it is named ("chain step 2"), for checking before anything runs. */
export interface NamedStep { task: string, where: string }

/**
 * Check the shape of a workflow (the user's or a peer's) and return it as
 * plain data, with every task it names. Throws BAD_ARGUMENT for a malformed
 * or cyclic workflow and LIMIT_EXCEEDED for one over the limits.
 */
export function parseWorkflow (value: unknown, limits: WorkflowLimits): { workflow: Workflow, steps: NamedStep[] } {
  const steps: NamedStep[] = []
  const onPath = new Set<object>()
  const walk = (v: unknown, where: string): Workflow => {
    if (v == null || typeof v !== 'object' || Array.isArray(v)) throw new BadArgumentError(`${where} must be a sig, chain, group or chord, got ${describe(v)}`)
    if (onPath.has(v)) throw new BadArgumentError(`${where} contains itself: a workflow must not have a cycle`)
    onPath.add(v)
    try {
      const w = v as Partial<Workflow> & Record<string, unknown>
      switch (w.kind) {
        case 'sig': return signature(w, where)
        case 'chain': {
          if (!Array.isArray(w.steps) || w.steps.length === 0) throw new BadArgumentError(`${where}: a chain needs at least one step`)
          if (w.steps.length > limits.maxChainSteps) {
            throw new LimitExceededError(`${where}: a chain of ${w.steps.length} steps is over this node's limit of ${limits.maxChainSteps}`, { steps: w.steps.length, max: limits.maxChainSteps })
          }
          return { kind: 'chain', steps: w.steps.map((s: unknown, i: number) => { const step = walk(s, `${where} step ${i + 1}`); if (step.kind !== 'sig') throw new BadArgumentError(`${where} step ${i + 1} must be a sig (use chord(group, sig) to join a group)`); return step }) }
        }
        case 'group':
          if (!Array.isArray(w.members)) throw new BadArgumentError(`${where}: a group needs a members array`)
          return { kind: 'group', members: w.members.map((m: unknown, i: number) => walk(m, `${where} member ${i + 1}`)) }
        case 'chord': {
          const header = walk(w.header, `${where} header`)
          if (header.kind !== 'group') throw new BadArgumentError(`${where}: a chord's header must be a group`)
          const body = walk(w.body, `${where} body`)
          if (body.kind !== 'sig' && body.kind !== 'chain') throw new BadArgumentError(`${where}: a chord's body must be a sig or a chain`)
          return { kind: 'chord', header, body }
        }
        default: throw new BadArgumentError(`${where} has an unknown kind ${describe(w.kind)}: expected sig, chain, group or chord`)
      }
    } finally {
      onPath.delete(v)
    }
  }
  const signature = (w: Record<string, unknown>, where: string): Signature => {
    if (typeof w.task !== 'string' || !CALL_NAME.test(w.task)) throw new BadArgumentError(`${where}: a sig needs a task name (or object.method), got ${describe(w.task)}`)
    if (!Array.isArray(w.args)) throw new BadArgumentError(`${where} (${w.task}): args must be an array`)
    if (steps.length >= limits.maxWorkflowSignatures) {
      throw new LimitExceededError(`the workflow has more than this node's limit of ${limits.maxWorkflowSignatures} signatures`, { max: limits.maxWorkflowSignatures })
    }
    steps.push({ task: w.task, where })
    return { kind: 'sig', task: w.task, args: w.args }
  }
  const kind = (value as { kind?: unknown } | null)?.kind
  return { workflow: walk(value, typeof kind === 'string' && KINDS.has(kind) ? kind : 'the workflow'), steps }
}

/** A task name, or an exposed object's `object.method`: never an internal `@mesh/...` call. */
const CALL_NAME = /^[A-Za-z_][\w-]*(\.[A-Za-z_$][\w$]*)?$/
const KINDS = new Set(['sig', 'chain', 'group', 'chord'])

function describe (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'string' ? JSON.stringify(value) : typeof value
}
