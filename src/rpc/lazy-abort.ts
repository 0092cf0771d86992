/**
 * An AbortController made only when someone asks for its signal. Creating an
 * AbortSignal costs more than a whole inline `add` call (it was 7% of the
 * CPU of the add throughput profile), and most calls never look at theirs:
 * only pool tasks and handlers that wait read it. Aborting before the signal
 * exists records the reason, and the signal is born aborted.
 */
export class LazyAbort {
  private controller?: AbortController
  private reason?: unknown
  private done = false

  get signal (): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController()
      if (this.done) this.controller.abort(this.reason)
    }
    return this.controller.signal
  }

  get aborted (): boolean { return this.done }

  abort (reason: unknown): void {
    if (this.done) return
    this.done = true
    this.reason = reason
    this.controller?.abort(reason)
  }
}
