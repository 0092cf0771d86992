/**
 * Streaming a split job's result to the caller as its parts finish, so the
 * transfer of a big result (matmul 2000²: 32 MB) overlaps the compute
 * instead of starting after the merge.
 *
 * A caller that can assemble parts says so in its request (`meta.parts`).
 * The owner of a split job whose task declares a parts layout (SplitSpec
 * `parts`) then sends each partial as a progress event `{ [PART]: index,
 * data }` the moment it has it (its own or a thief's), keeps none of them,
 * and answers with `{ [PARTS]: layout }` instead of the merged result; the
 * caller's attempt puts the parts together. Events and the answer travel in
 * order on one stream, so every part is there when the answer arrives; a
 * retried attempt starts with no parts.
 */
import { randomUUID } from 'node:crypto'
import { BadArgumentError, CancelledError } from '../errors.js'
import type { IncomingCall } from '../rpc/channel.js'

export const PART = '@mesh/part'
export const PARTS = '@mesh/parts'

/** Namespace and route of parts a thief delivers straight to the caller (PartsInbox). */
export const PARTS_NAMESPACE = '@mesh/parts'
export const PARTS_ROUTE = '@mesh/parts/in'

/** thief → caller: a part of the attempt whose inbox token the owner passed on. */
export interface PartDelivery { inbox: string, idx: number, data: unknown }

/** How parts (in chunk order) make the result: concatenated strings, or typed arrays concatenated into `field` of `shape`. */
export type PartsLayout =
  | { kind: 'string', count: number, prefix?: string }
  | { kind: 'f64', count: number, field: string, shape: Record<string, unknown> }

/** A layout as a task declares it: the owner fills in the count of parts. */
export type PartsShape = PartsLayout extends infer L ? (L extends PartsLayout ? Omit<L, 'count'> : never) : never

export interface PartEvent { [PART]: number, data: unknown }

/** A layout answer is the owner's "the result is the parts" marker. */
function layoutOf (value: unknown): PartsLayout | undefined {
  return value != null && typeof value === 'object' && PARTS in value ? (value as Record<string, PartsLayout>)[PARTS] : undefined
}

/** The caller's side of one attempt: keeps the parts, assembles them when the answer says so. */
export class PartsCollector {
  /** Made at the first part: every remote attempt has a collector, and almost none gets a part. */
  private parts?: Map<number, unknown>

  /** A progress event: true when it was a part (kept here, not shown to the user). */
  take (data: unknown): boolean {
    if (data == null || typeof data !== 'object' || !(PART in data)) return false
    const idx = (data as PartEvent)[PART]
    if (Number.isSafeInteger(idx) && idx >= 0) (this.parts ??= new Map()).set(idx, (data as PartEvent).data)
    return true
  }

  /** The attempt's answer: the assembled result when it is a parts layout, else the value itself. */
  finish (value: unknown): unknown {
    const layout = layoutOf(value)
    if (layout === undefined) return value
    const parts: unknown[] = []
    for (let i = 0; i < layout.count; i++) {
      if (this.parts?.has(i) !== true) throw new BadArgumentError(`the provider answered with ${layout.count} parts but part ${i} never came`)
      parts.push(this.parts.get(i))
    }
    this.parts = undefined
    if (layout.kind === 'string') return (layout.prefix ?? '') + parts.join('')
    let length = 0
    for (const p of parts) length += (p as Float64Array).length
    const data = new Float64Array(length)
    let offset = 0
    for (const p of parts) {
      if (!(p instanceof Float64Array)) throw new BadArgumentError('a part of the result is not a Float64Array')
      data.set(p, offset)
      offset += p.length
    }
    return { ...layout.shape, [layout.field]: data }
  }
}

/**
 * The caller's inboxes for parts that thieves send straight to it, so a
 * stolen chunk's result crosses the wire once, thief → caller, instead of
 * thief → owner → caller. Each remote attempt opens one, under a random
 * token it sends in its request (`meta.inbox`); the owner passes the token
 * only to thieves it gave chunks of that job. A thief reports a chunk done
 * to the owner only after the caller has taken the part, so every part is
 * here before the owner's answer. A part for a closed inbox (a retried or
 * finished attempt) is refused, and the thief then sends it through the
 * owner as before.
 */
export class PartsInbox {
  private readonly open = new Map<string, PartsCollector>()

  /** An attempt's collector takes delivered parts until close(token). */
  register (collector: PartsCollector): string {
    const token = randomUUID()
    this.open.set(token, collector)
    return token
  }

  close (token: string): void {
    this.open.delete(token)
  }

  /** The PARTS_ROUTE call. */
  handle (call: IncomingCall): boolean {
    const d = call.args[0] as PartDelivery
    if (d == null || typeof d.inbox !== 'string' || !Number.isSafeInteger(d.idx) || d.idx < 0) throw new BadArgumentError('malformed part delivery')
    const collector = this.open.get(d.inbox)
    if (collector === undefined) throw new CancelledError('no attempt here waits for these parts')
    collector.take({ [PART]: d.idx, data: d.data })
    return true
  }
}
