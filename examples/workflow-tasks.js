// User tasks for the workflow examples (docs/workflows.md). Serve them with
//   npx mesh node --serve add,factorial,./examples/workflow-tasks.js
// and from a program:
//   await node.run(chain(sig('add', 4, 6), sig('factorial'), sig('digits')))   // 10 → 10! → 7
//   await node.run(chord(group(...[1, 2, 3].map(n => sig('add', n, n))), sig('sum')))  // 12
//
// In a chain each step's result is prepended to the next step's arguments
// (Celery's rule), so `digits` takes the number and `sum` the list of results.

export default {
  digits: {
    description: 'how many decimal digits an integer has',
    params: [{ name: 'n', type: 'integer' }],
    idempotent: true,
    // Decimal conversion of a huge bigint is itself work: it runs on a worker thread.
    run: (n) => (n < 0 ? -BigInt(n) : BigInt(n)).toString().length
  },

  sum: {
    description: 'the sum of a list of numbers (exact if any is a bigint)',
    params: [{ name: 'values', type: 'any' }],
    idempotent: true,
    validate: ([values]) => {
      if (!Array.isArray(values) || !values.every(v => typeof v === 'bigint' || (typeof v === 'number' && Number.isFinite(v)))) {
        throw new TypeError('sum: values must be a list of numbers or bigints')
      }
      return [values]
    },
    run: (values) => values.some(v => typeof v === 'bigint')
      ? values.reduce((a, v) => a + BigInt(v), 0n)
      : values.reduce((a, v) => a + v, 0)
  }
}
