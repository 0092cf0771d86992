// Splittable user tasks: heavy calls are cut into chunks that idle peers
// steal (see docs/work-stealing.md). Serve the module on several nodes:
//   npx mesh node --serve ./examples/splittable-tasks.js --workers 1    # in each of 2-3 terminals
// then call it from anywhere, with a progress bar and per-peer stats:
//   npx mesh call primesBelow 200000000 --stats
//   npx mesh call monteCarloPi 400000000 --stats
//
// A task is splittable when its definition has `split`:
//   cost(args)                  work units of a call; calls below `threshold` run whole (`run`)
//   split(args, limits, {chunks}) → { shared?, chunks: [{ data, cost }] }  in result order,
//                               about `chunks` of them; `shared` is data every chunk needs
//                               (sent to a thief once per job, not per chunk)
//   runChunk(data, shared)      → a partial result; runs on a worker thread of the owner
//                               or of whichever peer stole the chunk
//   merge(partials, shared, args) → the result; partials are in chunk order
// The module is loaded by every node that serves it and by their worker
// threads, so chunks can run anywhere: keep these functions self-contained.

/** Primes in [lo, hi) by a segmented sieve with the base primes below √hi. */
function countPrimesIn (lo, hi) {
  if (hi <= 2) return 0
  lo = Math.max(lo, 2)
  const root = Math.floor(Math.sqrt(hi)) + 1
  const small = new Uint8Array(root + 1)
  const base = []
  for (let i = 2; i <= root; i++) {
    if (small[i] === 1) continue
    base.push(i)
    for (let j = i * i; j <= root; j += i) small[j] = 1
  }
  const composite = new Uint8Array(hi - lo)
  for (const p of base) {
    let start = Math.max(p * p, Math.ceil(lo / p) * p)
    for (let j = start; j < hi; j += p) composite[j - lo] = 1
  }
  let count = 0
  for (let i = 0; i < composite.length; i++) if (composite[i] === 0) count++
  return count
}

export default {
  primesBelow: {
    description: 'how many primes are below n (split into ranges, summed)',
    params: [{ name: 'n', type: 'integer' }],
    validate: ([n]) => {
      if (n < 0 || n > 4e9) throw new RangeError('primesBelow: n must be between 0 and 4e9')
      return [Number(n)]
    },
    run: (n) => countPrimesIn(0, n),
    split: {
      cost: ([n]) => n,
      threshold: 20_000_000,
      split: ([n], _limits, { chunks }) => {
        const out = []
        for (let k = 0; k < chunks; k++) {
          const lo = Math.floor(k * n / chunks)
          const hi = Math.floor((k + 1) * n / chunks)
          if (hi > lo) out.push({ data: { lo, hi }, cost: hi - lo })
        }
        return { chunks: out }
      },
      runChunk: ({ lo, hi }) => countPrimesIn(lo, hi),
      merge: (counts) => counts.reduce((a, b) => a + b, 0),
      mergeOn: 'inline' // a sum: not worth a thread hop
    }
  },

  monteCarloPi: {
    description: 'estimate π from n random points (split into batches, averaged)',
    params: [{ name: 'n', type: 'integer' }],
    run: (n) => 4 * inCircle(Number(n)) / Number(n),
    split: {
      cost: ([n]) => Number(n),
      threshold: 50_000_000,
      split: ([n], _limits, { chunks }) => {
        const size = Math.ceil(Number(n) / chunks)
        const out = []
        for (let left = Number(n); left > 0; left -= size) out.push({ data: Math.min(size, left), cost: Math.min(size, left) })
        // `shared` travels once per job and thief: here, just the total.
        return { shared: { n: Number(n) }, chunks: out }
      },
      runChunk: (points) => inCircle(points),
      merge: (hits, { n }) => 4 * hits.reduce((a, b) => a + b, 0) / n,
      mergeOn: 'inline'
    }
  }
}

function inCircle (points) {
  let hits = 0
  for (let i = 0; i < points; i++) {
    const x = Math.random()
    const y = Math.random()
    if (x * x + y * y <= 1) hits++
  }
  return hits
}
