/**
 * Dense double-precision matrix multiplication, C = A·B, row-major.
 *
 * Two kernels, same results up to floating-point summation order:
 *
 *  - A WebAssembly SIMD kernel (used when the runtime supports it and the
 *    product is big enough to repay the packing): A and B are copied into
 *    linear memory as "panels" (B as 4-column strips, A as 4-row strips,
 *    both k-major and zero-padded), and a 4×4 register tile of eight f64x2
 *    accumulators runs over a k-block: ~4× the TypeScript kernel. The module is assembled at load time
 *    from the instruction list in `simdKernelBody`, so there is no opaque
 *    blob to trust.
 *  - A plain TypeScript kernel: k-blocked, 4×4 register tile (sixteen
 *    scalar accumulators, 8 loads per 16 multiply-adds), with 4×1 and 1×p
 *    loops for the leftover columns and rows.
 */

// ─── Seeded random matrices ──────────────────────────────────────────────

/** mulberry32: a tiny, fast 32-bit PRNG, good enough for test data. */
function mulberry32 (seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6D2B79F5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * The seed of row `row` of a matrix seeded with `seed`: a murmur3-style mix
 * of the two, so any block of rows can be generated on its own (by whichever
 * node computes it) and still equal the same rows of the whole matrix.
 */
function rowSeed (seed: number, row: number): number {
  let h = (seed ^ Math.imul(row + 1, 0x9E3779B1)) >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x85EBCA6B)
  h = Math.imul(h ^ (h >>> 13), 0xC2B2AE35)
  return (h ^ (h >>> 16)) >>> 0
}

/**
 * Rows rowStart..rowEnd-1 of randomMatrix(rows, cols, seed), for any rows ≥
 * rowEnd: exactly the same values, as a (rowEnd−rowStart)×cols block.
 */
export function randomRows (seed: number, rowStart: number, rowEnd: number, cols: number): Float64Array {
  checkDim(rowStart, 'rowStart')
  checkDim(rowEnd, 'rowEnd')
  checkDim(cols, 'cols')
  if (rowEnd < rowStart) throw new RangeError(`rowEnd (${rowEnd}) must be ≥ rowStart (${rowStart})`)
  const base = seed >>> 0
  const out = new Float64Array((rowEnd - rowStart) * cols)
  for (let r = rowStart, o = 0; r < rowEnd; r++) {
    const next = mulberry32(rowSeed(base, r))
    for (let j = 0; j < cols; j++, o++) out[o] = next()
  }
  return out
}

/**
 * A rows×cols row-major matrix of uniform [0, 1) values. With a seed (any
 * number; taken modulo 2^32) the result is reproducible; without one it is
 * seeded from Math.random. Each row has its own generator (seeded from the
 * seed and the row number), so randomRows can produce any block of rows alone.
 */
export function randomMatrix (rows: number, cols: number, seed?: number): Float64Array {
  checkDim(rows, 'rows')
  checkDim(cols, 'cols')
  return randomRows(seed ?? Math.floor(Math.random() * 4294967296), 0, rows, cols)
}

// ─── Validation ──────────────────────────────────────────────────────────

