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
import { BadArgumentError } from '../errors.js'

export const PART = '@mesh/part'
export const PARTS = '@mesh/parts'

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
