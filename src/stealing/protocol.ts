/**
 * The wire side of work stealing: call names, message shapes, and the two
 * helpers that size and share data. Every message rides the ordinary RPC
 * channel (`node.addRoute`); the channel is symmetric, so owner and thief
 * both call.
 */

/** Internal call names of the stealing protocol. */
export const STEAL_ROUTES = {
  /** thief → owner: "I am idle, give me chunks" → {granted, job}. */
  steal: '@mesh/steal',
  /** owner → thief: run these chunks; each partial comes back as a progress event. */
  work: '@mesh/work',
  /** owner → thief: give back up to `max` chunks you have not started. */
  reclaim: '@mesh/reclaim',
  /** owner → thief: the job is over, drop its shared data. */
  end: '@mesh/end',
  /** thief → owner: send me the job's shared data, or a stolen chunk's data. */
  fetch: '@mesh/fetch',
  /** owner → peers serving the task, when a job is split: "there is work here", so idle ones steal at once. */
  offer: '@mesh/offer'
} as const

/**
 * Chunk data up to this size travels inside the work call; bigger data (and
 * the shared data, always) is pulled by the thief with `@mesh/fetch` when it
 * needs it. Big data then flows as replies to the thief's own calls, so the
 * caller waiting on a channel keeps hearing bytes (a pushed 48 MB request
 * left the owner waiting in silence long enough for its channel lease to
 * lapse), and a chunk reclaimed before it starts never moves its data.
 */
export const INLINE_CHUNK_BYTES = 256 * 1024

export interface StealRequest { tasks: string[], have: string[], slots: number }
export interface WorkRequest {
  job: string
  work: number
  task: string
  /** The job has shared data: the thief pulls it once (`@mesh/fetch`) and caches it per job. */
  hasShared: boolean
  /** [index, data], data null when too big to inline: the thief pulls it when it is about to run it. */
  chunks: Array<[number, unknown]>
  /** The job's result streams to its caller as parts: send each partial there (PARTS_ROUTE), and report it done here. */
  deliver?: { peer: string, inbox: string }
}
/** A chunk done: its partial, or `delivered` when the caller already has it. */
export interface ChunkDone { idx: number, partial?: unknown, delivered?: true, ms: number }
export interface OfferRequest { job: string, task: string, chunks: number }

export const sleep = async (ms: number, signal?: AbortSignal): Promise<void> => {
  if (ms <= 0 || signal?.aborted === true) return
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms)
    function done (): void { clearTimeout(timer); signal?.removeEventListener('abort', done); resolve() }
    signal?.addEventListener('abort', done, { once: true })
  })
}

/** Bytes a value takes on the wire, roughly: what a steal would move. */
export function byteSize (v: unknown): number {
  if (ArrayBuffer.isView(v)) return v.byteLength
  if (typeof v === 'bigint') return Math.ceil(v.toString(16).length / 2) + 2
  if (typeof v === 'string') return v.length + 2
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + byteSize(x), 2)
  if (v != null && typeof v === 'object') return Object.values(v).reduce((n: number, x) => n + byteSize(x), 2)
  return 9
}

/** A chunk's bytes on the wire: as its split declared them, else measured. */
export function chunkBytes (chunk: { data: unknown, bytes?: number }): number {
  return chunk.bytes ?? byteSize(chunk.data)
}

/**
 * Typed arrays inside `v` (plain objects and arrays) copied once into
 * SharedArrayBuffers, so handing the job's shared data to a worker thread for
 * every chunk shares memory instead of copying megabytes each time.
 */
export function shareMemory (v: unknown): unknown {
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
    if (v.byteLength < 64 * 1024 || v.buffer instanceof SharedArrayBuffer) return v
    const Ctor = v.constructor as new (buffer: SharedArrayBuffer) => ArrayBufferView
    const copy = new Ctor(new SharedArrayBuffer(v.byteLength))
    new Uint8Array(copy.buffer, 0, v.byteLength).set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength))
    return copy
  }
  if (Array.isArray(v)) return v.map(shareMemory)
  if (v != null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shareMemory(x)]))
  }
  return v
}
