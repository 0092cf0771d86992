/**
 * Pairwise combination of a split job's partials while the job still runs
 * (SplitSpec.combine): finished chunks form runs [start, end); two runs that
 * are the two halves of one node of the balanced binary tree over chunk
 * order are combined on the owner's worker as soon as both exist. The final
 * merge then joins only the few runs left, instead of the whole tree after
 * the last chunk (for factorial(10^6) that tree was ~40 % of the split work,
 * serial on the owner).
 */
interface Run { start: number, end: number, value: unknown, busy: boolean }

export class RunCombiner {
  private readonly runs = new Map<number, Run>()
  private readonly inFlight = new Set<Promise<void>>()
  private failure?: Error

  constructor (private readonly combine: (left: unknown, right: unknown) => Promise<unknown>) {}

  /** The partial of chunk `idx` is in. */
  add (idx: number, value: unknown): void {
    this.runs.set(idx, { start: idx, end: idx + 1, value, busy: false })
    this.pair(idx)
  }

  /** Combinations running or waiting for a worker. */
  get pending (): number { return this.inFlight.size }

  /** Resolves when no combination is in flight (at once if none is). */
  async idle (): Promise<void> {
    while (this.inFlight.size > 0) await Promise.race([...this.inFlight])
  }

  /** Wait for combinations in flight; the values of the runs left, in chunk order. */
  async values (): Promise<unknown[]> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight])
    if (this.failure !== undefined) throw this.failure
    return [...this.runs.values()].sort((a, b) => a.start - b.start).map(r => r.value)
  }

  private pair (start: number): void {
    const run = this.runs.get(start)
    if (run === undefined || run.busy) return
    const size = run.end - run.start
    if ((size & (size - 1)) !== 0) return
    // Its sibling in the tree: the run after it when it is a left half, before it when a right half.
    const left = start % (2 * size) === 0 ? run : this.runs.get(start - size)
    const right = left === run ? this.runs.get(run.end) : run
    if (left === undefined || right === undefined || left.busy || right.busy) return
    if (left.end !== right.start || right.end - right.start !== size || left.end - left.start !== size) return
    left.busy = true
    right.busy = true
    const p = this.combine(left.value, right.value).then((value) => {
      this.runs.delete(right.start)
      left.end = right.end
      left.value = value
      left.busy = false
      this.pair(left.start)
    }, (err: Error) => {
      this.failure ??= err
      left.busy = false
      right.busy = false
    }).finally(() => { this.inFlight.delete(p) })
    this.inFlight.add(p)
  }
}
