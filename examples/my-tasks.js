// A module of user tasks: serve it with
//   npx mesh node --serve ./examples/my-tasks.js
// and call it from anywhere in the mesh with
//   npx mesh call greet Ada
//   npx mesh call fib 1000
//   npx mesh call countPrimes 5000000
//
// The default export maps task names to definitions. `params` is the
// argument schema: mesh checks every call against it on the provider before
// `run` is called, and the registry advertises it (`mesh ls`). Tasks from a
// module run on the node's worker threads, so heavy ones never block it.
// Types: number, integer, bigint, numeric, string, boolean, matrix, bytes, any.

export default {
  greet: {
    description: 'a friendly greeting',
    params: [{ name: 'name', type: 'string' }],
    run: (name) => `Hi welcome ${name}`
  },

  fib: {
    description: 'the n-th Fibonacci number, exactly',
    params: [{ name: 'n', type: 'integer' }],
    // Extra checks beyond the types: throw a RangeError for a bad value and
    // the caller gets a BAD_ARGUMENT error with this message.
    validate: ([n]) => {
      if (n < 0 || n > 1_000_000) throw new RangeError('fib: n must be between 0 and 1,000,000')
      return [Number(n)]
    },
    run: (n) => {
      let a = 0n
      let b = 1n
      for (let i = 0; i < n; i++) [a, b] = [b, a + b]
      return a
    }
  },

  countPrimes: {
    description: 'how many primes are below limit (a CPU-bound sieve)',
    params: [{ name: 'limit', type: 'integer' }],
    validate: ([limit]) => {
      if (limit < 2 || limit > 100_000_000) throw new RangeError('countPrimes: limit must be between 2 and 100,000,000')
      return [Number(limit)]
    },
    run: (limit) => {
      const composite = new Uint8Array(limit)
      let count = 0
      for (let i = 2; i < limit; i++) {
        if (composite[i] === 1) continue
        count++
        for (let j = i * i; j < limit; j += i) composite[j] = 1
      }
      return count
    }
  }
}