function checkDim (v: number, name: string): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${name} must be a non-negative integer, got ${v}`)
}

/** The shape of a row block of A (n columns) times a B of n×p. */
function checkRows (a: Float64Array, n: number, p: number, rowStart: number, rowEnd: number): void {
  checkDim(n, 'n')
  checkDim(p, 'p')
  checkDim(rowStart, 'rowStart')
  checkDim(rowEnd, 'rowEnd')
  if (rowEnd < rowStart) throw new RangeError(`rowEnd (${rowEnd}) must be ≥ rowStart (${rowStart})`)
  if (a.length < rowEnd * n) throw new RangeError(`a has ${a.length} elements, fewer than ${rowEnd} rows × ${n} columns`)
}

function checkArgs (a: Float64Array, b: Float64Array, n: number, p: number, rowStart: number, rowEnd: number): void {
  checkRows(a, n, p, rowStart, rowEnd)
  if (b.length < n * p) throw new RangeError(`b has ${b.length} elements, fewer than ${n}×${p}`)
}

// ─── Plain TypeScript kernel ─────────────────────────────────────────────

/** k-block of the TypeScript kernel: 4 rows of A (4 KB) and a 4-column strip of B stay in L1. */
const JS_KC = 128

/**
 * matmulRows computed by the TypeScript kernel only (no WebAssembly).
 * Exposed for tests and benchmarks; same contract as matmulRows.
 */
export function matmulRowsJs (a: Float64Array, b: Float64Array, n: number, p: number, rowStart: number, rowEnd: number): Float64Array {
  checkArgs(a, b, n, p, rowStart, rowEnd)
  const rows = rowEnd - rowStart
  const c = new Float64Array(rows * p)
  const rows4 = rows - (rows % 4)
  const p4 = p - (p % 4)
  for (let kk = 0; kk < n; kk += JS_KC) {
    const ke = Math.min(n, kk + JS_KC)
    for (let i = 0; i < rows4; i += 4) {
      const r0 = (rowStart + i) * n
      const r1 = r0 + n
      const r2 = r1 + n
      const r3 = r2 + n
      const o0 = i * p
      // 4×4 tiles: sixteen accumulators in registers.
      for (let j = 0; j < p4; j += 4) {
        let c00 = 0; let c01 = 0; let c02 = 0; let c03 = 0
        let c10 = 0; let c11 = 0; let c12 = 0; let c13 = 0
        let c20 = 0; let c21 = 0; let c22 = 0; let c23 = 0
        let c30 = 0; let c31 = 0; let c32 = 0; let c33 = 0
        for (let k = kk, bk = kk * p + j; k < ke; k++, bk += p) {
          const b0 = b[bk]; const b1 = b[bk + 1]; const b2 = b[bk + 2]; const b3 = b[bk + 3]
          const a0 = a[r0 + k]; const a1 = a[r1 + k]; const a2 = a[r2 + k]; const a3 = a[r3 + k]
          c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3
          c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3
          c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3
          c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3
        }
        let o = o0 + j
        c[o] += c00; c[o + 1] += c01; c[o + 2] += c02; c[o + 3] += c03; o += p
        c[o] += c10; c[o + 1] += c11; c[o + 2] += c12; c[o + 3] += c13; o += p
        c[o] += c20; c[o + 1] += c21; c[o + 2] += c22; c[o + 3] += c23; o += p
        c[o] += c30; c[o + 1] += c31; c[o + 2] += c32; c[o + 3] += c33
      }
      // Leftover columns: 4×1 tiles.
      for (let j = p4; j < p; j++) {
        let s0 = 0; let s1 = 0; let s2 = 0; let s3 = 0
        for (let k = kk, bk = kk * p + j; k < ke; k++, bk += p) {
          const bv = b[bk]
          s0 += a[r0 + k] * bv; s1 += a[r1 + k] * bv; s2 += a[r2 + k] * bv; s3 += a[r3 + k] * bv
        }
        c[o0 + j] += s0; c[o0 + p + j] += s1; c[o0 + 2 * p + j] += s2; c[o0 + 3 * p + j] += s3
      }
    }
    // Leftover rows: one row of C at a time, i-k-j.
    for (let i = rows4; i < rows; i++) {
      const r = (rowStart + i) * n
      const o = i * p
      for (let k = kk; k < ke; k++) {
        const av = a[r + k]
        const bk = k * p
        for (let j = 0; j < p; j++) c[o + j] += av * b[bk + j]
      }
    }
  }
  return c
}

// ─── WebAssembly SIMD kernel ─────────────────────────────────────────────

/** Rows of A per register tile, and columns of B (two f64x2 vectors) per tile. */
const TILE_ROWS = 4
const TILE_COLS = 4
/** k-block: a 4-row A strip (8 KB) and a 4-column B panel (8 KB) stay in L1. */
const SIMD_KC = 256
/** Column tiles per block: a KC×128 block of B (256 KB) stays in L2. */
const SIMD_NC_TILES = 32
/** Rows of A packed at a time (a multiple of TILE_ROWS); bounds the scratch memory. */
const SIMD_MC = 120
/** Below this many multiply-adds the packing does not pay: use the TypeScript kernel. */
const SIMD_MIN_WORK = 32 * 32 * 32

interface WasmMemory { buffer: ArrayBuffer, grow: (pages: number) => number }
interface WasmApi {
  Memory: new (descriptor: { initial: number }) => WasmMemory
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> }
}
type SimdKernel = (pa: number, pb: number, pc: number, rowTiles: number, colTiles: number, kLen: number, aStride: number, bStride: number, ldc: number) => void

/** Unsigned and signed LEB128, the integer encodings of the wasm binary format. */
function uleb (v: number): number[] {
  const out: number[] = []
  do {
    let byte = v & 0x7f
    v >>>= 7
    if (v !== 0) byte |= 0x80
    out.push(byte)
  } while (v !== 0)
  return out
}
function sleb (v: number): number[] {
  const out: number[] = []
  for (;;) {
    const byte = v & 0x7f
    v >>= 7
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte)
      return out
    }
    out.push(byte | 0x80)
  }
}

/** The few wasm instructions the kernel needs, as byte sequences. */
const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (depth: number) => [0x0c, depth],
  brIf: (depth: number) => [0x0d, depth],
  get: (local: number) => [0x20, local],
  set: (local: number) => [0x21, local],
  tee: (local: number) => [0x22, local],
  i32: (v: number) => [0x41, ...sleb(v)],
  i32GeU: [0x4f],
  i32LtU: [0x49],
  i32Add: [0x6a],
  i32Mul: [0x6c],
  // SIMD (0xfd prefix); memarg = alignment log2, offset.
  v128Load: (offset: number) => [0xfd, ...uleb(0), 4, ...uleb(offset)],
  v128Store: (offset: number) => [0xfd, ...uleb(11), 4, ...uleb(offset)],
  f64Splat: (offset: number) => [0xfd, ...uleb(10), 3, ...uleb(offset)], // v128.load64_splat
  f64x2Add: [0xfd, ...uleb(240)],
  f64x2Mul: [0xfd, ...uleb(242)]
}

/**
 * kernel(pa, pb, pc, rowTiles, colTiles, kLen, aStride, bStride, ldc):
 *   for it < rowTiles, for jt < colTiles:
 *     C tile (4×4 at pc + it·4·ldc + jt·32) += A strip(it) · B panel(jt) over kLen steps
 * A strip it starts at pa + it·aStride and holds, per k, 4 doubles (one per row);
 * B panel jt starts at pb + jt·bStride and holds, per k, 4 doubles (one per column).
 * All addresses in bytes.
 */
function simdKernelBody (): number[] {
  // Parameters 0..8, then locals.
  const pa = 0; const pb = 1; const pc = 2; const rowTiles = 3; const colTiles = 4
  const kLen = 5; const aStride = 6; const bStride = 7; const ldc = 8
  const it = 9; const jt = 10; const aPtr = 11; const bPtr = 12; const aEnd = 13; const cTile = 14; const cRow = 15
  const halves = TILE_COLS / 2
  const accBase = 16 // TILE_ROWS × halves v128 accumulators, then the B row (halves v128) and one splat
  const acc = (r: number, h: number): number => accBase + r * halves + h
  const bLane = (h: number): number => accBase + TILE_ROWS * halves + h
  const splat = accBase + TILE_ROWS * halves + halves
  const aStep = TILE_ROWS * 8
  const bStep = TILE_COLS * 8

  const code: number[] = []
  const emit = (...parts: number[][]): void => { for (const p of parts) code.push(...p) }
  /** Push the address of row r of the current C tile. */
  const cRowAddress = (r: number): void => {
    emit(op.get(cTile))
    if (r > 0) emit(op.get(ldc), op.i32(r), op.i32Mul, op.i32Add)
  }

  emit(op.i32(0), op.set(it), op.get(pc), op.set(cRow))
  emit(op.block, op.loop) // for it
  emit(op.get(it), op.get(rowTiles), op.i32GeU, op.brIf(1))
  emit(op.i32(0), op.set(jt))
  emit(op.block, op.loop) // for jt
  emit(op.get(jt), op.get(colTiles), op.i32GeU, op.brIf(1))
  emit(op.get(cRow), op.get(jt), op.i32(bStep), op.i32Mul, op.i32Add, op.set(cTile))
  // Accumulators start from the C tile.
  for (let r = 0; r < TILE_ROWS; r++) {
    for (let h = 0; h < halves; h++) { cRowAddress(r); emit(op.v128Load(16 * h), op.set(acc(r, h))) }
  }
  emit(op.get(pa), op.get(it), op.get(aStride), op.i32Mul, op.i32Add, op.tee(aPtr))
  emit(op.get(kLen), op.i32(aStep), op.i32Mul, op.i32Add, op.set(aEnd))
  emit(op.get(pb), op.get(jt), op.get(bStride), op.i32Mul, op.i32Add, op.set(bPtr))
  emit(op.loop) // do { ... } while (aPtr < aEnd): kLen ≥ 1
  // Each value is loaded once into a local: V8 neither merges repeated loads
  // nor keeps more than 16 vectors in registers, so this is what avoids spills.
  for (let h = 0; h < halves; h++) emit(op.get(bPtr), op.v128Load(16 * h), op.set(bLane(h)))
  for (let r = 0; r < TILE_ROWS; r++) {
    emit(op.get(aPtr), op.f64Splat(8 * r), op.set(splat))
    for (let h = 0; h < halves; h++) {
      // acc[r][h] += (A[r][k], A[r][k]) * (B[k][2h], B[k][2h+1])
      emit(op.get(acc(r, h)), op.get(splat), op.get(bLane(h)), op.f64x2Mul, op.f64x2Add, op.set(acc(r, h)))
    }
  }
  emit(op.get(aPtr), op.i32(aStep), op.i32Add, op.tee(aPtr))
  emit(op.get(bPtr), op.i32(bStep), op.i32Add, op.set(bPtr))
  emit(op.get(aEnd), op.i32LtU, op.brIf(0))
  emit(op.end)
  for (let r = 0; r < TILE_ROWS; r++) {
    for (let h = 0; h < halves; h++) { cRowAddress(r); emit(op.get(acc(r, h)), op.v128Store(16 * h)) }
  }
  emit(op.get(jt), op.i32(1), op.i32Add, op.set(jt), op.br(0))
  emit(op.end, op.end)
  emit(op.get(it), op.i32(1), op.i32Add, op.set(it))
  emit(op.get(cRow), op.get(ldc), op.i32(TILE_ROWS), op.i32Mul, op.i32Add, op.set(cRow), op.br(0))
  emit(op.end, op.end)
  emit(op.end)
  const I32 = 0x7f
  const V128 = 0x7b
  const locals = [2, 7, I32, TILE_ROWS * halves + halves + 1, V128]
  return [...locals, ...code]
}

/** A module importing memory "e"."m" and exporting the kernel as "k". */
function simdModuleBytes (): Uint8Array {
  const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes]
  const name = (s: string): number[] => [...uleb(s.length), ...Array.from(s, ch => ch.charCodeAt(0))]
  const I32 = 0x7f
  const body = simdKernelBody()
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    ...section(1, [1, 0x60, 9, ...new Array<number>(9).fill(I32), 0]), // type: (i32 × 9) → ()
    ...section(2, [1, ...name('e'), ...name('m'), 0x02, 0x00, 1]), // import memory, min 1 page
    ...section(3, [1, 0]), // one function of type 0
    ...section(7, [1, ...name('k'), 0x00, 0]), // export it as "k"
    ...section(10, [1, ...uleb(body.length), ...body]) // its code
  ])
}

interface Simd { kernel: SimdKernel, memory: WasmMemory }

function loadSimd (): Simd | null {
  const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly
  if (wasm === undefined) return null
  try {
    const memory = new wasm.Memory({ initial: 1 })
    const instance = new wasm.Instance(new wasm.Module(simdModuleBytes()), { e: { m: memory } })
    return { kernel: instance.exports.k as SimdKernel, memory }
  } catch {
    return null // no SIMD support
  }
}

let simd: Simd | null | undefined

/** Whether the WebAssembly SIMD kernel is available in this runtime. */
export function simdAvailable (): boolean {
  if (simd === undefined) simd = loadSimd()
  return simd !== null
}

/** View of the wasm memory with at least `bytes` bytes, or null if it cannot grow that far. */
function simdHeap (s: Simd, bytes: number): Float64Array | null {
  const have = s.memory.buffer.byteLength
  if (bytes > 2 ** 32 - 65536) return null
  if (have < bytes) {
    try {
      s.memory.grow(Math.ceil((bytes - have) / 65536))
    } catch {
      return null
    }
  }
  return new Float64Array(s.memory.buffer)
}

/** Which B the panels at the start of the wasm heap hold: packing is skipped when a caller names the same B again. */
let packed: { key: unknown, n: number, p: number } | undefined

/** mulberry32's step constant, and its output for a state: output j of a row seeded s is mulberryOut(s + (j+1)·STEP). */
const MULBERRY_STEP = 0x6D2B79F5
function mulberryOut (state: number): number {
  let t = Math.imul(state ^ (state >>> 15), 1 | state)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/**
 * B in panel layout: panel jt holds B[k][4jt .. 4jt+3] for every k,
 * zero-padded. From a row-major B, or generated as randomMatrix(n, p, seed)
 * would (the same values) without B ever existing row-major: mulberry32's
 * j-th output of a row is a function of the row's seed and j alone, so the
 * panels are written in order, one after the other.
 */
function fillPanels (heap: Float64Array, bOff: number, n: number, p: number, source: Float64Array | { seed: number }): void {
  const colTiles = Math.ceil(p / TILE_COLS)
  if (source instanceof Float64Array) {
    for (let jt = 0; jt < colTiles; jt++) {
      const j0 = jt * TILE_COLS
      const width = Math.min(TILE_COLS, p - j0)
      let d = bOff + jt * n * TILE_COLS
      for (let k = 0, src = j0; k < n; k++, src += p, d += TILE_COLS) {
        for (let c = 0; c < width; c++) heap[d + c] = source[src + c]
        for (let c = width; c < TILE_COLS; c++) heap[d + c] = 0
      }
    }
    return
  }
  const rowSeeds = new Int32Array(n)
  for (let k = 0; k < n; k++) rowSeeds[k] = rowSeed(source.seed >>> 0, k)
  const steps = new Int32Array(colTiles * TILE_COLS)
  for (let j = 0; j < steps.length; j++) steps[j] = Math.imul(j + 1, MULBERRY_STEP)
  let d = bOff
  for (let jt = 0; jt < colTiles; jt++) {
    const j0 = jt * TILE_COLS
    const width = Math.min(TILE_COLS, p - j0)
    for (let k = 0; k < n; k++) {
      const row = rowSeeds[k]
      for (let c = 0; c < TILE_COLS; c++) heap[d++] = c < width ? mulberryOut((row + steps[j0 + c]) | 0) : 0
    }
  }
}

function matmulRowsSimd (s: Simd, a: Float64Array, b: Float64Array | { seed: number }, n: number, p: number, rowStart: number, rowEnd: number, bKey?: unknown): Float64Array | null {
  const rows = rowEnd - rowStart
  const colTiles = Math.ceil(p / TILE_COLS)
  const pPad = colTiles * TILE_COLS
  const mc = Math.min(SIMD_MC, Math.ceil(rows / TILE_ROWS) * TILE_ROWS)
  // Layout (in doubles): B panels, then one block of A strips, then one block of C.
  const bDoubles = colTiles * n * TILE_COLS
  const aDoubles = mc * n
  const cDoubles = mc * pPad
  const heap = simdHeap(s, (bDoubles + aDoubles + cDoubles) * 8)
  if (heap === null) return null
  const bOff = 0
  const aOff = bDoubles
  const cOff = aOff + aDoubles

  // B as panels: panel jt holds B[k][4jt .. 4jt+3] for every k, zero-padded.
  const reuse = bKey !== undefined && packed !== undefined && packed.key === bKey && packed.n === n && packed.p === p
  packed = bKey === undefined ? undefined : { key: bKey, n, p }
  if (!reuse) fillPanels(heap, bOff, n, p, b)

  const out = new Float64Array(rows * p)
  const aStride = n * TILE_ROWS * 8
  const bStride = n * TILE_COLS * 8
  const ldc = pPad * 8
  for (let i0 = 0; i0 < rows; i0 += mc) {
    const blockRows = Math.min(mc, rows - i0)
    const rowTiles = Math.ceil(blockRows / TILE_ROWS)
    // A rows as strips: strip it holds A[4it .. 4it+3][k] for every k, zero-padded.
    for (let r = 0; r < rowTiles * TILE_ROWS; r++) {
      const d0 = aOff + Math.floor(r / TILE_ROWS) * n * TILE_ROWS + (r % TILE_ROWS)
      if (r < blockRows) {
        const src = (rowStart + i0 + r) * n
        for (let k = 0; k < n; k++) heap[d0 + k * TILE_ROWS] = a[src + k]
      } else {
        for (let k = 0; k < n; k++) heap[d0 + k * TILE_ROWS] = 0
      }
    }
    heap.fill(0, cOff, cOff + rowTiles * TILE_ROWS * pPad)
    for (let kk = 0; kk < n; kk += SIMD_KC) {
      const kLen = Math.min(SIMD_KC, n - kk)
      for (let jt = 0; jt < colTiles; jt += SIMD_NC_TILES) {
        s.kernel(
          (aOff + kk * TILE_ROWS) * 8,
          (bOff + jt * n * TILE_COLS + kk * TILE_COLS) * 8,
          (cOff + jt * TILE_COLS) * 8,
          rowTiles, Math.min(SIMD_NC_TILES, colTiles - jt), kLen, aStride, bStride, ldc)
      }
    }
    for (let r = 0; r < blockRows; r++) {
      const src = cOff + r * pPad
      out.set(heap.subarray(src, src + p), (i0 + r) * p)
    }
  }
  return out
}

// ─── Public entry points ─────────────────────────────────────────────────

/**
 * Rows rowStart..rowEnd-1 of C = A·B, as a (rowEnd−rowStart)×p row-major
 * block. A is row-major with n columns (at least rowEnd rows), B is
 * row-major n×p. `bKey` (optional): a caller that multiplies many row
 * blocks by one B it never changes passes the same key (B itself, say) each
 * time, and the SIMD kernel packs B into panels only the first time.
 */
export function matmulRows (a: Float64Array, b: Float64Array, n: number, p: number, rowStart: number, rowEnd: number, bKey?: unknown): Float64Array {
  checkArgs(a, b, n, p, rowStart, rowEnd)
  const rows = rowEnd - rowStart
  // Packing costs O(n·p) per call: only worth it with enough rows and work to spread it over.
  if (rows >= TILE_ROWS && n > 0 && p > 0 && rows * n * p >= SIMD_MIN_WORK && simdAvailable()) {
    const c = matmulRowsSimd(simd!, a, b, n, p, rowStart, rowEnd, bKey)
    if (c !== null) return c
  }
  return matmulRowsJs(a, b, n, p, rowStart, rowEnd)
}

/** The last B of the random form this thread made row-major (for the TypeScript kernel): made once per seed, not per block. */
let randomB: { seed: number, n: number, p: number, b: Float64Array } | undefined

/**
 * Rows rowStart..rowEnd-1 of C = A·B where B = randomMatrix(n, p, bSeed),
 * as matmulRows(a, randomMatrix(n, p, bSeed), …, key) computes them. The
 * SIMD kernel generates B straight into its panels, once per seed and
 * thread: no row-major B (32 MB for 2000²) is made and no packing pass runs,
 * which roughly halves what each node of a split random matmul pays before
 * its first chunk.
 */
export function matmulRowsRandomB (a: Float64Array, n: number, p: number, rowStart: number, rowEnd: number, bSeed: number): Float64Array {
  checkRows(a, n, p, rowStart, rowEnd)
  const rows = rowEnd - rowStart
  const seed = bSeed >>> 0
  if (rows >= TILE_ROWS && n > 0 && p > 0 && rows * n * p >= SIMD_MIN_WORK && simdAvailable()) {
    const c = matmulRowsSimd(simd!, a, { seed }, n, p, rowStart, rowEnd, `random B ${seed}`)
    if (c !== null) return c
  }
  if (randomB === undefined || randomB.seed !== seed || randomB.n !== n || randomB.p !== p) {
    randomB = { seed, n, p, b: randomMatrix(n, p, seed) }
  }
  return matmulRowsJs(a, randomB.b, n, p, rowStart, rowEnd)
}

/** C = A·B for A m×n and B n×p, both row-major; C is m×p row-major. */
export function matmul (a: Float64Array, b: Float64Array, m: number, n: number, p: number): Float64Array {
  checkDim(m, 'm')
  return matmulRows(a, b, n, p, 0, m)
}
