import { measureLatency, measureThroughput, type Latency, type Throughput } from './stats.js'

/** Anything that can run a task by name: a MeshNode or the floor client. */
export interface Caller {
  call: (task: string, args: unknown[]) => Promise<unknown>
}

export interface WarmFigures {
  /** Sequential `add 4 6` round trips. */
  add: Latency
  /** `add` with 64 calls in flight. */
  throughput: Throughput
  /** `factorial 20000`, result received as an exact bigint. */
  factorial: Latency
}

export const IN_FLIGHT = 64
const FACTORIAL_N = 20000
const FACTORIAL_DIGITS = 77338

/** Check a caller answers correctly before timing it: a fast wrong answer is no figure. */
async function check (caller: Caller): Promise<void> {
  const sum = await caller.call('add', [4, 6])
  if (sum !== 10) throw new Error(`add 4 6 returned ${String(sum)}`)
  const f = await caller.call('factorial', [FACTORIAL_N])
  if (typeof f !== 'bigint' || f.toString().length !== FACTORIAL_DIGITS) throw new Error('factorial 20000 is wrong')
}

export async function measureWarm (caller: Caller, options: { addCalls: number, throughputMs: number, factorialCalls: number }): Promise<WarmFigures> {
  await check(caller)
  const add = await measureLatency(async () => await caller.call('add', [4, 6]), options.addCalls)
  let i = 0
  const throughput = await measureThroughput(async () => await caller.call('add', [i++, 1]), IN_FLIGHT, options.throughputMs)
  const factorial = await measureLatency(async () => await caller.call('factorial', [FACTORIAL_N]), options.factorialCalls, 5)
  return { add, throughput, factorial }
}
